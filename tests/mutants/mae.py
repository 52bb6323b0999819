"""Wrong implementations of pretraining/mae.py (see tests/mutants/__init__.py)."""

from mutants import Mutant

SELECT = "test_mae"
M = "mae.py"
PERMUTE = "x = x.permute(0, 2, 4, 3, 5, 1)  # (B, i, j, u, v, C)"
PATCH_OUT = "    return x.reshape(B, (H // p) * (W // p), p * p * C)  # (B, N, P)\n"
UNPERMUTE = "x = x.permute(0, 5, 1, 3, 2, 4)  # (B, C, i, u, j, v)"
NOISE = "noise = torch.rand(B, N, generator=generator, device=x.device)"
SHUFFLE = "ids_shuffle = noise.argsort(dim=1)  # (B, N): a uniformly random permutation per sample"
RESTORE = "ids_restore = ids_shuffle.argsort(dim=1)  # (B, N): its inverse"
LOSS = "    return (per_patch * mask).sum() / mask.sum()\n"
ENCODE = ("        tokens = self.embed(images)  # (B, N, D): positions are added before masking, so they survive it\n"
          "        visible, mask, ids_restore = random_masking(tokens, mask_ratio, generator)  # (B, N_keep, D)\n"
          "        return self.encoder(visible), mask, ids_restore  # (B, N_keep, D), (B, N), (B, N)\n")
CAT = "x = torch.cat([x, self.mask_token.expand(B, N - keep, dim)], dim=1)  # (B, N, D_dec), shuffled order"
GATHER = "        x = x.gather(1, ids_restore.unsqueeze(-1).expand(-1, -1, dim))  # (B, N, D_dec), image order\n"
DECODE = "x = self.decoder(x + self.decoder_pos)  # (B, N, D_dec)"

MUTANTS = {
    # -- patchify ---------------------------------------------------------------------------------------------
    "patchify without the permute": Mutant(
        "patchify", {M: (f"    {PERMUTE}\n{PATCH_OUT}", "    return images.reshape(B, (H // p) * (W // p), p * p * C)\n")},
        catches=("patchify",)),
    "patch vectors ordered (c, u, v)": Mutant(
        "patchify", {M: (PERMUTE, "x = x.permute(0, 2, 4, 1, 3, 5)")}, catches=("patchify",)),
    "patchify right only for one channel": Mutant(
        "patchify", {M: (f"    x = images.reshape(B, C, H // p, p, W // p, p)  # (B, C, i, u, j, v)\n    {PERMUTE}\n{PATCH_OUT}",
                         "    x = images[:, 0].reshape(B, H // p, p, W // p, p).permute(0, 1, 3, 2, 4)\n"
                         "    return x.reshape(B, (H // p) * (W // p), p * p)\n")},
        catches=("patchify",)),
    "patchify right only for square images": Mutant(
        "patchify", {M: ("x = images.reshape(B, C, H // p, p, W // p, p)", "x = images.reshape(B, C, H // p, p, H // p, p)")},
        catches=("patchify",)),
    "patchify with unfold": Mutant(
        "patchify", {M: (f"    x = images.reshape(B, C, H // p, p, W // p, p)  # (B, C, i, u, j, v)\n    {PERMUTE}\n",
                         "    x = images.unfold(2, p, p).unfold(3, p, p).permute(0, 2, 3, 4, 5, 1)\n")},
        kind="harmless"),
    # -- unpatchify -------------------------------------------------------------------------------------------
    "unpatchify that transposes the grid": Mutant(
        "unpatchify", {M: (UNPERMUTE, "x = x.permute(0, 5, 2, 3, 1, 4)")}, catches=("unpatchify",)),
    "unpatchify reading (c, u, v) patch vectors": Mutant(
        "unpatchify", {M: ("x = patches.reshape(B, g, g, p, p, C)  # (B, i, j, u, v, C)\n    " + UNPERMUTE,
                           "x = patches.reshape(B, g, g, C, p, p)\n    x = x.permute(0, 3, 1, 4, 2, 5)")},
        catches=("unpatchify",)),
    "unpatchify that swaps u and v": Mutant(
        "unpatchify", {M: (UNPERMUTE, "x = x.permute(0, 5, 1, 4, 2, 3)")}, catches=("unpatchify",)),
    "unpatchify right only for one channel": Mutant(
        "unpatchify", {M: ("x = patches.reshape(B, g, g, p, p, C)  # (B, i, j, u, v, C)\n    " + UNPERMUTE + "\n"
                           "    return x.reshape(B, C, g * p, g * p)  # (B, C, H, W)\n",
                           "x = patches[..., : p * p].reshape(B, g, g, p, p).permute(0, 1, 3, 2, 4)\n"
                           "    return x.reshape(B, 1, g * p, g * p)\n")},
        catches=("unpatchify",)),
    # -- random_masking ---------------------------------------------------------------------------------------
    "ids_restore = the shuffle itself": Mutant(
        "random_masking", {M: (RESTORE, "ids_restore = ids_shuffle")}, catches=("random_masking",)),
    "noise from the global random state": Mutant(
        "random_masking", {M: (NOISE, NOISE.replace("generator=generator, ", ""))}, catches=("random_masking",)),
    "a generator of its own, seeded from the one given": Mutant(
        "random_masking", {M: (NOISE, "noise = torch.rand(B, N, generator=torch.Generator().manual_seed("
                                      "generator.initial_seed()), device=x.device)")},
        catches=("random_masking",)),
    "N_keep = int(N · (1 − ratio))": Mutant(
        "random_masking", {M: ("    keep = num_visible(N, mask_ratio)\n", "    keep = int(N * (1 - mask_ratio))\n")},
        catches=("random_masking",)),
    "one noise vector for the whole batch": Mutant(
        "random_masking", {M: (NOISE, "noise = torch.rand(1, N, generator=generator, device=x.device).expand(B, N)")},
        catches=("random_masking",)),
    "keeps the tokens of largest noise": Mutant(
        "random_masking", {M: (SHUFFLE, "ids_shuffle = noise.argsort(dim=1, descending=True)")},
        catches=("random_masking",)),
    # -- mae_loss ---------------------------------------------------------------------------------------------
    "loss over every patch": Mutant(
        "mae_loss", {M: (LOSS, "    return per_patch.mean()\n")}, catches=("mae_loss",)),
    "loss over the visible patches": Mutant(
        "mae_loss", {M: (LOSS, "    return (per_patch * (1 - mask)).sum() / (1 - mask).sum()\n")}, catches=("mae_loss",)),
    "normalised targets with the biased variance": Mutant(
        "mae_loss", {M: ("var = target.var(dim=-1, keepdim=True)", "var = target.var(dim=-1, keepdim=True, unbiased=False)")},
        catches=("mae_loss",)),
    "normalize_target ignored": Mutant(
        "mae_loss", {M: ("    if normalize_target:\n        mean = target", "    if False:\n        mean = target")},
        catches=("mae_loss",)),
    "targets standardised over the whole batch": Mutant(
        "mae_loss", {M: ("mean = target.mean(dim=-1, keepdim=True)  # (B, N, 1)\n        var = target.var(dim=-1, keepdim=True)",
                         "mean = target.mean()\n        var = target.var()")},
        catches=("mae_loss",)),
    # -- forward_encoder --------------------------------------------------------------------------------------
    "encode every patch, then drop the masked ones": Mutant(
        "MaskedAutoencoder.forward_encoder",
        {M: (ENCODE, "        encoded = self.encoder(self.embed(images))  # (B, N, D)\n"
                     "        return random_masking(encoded, mask_ratio, generator)\n")},
        catches=("forward_encoder",)),
    "positions added after masking": Mutant(
        "MaskedAutoencoder.forward_encoder",
        {M: (ENCODE, "        tokens = self.patch_embed(patchify(images, self.patch_size))  # (B, N, P)\n"
                     "        visible, mask, ids_restore = random_masking(tokens, mask_ratio, generator)\n"
                     "        visible = visible + self.pos_embed[:, : visible.shape[1]]\n"
                     "        return self.encoder(visible), mask, ids_restore\n")},
        catches=("forward_encoder",)),
    "mask ratio fixed at 0.75": Mutant(
        "MaskedAutoencoder.forward_encoder",
        {M: ("random_masking(tokens, mask_ratio, generator)  # (B, N_keep, D)", "random_masking(tokens, 0.75, generator)")},
        catches=("forward_encoder",)),
    "masking from the global random state": Mutant(
        "MaskedAutoencoder.forward_encoder",
        {M: ("random_masking(tokens, mask_ratio, generator)  # (B, N_keep, D)", "random_masking(tokens, mask_ratio, None)")},
        catches=("forward_encoder",)),
    # -- forward_decoder --------------------------------------------------------------------------------------
    "decoder without the unshuffle": Mutant(
        "MaskedAutoencoder.forward_decoder", {M: (GATHER, "")}, catches=("forward_decoder",)),
    "zeros instead of the learned mask token": Mutant(
        "MaskedAutoencoder.forward_decoder", {M: ("self.mask_token.expand(B, N - keep, dim)", "torch.zeros(B, N - keep, dim)")},
        catches=("forward_decoder",)),
    "decoder without positions": Mutant(
        "MaskedAutoencoder.forward_decoder", {M: (DECODE, "x = self.decoder(x)")}, catches=("forward_decoder",)),
    "mask tokens before the visible ones": Mutant(
        "MaskedAutoencoder.forward_decoder",
        {M: (CAT, "x = torch.cat([self.mask_token.expand(B, N - keep, dim), x], dim=1)")}, catches=("forward_decoder",)),
    "right only for 4 visible patches of 16": Mutant(
        "MaskedAutoencoder.forward_decoder", {M: ("self.mask_token.expand(B, N - keep, dim)", "self.mask_token.expand(B, 12, dim)")},
        catches=("forward_decoder",)),
}

"""Wrong implementations of pretraining/contrastive.py (see tests/mutants/__init__.py)."""

from mutants import Mutant

SELECT = "contrastive"
F = "contrastive.py"

ANGLE = "angle = (2 * torch.rand(B, **draw) - 1) * math.radians(max_angle)  # (B,)"
EPS = "eps = torch.randn(images.shape, **draw)  # (B, C, H, W)"
RETURN_VIEW = "return (warped + noise_std * eps).clamp(0, 1)"
LOGITS = "logits = u @ u.T / temperature  # (2N, 2N)"
MASK = 'logits = logits.masked_fill(self_pairs, float("-inf"))  # a row is never its own candidate'
PARTNER = "partner = torch.arange(n2, device=z.device).roll(n2 // 2)  # (2N,): i ↦ (i + N) mod 2N"
LOSS = "return F.cross_entropy(logits, partner)  # log-softmax subtracts each row's maximum: stable at small τ"
FORWARD = "return h, self.head(h)  # (B, L), (B, P)"
SECOND = "second = augment(images, generator, **augment_options)  # (N, C, H, W), a different draw"
CALL = "_, z = model(torch.cat([first, second]))  # (2N, P); one pass, so batch statistics see both views"

MUTANTS = {
    # augment ------------------------------------------------------------------------------------------------
    "augment: adds the noise in place": Mutant(
        "augment", {F: (RETURN_VIEW, "warped += noise_std * eps\n    images.copy_(warped.clamp(0, 1))\n"
                                     "    return images")},
        catches=("augment: the views of a seeded generator",)),
    "augment: torch's global random state, not the generator": Mutant(
        "augment", {F: (EPS, "eps = torch.randn(images.shape, device=images.device, dtype=images.dtype)")},
        kind="cheat", catches=("augment: same seed",)),
    "augment: one transform for the whole batch": Mutant(
        "augment", {F: (ANGLE, "angle = (2 * torch.rand(1, **draw) - 1).expand(B) * math.radians(max_angle)")},
        catches=("augment: the views",)),
    "augment: degrees used as radians": Mutant(
        "augment", {F: (ANGLE, "angle = (2 * torch.rand(B, **draw) - 1) * max_angle")},
        catches=("augment: the views",)),
    "augment: the zoom multiplied after cos and sin (harmless)": Mutant(
        "augment", {F: ("cos, sin = s * torch.cos(angle), s * torch.sin(angle)  # (B,)",
                        "cos, sin = torch.cos(angle) * s, torch.sin(angle) * s  # (B,)")}, kind="harmless"),

    # nt_xent_loss -------------------------------------------------------------------------------------------
    "nt_xent: no temperature": Mutant(
        "nt_xent_loss", {F: (LOGITS, "logits = u @ u.T  # (2N, 2N)")}, catches=("nt_xent_loss: value",)),
    "nt_xent: self-similarity not masked": Mutant(
        "nt_xent_loss", {F: (MASK, "pass")}, catches=("perfectly aligned pairs",)),
    "nt_xent: partner is the next row": Mutant(
        "nt_xent_loss", {F: (PARTNER, "partner = (torch.arange(n2, device=z.device) + 1) % n2")},
        catches=("perfectly aligned pairs", "swapping the two views")),
    "nt_xent: positive left out of the denominator (counted as no candidate)": Mutant(
        "nt_xent_loss", {F: (LOSS, "pos = logits.gather(1, partner[:, None]).squeeze(1)\n"
                                   "    neg = logits.scatter(1, partner[:, None], float('-inf'))\n"
                                   "    return (torch.logsumexp(neg, dim=1) - pos).mean()")},
        catches=("perfectly aligned pairs",)),
    "nt_xent: no normalisation (dot products)": Mutant(
        "nt_xent_loss", {F: ("u = F.normalize(z, dim=1)  # (2N, D), unit rows", "u = z")},
        catches=("perfectly aligned pairs",)),
    "nt_xent: one direction only (first N rows)": Mutant(
        "nt_xent_loss", {F: (LOSS, "return F.cross_entropy(logits[: n2 // 2], partner[: n2 // 2])")},
        catches=("swapping the two views",)),
    "nt_xent: log-sum-exp without subtracting the maximum": Mutant(
        "nt_xent_loss", {F: (LOSS, "pos = logits.gather(1, partner[:, None]).squeeze(1)\n"
                                   "    return (torch.log(torch.exp(logits).sum(dim=1)) - pos).mean()")},
        catches=("τ = 0.01",)),
    "nt_xent: log-sum-exp by hand, stable (harmless)": Mutant(
        "nt_xent_loss", {F: (LOSS, "pos = logits.gather(1, partner[:, None]).squeeze(1)\n"
                                   "    return (torch.logsumexp(logits, dim=1) - pos).mean()")}, kind="harmless"),

    # SimCLR.forward -----------------------------------------------------------------------------------------
    "forward: returns (z, z), the projection as the representation": Mutant(
        "SimCLR.forward", {F: (FORWARD, "z = self.head(h)\n        return z, z")}, catches=("SimCLR.forward",)),
    "forward: skips the head, z = h": Mutant(
        "SimCLR.forward", {F: (FORWARD, "return h, h")}, catches=("SimCLR.forward",)),
    "forward: h detached before the head": Mutant(
        "SimCLR.forward", {F: (FORWARD, "return h, self.head(h.detach())")}, catches=("SimCLR.forward",)),
    "forward: h normalised": Mutant(
        "SimCLR.forward", {F: (FORWARD, "h = F.normalize(h, dim=1)\n        return h, self.head(h)")},
        catches=("SimCLR.forward",)),

    # simclr_loss --------------------------------------------------------------------------------------------
    "simclr_loss: the same view twice": Mutant(
        "simclr_loss", {F: (SECOND, "second = first")}, catches=("simclr_loss: two views",)),
    "simclr_loss: no augmentation": Mutant(
        "simclr_loss", {F: (CALL, "_, z = model(torch.cat([images, images]))")}, kind="cheat",
        catches=("simclr_loss: two views",)),
    "simclr_loss: views interleaved (pairs at 2i, 2i + 1)": Mutant(
        "simclr_loss", {F: (CALL, "_, z = model(torch.stack([first, second], dim=1).flatten(0, 1))")},
        catches=("simclr_loss: two views",)),
    "simclr_loss: the loss on h, not z": Mutant(
        "simclr_loss", {F: (CALL, "z, _ = model(torch.cat([first, second]))")}, catches=("simclr_loss: two views",)),
    "simclr_loss: augmentation options dropped": Mutant(
        "simclr_loss", {F: (SECOND, "second = augment(images, generator)")}, catches=("simclr_loss: float64",)),
    "simclr_loss: one model call per view (harmless without batch statistics)": Mutant(
        "simclr_loss", {F: (CALL, "z = torch.cat([model(first)[1], model(second)[1]])")}, kind="harmless"),
}

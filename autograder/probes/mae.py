"""Probes for section 2, MAE: run inside the worker, return plain data only.

The model is always built from a config and a seed, so the student's ``MaskedAutoencoder`` (whose
``__init__`` is given) holds the same weights as the reference. Where the student's own random mask decides
what a method should compute, the expected value is recomputed here from that mask, with an independent
patchify, so the check never depends on how the randomness was drawn.
"""

from __future__ import annotations

import importlib

import torch


def _mae():
    return importlib.import_module("pretraining.mae")


def _patchify(images: torch.Tensor, p: int) -> torch.Tensor:
    """(B, C, H, W) → (B, N, P), row-major patches, each listing (u, v, c): written apart from the student's."""
    B, C = images.shape[:2]
    x = images.unfold(2, p, p).unfold(3, p, p)  # (B, C, H/p, W/p, p, p)
    return x.permute(0, 2, 3, 4, 5, 1).reshape(B, -1, p * p * C)


def build(config: dict, init_seed: int):
    torch.manual_seed(init_seed)
    return _mae().MaskedAutoencoder(**config).eval()


def random_masking(x, mask_ratio: float, seed: int) -> dict:
    x_visible, mask, ids_restore = _mae().random_masking(x, mask_ratio, torch.Generator().manual_seed(seed))
    return {"x_visible": x_visible, "mask": mask, "ids_restore": ids_restore}


def random_masking_replays(x, mask_ratio: float, seed: int) -> list:
    """Generator seeds (seed, seed, seed + 1), with the global torch seed changed before each call;
    then a second call on the last generator, which must draw new noise.
    """
    out = []
    for global_seed, generator_seed in ((1, seed), (2, seed), (3, seed + 1)):
        torch.manual_seed(global_seed)
        generator = torch.Generator().manual_seed(generator_seed)
        x_visible, mask, ids_restore = _mae().random_masking(x, mask_ratio, generator)
        out.append({"x_visible": x_visible, "mask": mask, "ids_restore": ids_restore})
    x_visible, mask, ids_restore = _mae().random_masking(x, mask_ratio, generator)
    out.append({"x_visible": x_visible, "mask": mask, "ids_restore": ids_restore})
    return out


def encoder(config: dict, images, mask_ratio: float, seed: int, init_seed: int = 0) -> dict:
    """The student's forward_encoder, what the transformer was fed, and what it should have returned.

    - ``encoder_lengths``: the sequence length of every call of the encoder's first block;
    - ``expected``: ``model.encoder`` run here on the embedded visible patches, in the shuffled order that
      the student's ``ids_restore`` undoes (None when the outputs are malformed: the check says why);
    - ``latent_hidden_changed``: the student's latent again, same seed, after replacing every masked
      patch's pixels by noise — the same when nothing hidden leaks into the encoder.
    """
    model, p = build(config, init_seed), config.get("patch_size", 4)
    lengths = []  # recorded at the first transformer block, which every way of running the encoder goes through
    hook = model.encoder[0].register_forward_pre_hook(lambda module, args: lengths.append(int(args[0].shape[1])))
    with torch.no_grad():
        latent, mask, ids_restore = model.forward_encoder(images, mask_ratio, torch.Generator().manual_seed(seed))
    hook.remove()
    out = {"latent": latent, "mask": mask, "ids_restore": ids_restore, "encoder_lengths": lengths,
           "expected": None, "latent_hidden_changed": None, "mask_hidden_changed": None}
    B, N = images.shape[0], model.num_patches
    if not (latent.dim() == 3 and tuple(mask.shape) == (B, N) and tuple(ids_restore.shape) == (B, N)):
        return out
    ids_shuffle = ids_restore.long().argsort(dim=1)  # (B, N)
    keep, D = latent.shape[1], model.pos_embed.shape[-1]
    with torch.no_grad():
        tokens = model.patch_embed(_patchify(images, p)) + model.pos_embed  # (B, N, D)
        visible = tokens.gather(1, ids_shuffle[:, :keep, None].expand(-1, -1, D))  # (B, N_keep, D)
        out["expected"] = model.encoder(visible)
        # Same pixels where visible, noise where masked.
        hidden = mask.float()[:, :, None].expand(-1, -1, _patchify(images, p).shape[-1])  # (B, N, P)
        noise = torch.rand(images.shape, generator=torch.Generator().manual_seed(seed + 1))
        changed = torch.where(hidden.bool(), _patchify(noise, p), _patchify(images, p))  # (B, N, P)
        changed_images = _mae_unpatchify(changed, p, images.shape)
        latent2, mask2, _ = model.forward_encoder(changed_images, mask_ratio, torch.Generator().manual_seed(seed))
    out["latent_hidden_changed"], out["mask_hidden_changed"] = latent2, mask2
    return out


def _mae_unpatchify(patches: torch.Tensor, p: int, shape) -> torch.Tensor:
    """The inverse of :func:`_patchify` for images of ``shape`` (B, C, H, W)."""
    B, C, H, W = shape
    x = patches.reshape(B, H // p, W // p, p, p, C)  # (B, i, j, u, v, C)
    return x.permute(0, 5, 1, 3, 2, 4).reshape(B, C, H, W)


def decoder(config: dict, latent, ids_restore, init_seed: int = 0):
    """The student's forward_decoder on given encoder outputs and restore permutation: (B, N, P)."""
    model = build(config, init_seed)
    with torch.no_grad():
        return model.forward_decoder(latent, ids_restore)

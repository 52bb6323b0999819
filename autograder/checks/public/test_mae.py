"""Section 2 — MAE: public checks (students run these with `python -m autograder check`).

The model checks build ``MaskedAutoencoder(**CONFIG)`` from a fixed seed next to your code, so it holds the
same weights as the reference; please keep its ``__init__`` as given.
"""

import numpy as np
import pytest

from autograder.checks import assert_close, assert_equal, assert_true, tensor

# A tiny model: 8×8 images, 2×2 patches → N = 16 patches of P = 4 values; widths 16 (encoder), 8 (decoder).
CONFIG = dict(image_size=8, patch_size=2, channels=1, dim=16, depth=2, heads=2, decoder_dim=8, decoder_depth=1,
              decoder_heads=2)


def expected_visible(n: int, mask_ratio: float) -> int:
    """mae.num_visible: round(N · (1 − mask_ratio)), at least 1."""
    return max(1, round(n * (1 - mask_ratio)))


def check_mask_and_restore(mask, ids_restore, batch: int, n: int, keep: int, name: str) -> tuple:
    """``mask`` (B, N) of 0/1 with N − keep ones per row; ``ids_restore`` (B, N) a permutation per row that
    sends the visible patches to the first ``keep`` places of the shuffled order. Returns them as arrays."""
    for what, got in (("mask", mask), ("ids_restore", ids_restore)):
        assert_true(hasattr(got, "shape") and got.kind == "tensor", f"{name}: {what} should be a torch tensor")
        assert_true(got.shape == (batch, n), f"{name}: {what} has the wrong shape: expected {(batch, n)}, got {got.shape}")
    assert_true(ids_restore.dtype == "int64", f"{name}: ids_restore should be int64 (it indexes with gather), got "
                f"{ids_restore.dtype}")
    m, r = mask.values.astype(np.float64), ids_restore.values
    assert_true(np.isin(m, (0.0, 1.0)).all(), f"{name}: mask must hold only 0 (visible) and 1 (masked)")
    hidden = m.sum(axis=1)
    for b in np.flatnonzero(hidden != n - keep)[:1]:
        assert_true(False, f"{name}: every sample must hide exactly N − N_keep = {n} − {keep} = {n - keep} "
                    f"patches; sample {b} hides {hidden[b]:g}")
    for b in np.flatnonzero((np.sort(r, axis=1) != np.arange(n)).any(axis=1))[:1]:
        assert_true(False, f"{name}: ids_restore[{b}] is not a permutation of 0 … {n - 1}")
    # Visible patches must come back from the first `keep` slots (the encoded ones), masked from the rest.
    for b, i in np.argwhere((r < keep) != (m == 0))[:1]:
        assert_true(False, f"{name}: ids_restore and mask disagree at sample {b}, patch {i}: ids_restore must send "
                    f"each visible patch (mask 0) to one of the first N_keep = {keep} slots of the shuffled order, "
                    "and each masked one after them")
    return m, r


@pytest.mark.check(points=2, timeout=30)
def test_patchify(student, reference, rng):
    """mae.patchify: (B, C, H, W) → (B, N, P), row-major patches, pixels (u, v, c) in each"""
    images = tensor(rng.standard_normal((2, 1, 8, 8)).astype("float32"))
    got = student.call("mae.patchify", images, 2)
    want = reference.call("mae.patchify", images, 2)
    assert_equal(got, want, name="patchify(images of shape (2, 1, 8, 8), patch_size=2)")


@pytest.mark.check(points=1, timeout=30)
def test_unpatchify(student, reference, rng):
    """mae.unpatchify: (B, N, P) → (B, C, H, W), the inverse of patchify"""
    patches = tensor(rng.standard_normal((2, 16, 4)).astype("float32"))
    got = student.call("mae.unpatchify", patches, 2, 1)
    want = reference.call("mae.unpatchify", patches, 2, 1)
    assert_equal(got, want, name="unpatchify(patches of shape (2, 16, 4), patch_size=2, channels=1)")


@pytest.mark.check(points=3, timeout=30)
def test_random_masking_keeps_and_restores(student, rng):
    """mae.random_masking: N_keep visible tokens per sample, a 0/1 mask, and ids_restore that undoes the shuffle"""
    B, N, D, ratio = 6, 16, 5, 0.75
    x = rng.standard_normal((B, N, D)).astype("float32")
    out = student.call("probe:mae:random_masking", tensor(x), ratio, 0)
    keep = expected_visible(N, ratio)
    name = f"random_masking(x of shape {(B, N, D)}, mask_ratio={ratio})"
    vis = out["x_visible"]
    assert_true(hasattr(vis, "shape") and vis.shape == (B, keep, D), f"{name}: x_visible should have shape "
                f"{(B, keep, D)} (N_keep = {keep} visible tokens per sample), got {getattr(vis, 'shape', vis)}")
    m, r = check_mask_and_restore(out["mask"], out["ids_restore"], B, N, keep, name)
    # What the decoder does: append N − N_keep placeholders, gather with ids_restore → x wherever visible.
    shuffled = np.concatenate([vis.values, np.zeros((B, N - keep, D), dtype=np.float32)], axis=1)
    restored = np.take_along_axis(shuffled, r[:, :, None], axis=1)
    visible = m == 0
    assert_close(tensor(restored[visible]), tensor(x[visible]), name=f"{name}: the visible tokens put back in "
                 "place with ids_restore (x_visible must hold the tokens of x where mask == 0, in shuffled order)")


@pytest.mark.check(points=1, timeout=30)
def test_random_masking_reproducible(student, rng):
    """mae.random_masking: the same generator seed gives the same mask; another seed, another mask"""
    x = tensor(rng.standard_normal((4, 16, 3)).astype("float32"))
    first, again, other = student.call("probe:mae:random_masking_replays", x, 0.5, 7)
    assert_equal(again, first, name="random_masking with a generator seeded alike (the global torch seed changed "
                                    "in between; draw the noise from `generator`)")
    assert_true(not np.array_equal(other["mask"].values, first["mask"].values),
                "random_masking gave the same mask for generators with different seeds: is the noise drawn from "
                "`generator`?")


@pytest.mark.check(points=2, timeout=30)
def test_mae_loss_value(student, reference, rng):
    """mae.mae_loss: mean squared error per patch, averaged over the masked patches only"""
    pred = tensor(rng.standard_normal((3, 16, 4)).astype("float32"))
    target = tensor(rng.standard_normal((3, 16, 4)).astype("float32"))
    mask = tensor((rng.random((3, 16)) < 0.75).astype("float32"))
    got = student.call("mae.mae_loss", pred, target, mask)
    want = reference.call("mae.mae_loss", pred, target, mask)
    assert_close(got, want, name="mae_loss(pred, target, mask) with patches of shape (3, 16, 4)", rtol=1e-5)


@pytest.mark.check(points=3, timeout=60)
def test_forward_encoder_encodes_the_visible_patches(student, rng):
    """MaskedAutoencoder.forward_encoder: the encoder's output on the embedded visible patches, (B, N_keep, D)"""
    B, ratio = 4, 0.75
    images = rng.random((B, 1, 8, 8)).astype("float32")
    out = student.call("probe:mae:encoder", CONFIG, tensor(images), ratio, 1)
    N, keep = 16, expected_visible(16, ratio)
    name = f"forward_encoder(images of shape {(B, 1, 8, 8)}, mask_ratio={ratio})"
    latent = out["latent"]
    assert_true(hasattr(latent, "shape") and latent.shape == (B, keep, CONFIG["dim"]),
                f"{name}: latent should have shape {(B, keep, CONFIG['dim'])}, got {getattr(latent, 'shape', latent)}")
    check_mask_and_restore(out["mask"], out["ids_restore"], B, N, keep, name)
    assert_close(latent, out["expected"], name=f"{name}: latent compared with self.encoder run on the embedded "
                 "visible patches (patch_embed + pos_embed, then your mask; if patchify fails its check, fix it "
                 "first)", rtol=1e-4, atol=1e-5)


@pytest.mark.check(points=3, timeout=60)
def test_forward_decoder(student, reference, rng):
    """MaskedAutoencoder.forward_decoder: mask tokens, unshuffle, positions, decoder → (B, N, P)"""
    B, N, keep = 3, 16, 4
    latent = tensor(rng.standard_normal((B, keep, CONFIG["dim"])).astype("float32"))
    ids_restore = tensor(np.stack([rng.permutation(N) for _ in range(B)]).astype("int64"))
    got = student.call("probe:mae:decoder", CONFIG, latent, ids_restore)
    want = reference.call("probe:mae:decoder", CONFIG, latent, ids_restore)
    assert_close(got, want, name=f"forward_decoder(latent {(B, keep, CONFIG['dim'])}, ids_restore {(B, N)})",
                 rtol=1e-4, atol=1e-5)

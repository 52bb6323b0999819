"""Section 2 — MAE: public checks (students run these with `python -m autograder check`).

The model checks build ``MaskedAutoencoder(**config)`` from a fixed seed next to your code, so it holds the
same weights as the reference; please keep its ``__init__`` as given. Every check runs on several shapes:
one channel and three, square and non-square images, odd sizes, batches of one and more.
"""

import numpy as np
import pytest

from autograder.checks import assert_close, assert_equal, assert_true, tensor
from autograder.checks.public.test_autoencoder import student  # noqa: F401 (the fixture: errors say "your code")

# A tiny model: 8×8 images, 2×2 patches → N = 16 patches of P = 4 values; widths 16 (encoder), 8 (decoder).
CONFIG = dict(image_size=8, patch_size=2, channels=1, dim=16, depth=2, heads=2, decoder_dim=8, decoder_depth=1,
              decoder_heads=2)
# Three channels, 12×12 images, 4×4 patches → N = 9 patches of P = 48 values.
COLOUR = dict(image_size=12, patch_size=4, channels=3, dim=12, depth=1, heads=2, decoder_dim=8, decoder_depth=1,
              decoder_heads=2)


def expected_visible(n: int, mask_ratio: float) -> int:
    """mae.num_visible: round(N · (1 − mask_ratio)), at least 1."""
    return max(1, round(n * (1 - mask_ratio)))


def check_mask_and_restore(mask, ids_restore, batch: int, n: int, keep: int, name: str) -> tuple:
    """``mask`` (B, N) of 0/1 with N − keep ones per row; ``ids_restore`` (B, N) a permutation per row that
    sends the visible patches to the first ``keep`` places of the shuffled order. Returns them as arrays."""
    for what, got in (("mask", mask), ("ids_restore", ids_restore)):
        assert_true(hasattr(got, "shape") and got.kind == "tensor", f"{name}: {what} should be a torch tensor")
        assert_true(got.shape == (batch, n),
                    f"{name}: {what} has the wrong shape: expected {(batch, n)}, got {got.shape}")
    assert_true(ids_restore.dtype == "int64", f"{name}: ids_restore should be int64 (it indexes with gather), got "
                f"{ids_restore.dtype}")
    m, r = mask.values.astype(np.float64), ids_restore.values
    assert_true(np.isin(m, (0.0, 1.0)).all(), f"{name}: mask must hold only 0 (visible) and 1 (masked)")
    hidden = m.sum(axis=1)
    for b in np.flatnonzero(hidden != n - keep)[:1]:
        assert_true(False, f"{name}: every sample must hide exactly N − N_keep = {n} − {keep} = {n - keep} "
                    f"patches (N_keep = num_visible(N, mask_ratio)); sample {b} hides {hidden[b]:g}")
    for b in np.flatnonzero((np.sort(r, axis=1) != np.arange(n)).any(axis=1))[:1]:
        assert_true(False, f"{name}: ids_restore[{b}] is not a permutation of 0 … {n - 1}")
    # Visible patches must come back from the first `keep` slots (the encoded ones), masked from the rest.
    for b, i in np.argwhere((r < keep) != (m == 0))[:1]:
        assert_true(False, f"{name}: ids_restore and mask disagree at sample {b}, patch {i}: ids_restore must send "
                    f"each visible patch (mask 0) to one of the first N_keep = {keep} slots of the shuffled order, "
                    "and each masked one after them (is the mask in the original order?)")
    return m, r


def check_random_masking(out, x: np.ndarray, ratio: float, name: str) -> tuple:
    """The structure random_masking's docstring promises: shapes, a 0/1 mask, and ids_restore that puts every
    visible token of x_visible back at its own place."""
    B, N, D = x.shape
    keep = expected_visible(N, ratio)
    vis = out["x_visible"]
    assert_true(hasattr(vis, "shape") and vis.shape == (B, keep, D), f"{name}: x_visible should have shape "
                f"{(B, keep, D)} (N_keep = num_visible({N}, {ratio}) = {keep}), got {getattr(vis, 'shape', vis)}")
    m, r = check_mask_and_restore(out["mask"], out["ids_restore"], B, N, keep, name)
    # What the decoder does: append N − N_keep placeholders, gather with ids_restore → x wherever visible.
    shuffled = np.concatenate([vis.values, np.zeros((B, N - keep, D), dtype=vis.values.dtype)], axis=1)
    restored = np.take_along_axis(shuffled, r[:, :, None], axis=1)
    visible = m == 0
    assert_close(tensor(restored[visible]), tensor(x[visible]), name=f"{name}: the visible tokens put back in "
                 "place with ids_restore (x_visible must hold the tokens of x where mask == 0, in shuffled order)",
                 check_dtype=False)
    return m, r


# (B, N, D, mask_ratio): N·(1 − ratio) = 1.0 (float 0.999…), 3.5 and 12.25 — use mae.num_visible, not int(…).
MASKING_SHAPES = ((6, 16, 5, 0.75), (5, 10, 3, 0.9), (1, 14, 4, 0.75), (3, 49, 2, 0.75), (2, 9, 3, 0.0))


@pytest.mark.check(points=2, timeout=30)
def test_patchify(student, reference, rng):
    """mae.patchify: (B, C, H, W) → (B, N, P), row-major patches, pixels (u, v, c) in each; C = 1 or 3, H ≠ W"""
    for shape, p in (((2, 1, 8, 8), 2), ((2, 3, 6, 9), 3), ((1, 2, 4, 4), 4), ((3, 3, 12, 8), 4), ((1, 1, 5, 10), 5)):
        images = tensor(rng.standard_normal(shape).astype("float32"))
        got = student.call("mae.patchify", images, p)
        want = reference.call("mae.patchify", images, p)
        assert_equal(got, want, name=f"patchify(images of shape {shape}, patch_size={p})")


@pytest.mark.check(points=2, timeout=30)
def test_unpatchify(student, reference, rng):
    """mae.unpatchify: (B, N, P) → (B, C, H, W), the inverse of patchify, for 1 to 3 channels"""
    for shape, p, c in (((2, 16, 4), 2, 1), ((2, 9, 27), 3, 3), ((1, 4, 32), 4, 2), ((3, 1, 75), 5, 3)):
        patches = tensor(rng.standard_normal(shape).astype("float32"))
        got = student.call("mae.unpatchify", patches, p, c)
        want = reference.call("mae.unpatchify", patches, p, c)
        assert_equal(got, want, name=f"unpatchify(patches of shape {shape}, patch_size={p}, channels={c})")
    x = rng.standard_normal((2, 3, 12, 12)).astype("float32")
    back = student.call("mae.unpatchify", student.call("mae.patchify", tensor(x), 4), 4, 3)
    assert_equal(back, tensor(x), name="unpatchify(patchify(x, 4), 4, 3) for x of shape (2, 3, 12, 12)")


@pytest.mark.check(points=3, timeout=30)
def test_random_masking_matches_the_mae_algorithm(student, reference, rng):
    """mae.random_masking: N_keep visible tokens, a 0/1 mask, ids_restore — exactly MAE's argsort of uniform noise"""
    for i, (B, N, D, ratio) in enumerate(MASKING_SHAPES):
        x = rng.standard_normal((B, N, D)).astype("float32")
        name = f"random_masking(x of shape {(B, N, D)}, mask_ratio={ratio})"
        out = student.call("probe:mae:random_masking", tensor(x), ratio, i)
        check_random_masking(out, x, ratio, name)
        want = reference.call("probe:mae:random_masking", tensor(x), ratio, i)
        assert_equal(out, want, name=f"{name} with a generator seeded {i}, against MAE's algorithm (noise = "
                     "torch.rand(B, N, generator=generator); keep the first N_keep of noise.argsort(dim=1))")


@pytest.mark.check(points=1, timeout=30)
def test_random_masking_reproducible(student, rng):
    """mae.random_masking: the same generator seed gives the same mask; another seed or another call, another mask"""
    x = tensor(rng.standard_normal((4, 16, 3)).astype("float32"))
    first, again, other, next_call = student.call("probe:mae:random_masking_replays", x, 0.5, 7)
    assert_equal(again, first, name="random_masking with a generator seeded alike (the global torch seed changed "
                                    "in between; draw the noise from `generator`)")
    for what, (a, b) in (("for generators with different seeds", (other, first)),
                         ("for two calls on the same generator", (next_call, other))):
        assert_true(not np.array_equal(a["mask"].values, b["mask"].values),
                    f"random_masking gave the same mask {what}: draw new noise from `generator` on every call")


def loss_inputs(rng, shape, ratio=0.75, offset=0.0, scale=1.0):
    pred = rng.standard_normal(shape).astype("float32")
    target = (offset + scale * rng.standard_normal(shape)).astype("float32")
    mask = (rng.random(shape[:2]) < ratio).astype("float32")
    mask[0, :2] = (0, 1)  # at least one patch of each kind
    return pred, target, mask


@pytest.mark.check(points=3, timeout=30)
def test_mae_loss_value(student, reference, rng):
    """mae.mae_loss: mean squared error per patch over the masked patches only; normalize_target per patch"""
    for shape, norm in (((3, 16, 4), False), ((1, 9, 48), False), ((2, 5, 12), True), ((4, 16, 3), True)):
        pred, target, mask = loss_inputs(rng, shape, offset=5.0 if norm else 0.0, scale=3.0 if norm else 1.0)
        args = (tensor(pred), tensor(target), tensor(mask))
        name = f"mae_loss(pred, target, mask, normalize_target={norm}) with patches of shape {shape}"
        got = student.call("mae.mae_loss", *args, normalize_target=norm)
        changed = pred.copy()
        changed[mask == 0] += 100 * rng.standard_normal(changed[mask == 0].shape).astype("float32")
        again = student.call("mae.mae_loss", tensor(changed), tensor(target), tensor(mask), normalize_target=norm)
        assert_close(again, got, name=f"{name} after changing pred at the visible patches (mask 0: they must not "
                     "count)", rtol=1e-6)
        want = reference.call("mae.mae_loss", *args, normalize_target=norm)
        assert_close(got, want, name=name, rtol=1e-5)


def check_encoder(student, config, images: np.ndarray, ratio: float, seed: int, name: str) -> None:
    """forward_encoder's outputs: shapes, mask and ids_restore, the latent against the encoder run here on the
    embedded visible patches, the encoder fed the visible tokens only, and nothing hidden reaching it."""
    out = student.call("probe:mae:encoder", config, tensor(images), ratio, seed)
    B = images.shape[0]
    N = (config["image_size"] // config["patch_size"]) ** 2
    keep = expected_visible(N, ratio)
    latent = out["latent"]
    assert_true(hasattr(latent, "shape") and latent.shape == (B, keep, config["dim"]),
                f"{name}: latent should have shape {(B, keep, config['dim'])}, got {getattr(latent, 'shape', latent)}")
    check_mask_and_restore(out["mask"], out["ids_restore"], B, N, keep, name)
    assert_true(out["encoder_lengths"] == [keep], f"{name} ran self.encoder on sequences of lengths "
                f"{out['encoder_lengths']}; it should run once, on the {keep} visible tokens (mask before encoding: "
                "that is MAE's speed-up)")
    assert_close(latent, out["expected"], name=f"{name}: latent compared with self.encoder run on the embedded "
                 "visible patches (patch_embed + pos_embed, then your mask; if patchify fails its check, fix it "
                 "first)", rtol=1e-4, atol=1e-5)
    assert_equal(out["mask_hidden_changed"], out["mask"], name=f"{name}: the mask drawn with the same generator seed "
                 "for different pixels (the mask must depend on the generator only)")
    assert_close(out["latent_hidden_changed"], out["latent"], name=f"{name}: latent after replacing the pixels of "
                 "every masked patch by noise (nothing hidden may reach the encoder)", rtol=1e-5, atol=1e-6)


@pytest.mark.check(points=3, timeout=60)
def test_forward_encoder_encodes_the_visible_patches(student, rng):
    """MaskedAutoencoder.forward_encoder: the encoder on the embedded visible patches only, (B, N_keep, D)"""
    for i, (config, shape, ratio) in enumerate(((CONFIG, (4, 1, 8, 8), 0.75), (CONFIG, (1, 1, 8, 8), 0.5),
                                                (COLOUR, (2, 3, 12, 12), 0.6))):
        images = rng.random(shape).astype("float32")
        check_encoder(student, config, images, ratio, i + 1,
                      f"forward_encoder(images of shape {shape}, mask_ratio={ratio})")


def decoder_inputs(rng, config, B: int, keep: int):
    N = (config["image_size"] // config["patch_size"]) ** 2
    latent = tensor(rng.standard_normal((B, keep, config["dim"])).astype("float32"))
    ids_restore = tensor(np.stack([rng.permutation(N) for _ in range(B)]).astype("int64"))
    return latent, ids_restore, N


@pytest.mark.check(points=3, timeout=60)
def test_forward_decoder(student, reference, rng):
    """MaskedAutoencoder.forward_decoder: mask tokens appended, unshuffled, positions, decoder → (B, N, P)"""
    for config, B, keep in ((CONFIG, 3, 4), (CONFIG, 1, 8), (CONFIG, 2, 1), (COLOUR, 2, 3)):
        latent, ids_restore, N = decoder_inputs(rng, config, B, keep)
        got = student.call("probe:mae:decoder", config, latent, ids_restore)
        want = reference.call("probe:mae:decoder", config, latent, ids_restore)
        assert_close(got, want, name=f"forward_decoder(latent {(B, keep, config['dim'])}, ids_restore {(B, N)}) "
                     f"with {config['channels']} channel(s)", rtol=1e-4, atol=1e-5)

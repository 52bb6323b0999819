"""Section 2 — MAE: hidden checks (never in the student release)."""

import math

import numpy as np
import pytest

from autograder.checks import assert_close, assert_equal, assert_true, tensor
from autograder.checks.public.test_mae import CONFIG, check_mask_and_restore, expected_visible


@pytest.mark.check(points=1, timeout=30)
def test_patchify_colour_non_square(student, reference, rng):
    """mae.patchify: 3-channel, non-square images (C = 3, H ≠ W)"""
    images = tensor(rng.standard_normal((2, 3, 6, 9)).astype("float32"))
    got = student.call("mae.patchify", images, 3)
    want = reference.call("mae.patchify", images, 3)
    assert_equal(got, want, name="patchify(images of shape (2, 3, 6, 9), patch_size=3)")


@pytest.mark.check(points=1, timeout=30)
def test_unpatchify_round_trip(student, rng):
    """mae.unpatchify(patchify(x)) == x for 3-channel images"""
    x = rng.standard_normal((2, 3, 12, 12)).astype("float32")
    patches = student.call("mae.patchify", tensor(x), 4)
    back = student.call("mae.unpatchify", patches, 4, 3)
    assert_equal(back, tensor(x), name="unpatchify(patchify(x, 4), 4, 3) for x of shape (2, 3, 12, 12)")


@pytest.mark.check(points=2, timeout=30)
def test_random_masking_visible_count(student, rng):
    """mae.random_masking: exactly num_visible(N, mask_ratio) visible tokens, for ratios 0 to 0.9"""
    # (N, ratio) with N·(1 − ratio) = 1.0 (float 0.999…), 3.5 and 12.25: use mae.num_visible, not int(…).
    for B, N, ratio in ((5, 10, 0.9), (4, 14, 0.75), (3, 49, 0.75), (3, 16, 0.0), (2, 64, 0.5)):
        x = rng.standard_normal((B, N, 3)).astype("float32")
        out = student.call("probe:mae:random_masking", tensor(x), ratio, N)
        keep = expected_visible(N, ratio)
        name = f"random_masking(x of shape {(B, N, 3)}, mask_ratio={ratio})"
        vis = out["x_visible"]
        assert_true(hasattr(vis, "shape") and vis.shape == (B, keep, 3), f"{name}: x_visible should have shape "
                    f"{(B, keep, 3)} (N_keep = num_visible({N}, {ratio}) = {keep}), got {getattr(vis, 'shape', vis)}")
        check_mask_and_restore(out["mask"], out["ids_restore"], B, N, keep, name)


@pytest.mark.check(points=2, timeout=60)
def test_random_masking_is_uniform_per_sample(student, rng):
    """mae.random_masking: each patch is masked with probability mask_ratio, independently per sample"""
    B, N, ratio = 4000, 16, 0.75
    x = np.zeros((B, N, 1), dtype="float32")
    out = student.call("probe:mae:random_masking", tensor(x), ratio, 21)
    m, _ = check_mask_and_restore(out["mask"], out["ids_restore"], B, N, expected_visible(N, ratio),
                                  "random_masking(x of shape (4000, 16, 1), mask_ratio=0.75)")
    # Across samples, patch n is masked ~ Binomial(4000, 0.75): σ ≈ 27, so ±5σ is ±3.4% of the rate.
    sigma = math.sqrt(B * ratio * (1 - ratio))
    for n, count in enumerate(m.sum(axis=0)):
        assert_true(abs(count - B * ratio) <= 5 * sigma, f"random_masking masked patch {n} in {count:g} of {B} "
                    f"samples ({count / B:.1%}); expected {ratio:.0%} ± {5 * sigma / B:.1%} (5σ): every patch should "
                    "be equally likely to be hidden")
    distinct = len({row.tobytes() for row in m[:200]})
    assert_true(distinct > 150, f"only {distinct} different masks among the first 200 samples: draw the noise "
                "with shape (B, N), one random order per sample")


@pytest.mark.check(points=2, timeout=30)
def test_mae_loss_ignores_visible_patches(student, rng):
    """mae.mae_loss: changing the predictions of visible patches changes neither the loss nor its gradient"""
    pred = rng.standard_normal((4, 16, 12)).astype("float32")
    target = rng.standard_normal((4, 16, 12)).astype("float32")
    mask = (rng.random((4, 16)) < 0.75).astype("float32")
    mask[0, :2] = (0, 1)
    loss = student.call("mae.mae_loss", tensor(pred), tensor(target), tensor(mask))
    changed = pred.copy()
    changed[mask == 0] += 100 * rng.standard_normal(changed[mask == 0].shape).astype("float32")
    again = student.call("mae.mae_loss", tensor(changed), tensor(target), tensor(mask))
    assert_close(again, loss, name="mae_loss after changing pred at the visible patches (mask 0)", rtol=1e-6)
    want = ((pred - target) ** 2).mean(axis=-1)[mask == 1].mean(dtype=np.float64)
    assert_close(loss, tensor(np.asarray(want, dtype="float32")), name="mae_loss: the mean over masked patches of "
                 "each patch's mean squared error", rtol=1e-5)


@pytest.mark.check(points=2, timeout=30)
def test_mae_loss_normalized_targets(student, reference, rng):
    """mae.mae_loss(normalize_target=True): each target patch standardised by its own mean and variance"""
    pred = tensor(rng.standard_normal((3, 9, 12)).astype("float32"))
    target = tensor((5 + 3 * rng.standard_normal((3, 9, 12))).astype("float32"))
    mask = tensor((rng.random((3, 9)) < 0.6).astype("float32"))
    got = student.call("mae.mae_loss", pred, target, mask, normalize_target=True)
    want = reference.call("mae.mae_loss", pred, target, mask, normalize_target=True)
    assert_close(got, want, name="mae_loss(pred, target, mask, normalize_target=True) with patches (3, 9, 12)",
                 rtol=1e-5)


@pytest.mark.check(points=2, timeout=60)
def test_encoder_sees_only_visible_patches(student, rng):
    """MaskedAutoencoder.forward_encoder: the transformer runs on the N_keep visible tokens only"""
    images = tensor(rng.random((3, 1, 8, 8)).astype("float32"))
    for ratio in (0.75, 0.5):
        out = student.call("probe:mae:encoder", CONFIG, images, ratio, 2)
        keep = expected_visible(16, ratio)
        assert_true(out["encoder_lengths"] == [keep], f"forward_encoder(mask_ratio={ratio}) ran self.encoder on "
                    f"sequences of lengths {out['encoder_lengths']}; it should run once, on the {keep} visible tokens "
                    "(mask before encoding: that is MAE's speed-up)")


@pytest.mark.check(points=2, timeout=60)
def test_encoder_output_ignores_hidden_pixels(student, rng):
    """MaskedAutoencoder.forward_encoder: replacing the hidden patches' pixels leaves the output unchanged"""
    images = tensor(rng.random((4, 1, 8, 8)).astype("float32"))
    out = student.call("probe:mae:encoder", CONFIG, images, 0.75, 3)
    assert_true(out["latent_hidden_changed"] is not None, "forward_encoder returned malformed outputs (see the "
                "public check of forward_encoder)")
    assert_equal(out["mask_hidden_changed"], out["mask"], name="the mask drawn with the same generator seed for "
                 "different pixels (the mask must depend on the generator only)")
    assert_close(out["latent_hidden_changed"], out["latent"], name="forward_encoder's latent after replacing the "
                 "pixels of every masked patch by noise (nothing hidden may reach the encoder)", rtol=1e-5, atol=1e-6)


@pytest.mark.check(points=2, timeout=60)
def test_forward_decoder_deeper_and_other_ratio(student, reference, rng):
    """MaskedAutoencoder.forward_decoder: a 2-block decoder, 8 of 16 patches visible"""
    config = dict(CONFIG, decoder_depth=2, decoder_dim=12, decoder_heads=3)
    B, N, keep = 2, 16, 8
    latent = tensor(rng.standard_normal((B, keep, config["dim"])).astype("float32"))
    ids_restore = tensor(np.stack([rng.permutation(N) for _ in range(B)]).astype("int64"))
    got = student.call("probe:mae:decoder", config, latent, ids_restore, 4)
    want = reference.call("probe:mae:decoder", config, latent, ids_restore, 4)
    assert_close(got, want, name=f"forward_decoder(latent {(B, keep, config['dim'])}, ids_restore {(B, N)}) with "
                 "decoder_depth=2, decoder_dim=12", rtol=1e-4, atol=1e-5)

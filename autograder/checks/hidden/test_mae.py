"""Section 2 — MAE: hidden checks (never in the student release): the public checks' behaviours on other inputs."""

import numpy as np
import pytest

from autograder.checks import assert_close, assert_equal, assert_true, tensor
from autograder.checks.public.test_autoencoder import student  # noqa: F401 (the fixture: errors say "your code")
from autograder.checks.public.test_mae import (COLOUR, CONFIG, check_encoder, check_random_masking, decoder_inputs,
                                               expected_visible, loss_inputs)
from autograder.checks.stats import binomial_slack


@pytest.mark.check(points=1, timeout=30)
def test_patchify_other_shapes(student, reference, rng):
    """mae.patchify: 5 channels, patch size 1, wide images, float64"""
    for shape, p, dtype in (((2, 5, 6, 4), 2, "float32"), ((1, 3, 3, 3), 1, "float32"), ((2, 3, 4, 20), 4, "float64")):
        images = tensor(rng.standard_normal(shape).astype(dtype))
        got = student.call("mae.patchify", images, p)
        want = reference.call("mae.patchify", images, p)
        assert_equal(got, want, name=f"patchify(images of shape {shape} {dtype}, patch_size={p})")


@pytest.mark.check(points=1, timeout=30)
def test_unpatchify_round_trip(student, rng):
    """mae.unpatchify(patchify(x)) == x for 1, 2 and 4 channels"""
    for shape, p in (((3, 1, 9, 9), 3), ((1, 2, 10, 10), 2), ((2, 4, 8, 8), 8)):
        x = rng.standard_normal(shape).astype("float32")
        back = student.call("mae.unpatchify", student.call("mae.patchify", tensor(x), p), p, shape[1])
        assert_equal(back, tensor(x), name=f"unpatchify(patchify(x, {p}), {p}, {shape[1]}) for x of shape {shape}")


@pytest.mark.check(points=2, timeout=60)
def test_random_masking_other_shapes_and_uniform(student, reference, rng):
    """mae.random_masking: MAE's algorithm on other shapes; each patch masked with probability mask_ratio per sample"""
    for i, (B, N, D, ratio) in enumerate(((4, 64, 2, 0.5), (2, 25, 7, 0.3), (3, 7, 1, 0.85))):
        x = rng.standard_normal((B, N, D)).astype("float32")
        name = f"random_masking(x of shape {(B, N, D)}, mask_ratio={ratio})"
        out = student.call("probe:mae:random_masking", tensor(x), ratio, 40 + i)
        check_random_masking(out, x, ratio, name)
        assert_equal(out, reference.call("probe:mae:random_masking", tensor(x), ratio, 40 + i),
                     name=f"{name} against MAE's algorithm")
    B, N, ratio = 2000, 16, 0.75
    x = np.zeros((B, N, 1), dtype="float32")
    out = student.call("probe:mae:random_masking", tensor(x), ratio, 21)
    m, _ = check_random_masking(out, x, ratio, f"random_masking(x of shape {(B, N, 1)}, mask_ratio={ratio})")
    slack = float(binomial_slack(B, ratio))
    for n, count in enumerate(m.sum(axis=0)):
        assert_true(abs(count - B * ratio) <= slack, f"random_masking masked patch {n} in {count:g} of {B} samples; "
                    f"expected {B * ratio:g} ± {slack:.0f} (5σ): every patch should be equally likely to be hidden")
    distinct = len({row.tobytes() for row in m[:200]})
    assert_true(distinct > 150, f"only {distinct} different masks among the first 200 samples: draw the noise "
                "with shape (B, N), one random order per sample")


@pytest.mark.check(points=2, timeout=30)
def test_mae_loss_other_shapes(student, reference, rng):
    """mae.mae_loss: other shapes and mask ratios, with and without normalize_target"""
    for shape, norm, ratio in (((2, 49, 16), True, 0.9), ((5, 4, 2), False, 0.5), ((1, 36, 27), True, 0.3)):
        pred, target, mask = loss_inputs(rng, shape, ratio=ratio, offset=-2.0, scale=0.5)
        args = (tensor(pred), tensor(target), tensor(mask))
        got = student.call("mae.mae_loss", *args, normalize_target=norm)
        want = reference.call("mae.mae_loss", *args, normalize_target=norm)
        assert_close(got, want, name=f"mae_loss(pred, target, mask, normalize_target={norm}) with patches {shape}",
                     rtol=1e-5)


@pytest.mark.check(points=2, timeout=60)
def test_forward_encoder_other_configs(student, rng):
    """MaskedAutoencoder.forward_encoder: a deeper encoder, mask ratios 0.9 and 0, three channels"""
    deeper = dict(CONFIG, depth=3, dim=24, heads=3)
    for i, (config, shape, ratio) in enumerate(((deeper, (3, 1, 8, 8), 0.9), (COLOUR, (1, 3, 12, 12), 0.0),
                                                (deeper, (2, 1, 8, 8), 0.3))):
        images = rng.random(shape).astype("float32")
        check_encoder(student, config, images, ratio, 10 + i,
                      f"forward_encoder(images of shape {shape}, mask_ratio={ratio}) with depth={config['depth']}")


@pytest.mark.check(points=2, timeout=60)
def test_forward_decoder_other_configs(student, reference, rng):
    """MaskedAutoencoder.forward_decoder: a 2-block decoder, 8 of 16 patches visible; every patch visible"""
    deeper = dict(CONFIG, decoder_depth=2, decoder_dim=12, decoder_heads=3)
    for config, B, keep in ((deeper, 2, 8), (deeper, 3, 16), (COLOUR, 1, 1)):
        latent, ids_restore, N = decoder_inputs(rng, config, B, keep)
        got = student.call("probe:mae:decoder", config, latent, ids_restore, 4)
        want = reference.call("probe:mae:decoder", config, latent, ids_restore, 4)
        assert_close(got, want, name=f"forward_decoder(latent {(B, keep, config['dim'])}, ids_restore {(B, N)}) with "
                     f"decoder_depth={config['decoder_depth']}", rtol=1e-4, atol=1e-5)

"""Section 0 — contrastive learning: hidden checks (never in the student release)."""

import numpy as np
import pytest

from autograder.checks import assert_close, assert_true, digits_like, tensor, weights


@pytest.mark.check(points=2, timeout=30)
def test_contrastive_augment_float64_colour_and_options(student, reference, rng):
    """contrastive.augment: float64 colour images of 16×16, stronger options; one 28×28 image"""
    cases = [(digits_like(rng, (5, 3, 16, 16), "float64"), {"max_angle": 40.0, "scale": [0.7, 1.2], "max_shift": 0.4,
                                                       "noise_std": 0.2}),
             (digits_like(rng, (1, 1, 28, 28)), {})]
    for x, options in cases:
        got, want = (side.call("probe:contrastive:augment_seeded", x, 5, options) for side in (student, reference))
        assert_true(got["input_unchanged"], "augment modified its input images in place")
        assert_close(got["view"], want["view"], name=f"augment(x, generator seeded 5, **{options}) with x "
                     f"{x.dtype} of shape {x.shape}", rtol=1e-4, atol=1e-5)


@pytest.mark.check(points=1, timeout=30)
def test_contrastive_augment_identity_without_strength(student, rng):
    """contrastive.augment: with every strength at zero the view is the image"""
    x = digits_like(rng, (4, 1, 8, 8))
    options = {"max_angle": 0.0, "scale": [1.0, 1.0], "max_shift": 0.0, "noise_std": 0.0}
    got = student.call("probe:contrastive:augment_seeded", x, 0, options)
    assert_close(got["view"], x, name=f"augment(x, generator, **{options}): no rotation, zoom, shift or noise",
                 rtol=0, atol=1e-5)


@pytest.mark.check(points=2, timeout=30)
def test_contrastive_nt_xent_shapes_and_temperatures(student, reference, rng):
    """contrastive.nt_xent_loss: N = 1, 3, 64, dimensions 2 to 128, τ from 0.05 to 2, float64; values and gradients"""
    for n, d, tau in ((1, 4, 0.5), (3, 2, 0.05), (64, 128, 0.1), (7, 33, 2.0)):
        z = tensor(3 * rng.standard_normal((2 * n, d)), "float64")
        got, want = (side.call("probe:contrastive:nt_xent", z, tau) for side in (student, reference))
        name = f"nt_xent_loss(z, {tau}) with z float64 of shape ({2 * n}, {d})"
        assert_close(got["loss"], want["loss"], name=name, rtol=1e-8, atol=1e-10)
        assert_true(got["grad"] is not None, f"{name}: no gradient reached z")
        assert_close(got["grad"], want["grad"], name=f"the gradient of {name}", rtol=1e-6, atol=1e-10)


@pytest.mark.check(points=1, timeout=30)
def test_contrastive_nt_xent_temperature_sharpens(student, rng):
    """contrastive.nt_xent_loss: on aligned pairs with orthogonal negatives, a smaller τ gives a smaller loss"""
    q, _ = np.linalg.qr(rng.standard_normal((10, 4)))
    z = tensor(np.concatenate([q.T, 2 * q.T]), "float64")
    losses = [float(student.call("probe:contrastive:nt_xent", z, tau)["loss"].values) for tau in (1.0, 0.5, 0.1)]
    assert_true(losses[0] > losses[1] > losses[2],
                f"nt_xent_loss on perfectly aligned pairs at τ = 1, 0.5, 0.1 gave {losses}; dividing the cosine "
                "similarities by a smaller τ should make the loss smaller (the positive dominates the softmax)")


@pytest.mark.check(points=1, timeout=30)
def test_contrastive_simclr_forward_other_sizes(student, reference, rng):
    """contrastive.SimCLR.forward: default head sizes (P = 32, H = 64), a wide representation, gradients of h and z"""
    enc = weights(rng, [(40, 64), (40,)], scale=0.2)
    head = weights(rng, [(64, 40), (64,), (32, 64), (32,)], scale=0.3)
    x = digits_like(rng, (3, 64))
    gh, gz = tensor(rng.standard_normal((3, 40)), "float32"), tensor(rng.standard_normal((3, 32)), "float32")
    got, want = (side.call("probe:contrastive:simclr_forward", enc, head, x, gh, gz, {})
                 for side in (student, reference))
    assert_true(got["returns_pair"], "SimCLR.forward should return a pair (h, z)")
    for key in ("h", "z", "encoder_grads", "head_grads"):
        assert_close(got[key], want[key], name=f"{key} of SimCLR(encoder, 40) on x of shape (3, 64)", rtol=1e-4,
                     atol=1e-6)


@pytest.mark.check(points=2, timeout=30)
def test_contrastive_simclr_loss_float64_options(student, reference, rng):
    """contrastive.simclr_loss: float64, τ = 0.1, augmentation options passed on to augment"""
    w, b, v = weights(rng, [(10, 64), (10,), (10, 5)], scale=0.3, dtype="float64")
    x = digits_like(rng, (9, 1, 8, 8), "float64")
    options = {"max_angle": 30.0, "noise_std": 0.1}
    got, want = (side.call("probe:contrastive:simclr_loss_report", w, b, v, x, 4, 0.1, options)
                 for side in (student, reference))
    name = f"simclr_loss(trusted model, x float64 (9, 1, 8, 8), generator seeded 4, τ = 0.1, **{options})"
    assert_close(got["loss"], want["loss"], name=name, rtol=1e-7, atol=1e-9)
    assert_close(got["grad_weight"], want["grad_weight"], name=f"the gradient of {name}", rtol=1e-6, atol=1e-9)

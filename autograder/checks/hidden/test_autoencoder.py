"""Section 1 — autoencoders: hidden checks (never in the student release)."""

import numpy as np
import pytest

from autograder.checks import assert_close, assert_true, tensor, weights
from autograder.checks.public.test_autoencoder import student  # noqa: F401 (the fixture: errors say "your code")
from autograder.checks.public.test_autoencoder import DECODER_SHAPES, ENCODER_SHAPES, check_module


@pytest.mark.check(points=2, timeout=30)
def test_reconstruction_loss_per_example_images(student, reference, rng):
    """autoencoder.reconstruction_loss: per-example sums over (C, H, W) images, reduction='none'"""
    x = tensor(rng.standard_normal((5, 1, 8, 8)).astype("float64"))
    x_hat = tensor(rng.standard_normal((5, 1, 8, 8)).astype("float64"))
    got = student.call("autoencoder.reconstruction_loss", x, x_hat, reduction="none")
    want = reference.call("autoencoder.reconstruction_loss", x, x_hat, reduction="none")
    assert_close(got, want, name="reconstruction_loss(x, x_hat, reduction='none') with x of shape (5, 1, 8, 8)",
                 rtol=1e-7)


@pytest.mark.check(points=2, timeout=30)
def test_encoder_images_and_wide_latent(student, reference, rng):
    """autoencoder.Encoder: flattens (B, 1, 8, 8) images; a latent wider than the input; gradients"""
    w = weights(rng, [(20, 64), (20,), (100, 20), (100,)])
    x = tensor(rng.random((7, 1, 8, 8)), "float32")
    g = tensor(rng.standard_normal((7, 100)), "float32")
    check_module(student, reference, "autoencoder.Encoder", (64, 100), {"hidden_dim": 20}, ENCODER_SHAPES,
                 "Encoder(64, 100, hidden_dim=20)", w, x, g)


@pytest.mark.check(points=1, timeout=30)
def test_decoder_other_sizes_and_gradients(student, reference, rng):
    """autoencoder.Decoder: latent 2 → 784 outputs; gradients reach every parameter"""
    w = weights(rng, [(16, 2), (16,), (784, 16), (784,)])
    r = tensor(rng.standard_normal((5, 2)), "float32")
    g = tensor(rng.standard_normal((5, 784)), "float32")
    check_module(student, reference, "autoencoder.Decoder", (2, 784), {"hidden_dim": 16}, DECODER_SHAPES,
                 "Decoder(2, 784, hidden_dim=16)", w, r, g)


@pytest.mark.check(points=2, timeout=30)
def test_bottlenecks_add_noise_statistics(student, rng):
    """bottlenecks.add_noise: noise of mean 0 and standard deviation σ, fresh each call, none at σ = 0"""
    x = tensor(rng.random((500, 64)), "float64")  # 32,000 noise values
    sigma, n = 0.3, 500 * 64
    got = student.call("probe:autoencoder:noise_statistics", x, sigma, 7)
    assert_true(got["shape"] == [500, 64] and got["dtype"] == "float64",
                f"add_noise(x) with x float64 of shape (500, 64) returned {got['dtype']} of shape {got['shape']}")
    assert_true(got["input_unchanged"], "add_noise modified its input x in place; return a new tensor instead")
    # 5 standard errors: the mean of n N(0, σ²) draws has sd σ/√n; their sample sd has sd ≈ σ/√(2n).
    mean_bound, std_bound = 5 * sigma / np.sqrt(n), 5 * sigma / np.sqrt(2 * n)
    assert_true(abs(got["mean"]) <= mean_bound, f"the noise add_noise adds has mean {got['mean']:.4f}; it should be "
                                                f"0 (within ±{mean_bound:.4f} over {n} values): use torch.randn")
    assert_true(abs(got["std"] - sigma) <= std_bound,
                f"the noise add_noise(x, {sigma}) adds has standard deviation {got['std']:.4f}; it should be {sigma} "
                f"(within ±{std_bound:.4f}): noise_std is σ, the standard deviation, not the variance")
    assert_true(got["fresh"], "two calls of add_noise with the same generator gave the same noise; draw new noise "
                              "from the generator on every call")
    assert_true(got["zero_std_is_identity"], "add_noise(x, 0.0) should return x unchanged")


@pytest.mark.check(points=2, timeout=30)
def test_bottlenecks_denoising_loss_images_float64(student, reference, rng):
    """bottlenecks.denoising_loss: images in float64; loss and gradients match the reference"""
    w, b = weights(rng, [(64, 64), (64,)], scale=0.1, dtype="float64")
    x = tensor(rng.random((5, 1, 8, 8)), "float64")
    got, want = (side.call("probe:autoencoder:denoising_with_linear_model", w, b, x, 0.2, 5)
                 for side in (student, reference))
    name = "denoising_loss(linear model, images x (5, 1, 8, 8) float64, noise_std=0.2, generator seeded 5)"
    assert_close(got["loss"], want["loss"], name=name, rtol=1e-9, atol=1e-12)
    assert_close(got["grad_weight"], want["grad_weight"], name=f"the gradient of {name} w.r.t. the model's weight",
                 rtol=1e-7, atol=1e-10)
    assert_close(got["grad_bias"], want["grad_bias"], name=f"the gradient of {name} w.r.t. the model's bias",
                 rtol=1e-7, atol=1e-10)


@pytest.mark.check(points=1, timeout=30)
def test_bottlenecks_top_k_last_dim_of_3d_input(student, reference, rng):
    """bottlenecks.top_k: selects along the last dimension of (B, T, L) inputs; k = L keeps everything"""
    r = tensor(rng.standard_normal((3, 5, 12)), "float64")
    got, want = (side.call("bottlenecks.top_k", r, 2) for side in (student, reference))
    assert_close(got, want, name="top_k(r, 2) with r of shape (3, 5, 12), float64", rtol=0, atol=0)
    got = student.call("bottlenecks.top_k", r, 12)
    assert_close(got, r, name="top_k(r, 12) with r of shape (3, 5, 12) (keeps every entry)", rtol=0, atol=0)


@pytest.mark.check(points=1, timeout=30)
def test_bottlenecks_linear_decoder_is_affine(student, rng):
    """bottlenecks.LinearDecoder: affine (no hidden layer, no activation), (L + 1)·D parameters"""
    r1, r2 = (tensor(3 * rng.standard_normal((6, 4)), "float32") for _ in range(2))
    got = student.call("probe:autoencoder:is_affine", "bottlenecks.LinearDecoder", [4, 64], r1, r2, 0.3)
    assert_true(got["n_parameters"] == (4 + 1) * 64, f"LinearDecoder(4, 64) has {got['n_parameters']} parameters; "
                                                     f"one affine map from 4 to 64 has (4 + 1)·64 = 320")
    assert_close(got["mixed"], got["combined"], name="LinearDecoder(4, 64) at a·r1 + (1−a)·r2, against "
                 "a·f(r1) + (1−a)·f(r2) (equal for an affine map; a ReLU or a hidden layer breaks this)",
                 rtol=1e-4, atol=1e-5)


@pytest.mark.check(points=1, timeout=30)
def test_few_shot_freeze_keeps_values_and_passes_input_gradients(student, reference, rng):
    """few_shot.freeze: a frozen module's forward changes nothing and still passes gradients to its input"""
    x = tensor(rng.standard_normal((9, 6)), "float32")
    got, want = (side.call("probe:autoencoder:frozen_forward_report", x) for side in (student, reference))
    assert_true(not got["changed"], f"running a frozen module changed its {got['changed']}: put it in eval mode so "
                                    "that BatchNorm stops updating its running statistics")
    assert_true(not got["params_with_grad"], f"parameters {got['params_with_grad']} of a frozen module received a "
                                             "gradient")
    assert_true(got["input_grad"] is not None, "no gradient reached the input of a frozen module; freezing stops the "
                                               "parameters from learning, not gradients from flowing through")
    assert_close(got["output"], want["output"], rtol=1e-5, atol=1e-6,
                 name="a frozen module's output (dropout off, BatchNorm statistics used)")
    assert_close(got["input_grad"], want["input_grad"], name="the gradient reaching a frozen module's input",
                 rtol=1e-5, atol=1e-6)


@pytest.mark.check(points=2, timeout=30)
def test_few_shot_linear_probe_gradients_only_in_head(student, reference, rng):
    """few_shot.LinearProbe: gradients reach the head's weight and bias, and nothing in the encoder"""
    latent = 12
    head = weights(rng, [(4, latent), (4,)])
    x = tensor(rng.random((9, 64)), "float32")
    got, want = (side.call("probe:autoencoder:linear_probe_report", 21, latent, 4, head, x)
                 for side in (student, reference))
    assert_true(got["trainable"] == want["trainable"], f"LinearProbe(encoder, {latent}, 4) should train only its "
                                                       f"head, of shapes {want['trainable']}; got {got['trainable']}")
    assert_true(not got["encoder_grads"], f"encoder parameters {got['encoder_grads']} received a gradient from the "
                                          "probe's logits; run the frozen encoder under torch.no_grad()")
    assert_close(got["head_grads"], want["head_grads"], name="the gradients of logits.sum() w.r.t. the head's "
                 "weight and bias", rtol=1e-5, atol=1e-5)


@pytest.mark.check(points=2, timeout=60)
def test_few_shot_fit_linear_probe_other_steps_and_lr(student, reference, rng):
    """few_shot.fit_linear_probe: 3 classes of (1, 4, 4) images, steps=8, lr=0.2; loss curve and final head"""
    w, b = weights(rng, [(3, 16), (3,)], scale=0.3)
    x = tensor(rng.random((12, 1, 4, 4)), "float32")
    y = tensor(rng.permutation(np.repeat(np.arange(3), 4)), "int64")
    got, want = (side.call("probe:autoencoder:fit_curve", w, b, x, y, 8, 0.2) for side in (student, reference))
    name = "fit_linear_probe(probe, x (12, 1, 4, 4), y, steps=8, lr=0.2)"
    assert_close(got["curve"], want["curve"], name=f"the loss curve of {name} (the cross-entropy before each step)",
                 rtol=1e-4, atol=1e-5)
    assert_close(got["weight"], want["weight"], name=f"the head's weight after {name}", rtol=1e-4, atol=1e-5)

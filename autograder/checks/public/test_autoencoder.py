"""Section 1 — autoencoders: public checks (students run these with `python -m autograder check`)."""

import numpy as np
import pytest

from autograder.checks import assert_close, assert_equal, assert_true, tensor


def weights(rng, shapes, scale=0.5):
    """Random float32 weights of the given shapes, as tensors for the probe to load in parameter order."""
    return [tensor(scale * rng.standard_normal(s), "float32") for s in shapes]


def close(a, b, rtol=1e-5) -> bool:
    """Two returned scalars (0-dim arrays) agree."""
    return bool(np.isclose(a.values, b.values, rtol=rtol, atol=1e-6))


def module_outputs(student, reference, cls, init, shapes, w, x, what, grad_out=None):
    """Build ``cls(*init)`` on both sides, check its parameter shapes, load ``w``, return (got, want) reports."""
    got, want = (side.call("probe:autoencoder:module_with_weights", cls, list(init), {}, w, x, grad_out)
                 for side in (student, reference))
    assert_true(got["shapes"] == want["shapes"],
                f"{what} should have parameters of shapes {want['shapes']}, in this order ({shapes}); "
                f"got {got['shapes']}")
    return got, want


@pytest.mark.check(points=2, timeout=30)
def test_reconstruction_loss_mean(student, reference, rng):
    """autoencoder.reconstruction_loss: mean over a batch of flattened images"""
    x = tensor(rng.random((16, 64), dtype="float32"))
    x_hat = tensor(rng.random((16, 64), dtype="float32"))
    got = student.call("autoencoder.reconstruction_loss", x, x_hat)
    want = reference.call("autoencoder.reconstruction_loss", x, x_hat)
    assert_close(got, want, name="reconstruction_loss(x, x_hat) with x of shape (16, 64)", rtol=1e-5)


@pytest.mark.check(points=2, timeout=30)
def test_encoder_shapes_and_values(student, reference, rng):
    """autoencoder.Encoder: parameter shapes, and r for given weights on (B, 64) inputs"""
    w = weights(rng, [(32, 64), (32,), (8, 32), (8,)])
    x = tensor(rng.random((10, 64)), "float32")
    got, want = module_outputs(student, reference, "autoencoder.Encoder", (64, 8, 32),
                               "W₁ (H, D), b₁ (H,), W₂ (L, H), b₂ (L,)", w, x, "Encoder(64, 8, hidden_dim=32)")
    assert_close(got["output"], want["output"], name="Encoder(64, 8, hidden_dim=32)(x) with x of shape (10, 64)",
                 rtol=1e-5, atol=1e-5)


@pytest.mark.check(points=2, timeout=30)
def test_decoder_shapes_and_values(student, reference, rng):
    """autoencoder.Decoder: parameter shapes, and x̂ for given weights"""
    w = weights(rng, [(32, 8), (32,), (64, 32), (64,)])
    r = tensor(rng.standard_normal((10, 8)), "float32")
    got, want = module_outputs(student, reference, "autoencoder.Decoder", (8, 64, 32),
                               "W₁ (H, L), b₁ (H,), W₂ (D, H), b₂ (D,)", w, r, "Decoder(8, 64, hidden_dim=32)")
    assert_close(got["output"], want["output"], name="Decoder(8, 64, hidden_dim=32)(r) with r of shape (10, 8)",
                 rtol=1e-5, atol=1e-5)


@pytest.mark.check(points=2, timeout=30)
def test_bottlenecks_add_noise_values(student, reference, rng):
    """bottlenecks.add_noise: x + σ·ε with ε from the given generator; x unchanged"""
    x = tensor(rng.random((6, 64)), "float32")
    got, want = (side.call("probe:autoencoder:add_noise_seeded", x, 0.3, 1234) for side in (student, reference))
    assert_true(got["input_unchanged"], "add_noise modified its input x in place; return a new tensor instead "
                                        "(x + noise, not x += noise or x.add_(noise))")
    assert_close(got["noisy"], want["noisy"], name="add_noise(x, 0.3, generator seeded 1234) with x of shape (6, 64)",
                 rtol=1e-5, atol=1e-6)


@pytest.mark.check(points=2, timeout=30)
def test_bottlenecks_denoising_loss_values_and_gradients(student, reference, rng):
    """bottlenecks.denoising_loss: d(x, model(x̃)) — corrupted input, clean target"""
    w, b = weights(rng, [(64, 64), (64,)], scale=0.1)
    x = tensor(rng.random((8, 64)), "float32")
    args = (w, b, x, 0.5, 99)
    got, want = (side.call("probe:autoencoder:denoising_with_linear_model", *args) for side in (student, reference))
    assert_true(got["model_calls"] == 1, f"denoising_loss should call the model once, on the corrupted input; "
                                         f"it called it {got['model_calls']} times")
    assert_true(not got["model_saw_clean_x"], "denoising_loss gave the model the clean x: give it the corrupted "
                                              "copy x̃ = add_noise(x, noise_std, generator) instead")
    wrong_target = got["noisy_target_loss"] is not None and close(got["loss"], got["noisy_target_loss"]) \
        and not close(got["loss"], want["loss"])
    assert_true(not wrong_target, "denoising_loss compares the reconstruction with the corrupted x̃; the target "
                                  "must be the clean x — that is what makes copying the input useless")
    name = "denoising_loss(linear model, x (8, 64), noise_std=0.5, generator seeded 99)"
    assert_close(got["loss"], want["loss"], name=name, rtol=1e-4, atol=1e-5)
    assert_true(got["grad_weight"] is not None, f"{name}: no gradient reached the model's weights")
    assert_close(got["grad_weight"], want["grad_weight"], name=f"the gradient of {name} w.r.t. the model's weight",
                 rtol=1e-4, atol=1e-5)


@pytest.mark.check(points=2, timeout=30)
def test_bottlenecks_top_k_values(student, reference, rng):
    """bottlenecks.top_k: keeps the k entries of largest |r| in each row, zeros the rest"""
    r = tensor(rng.standard_normal((8, 32)), "float32")
    got, want = (side.call("bottlenecks.top_k", r, 5) for side in (student, reference))
    assert_close(got, want, name="top_k(r, 5) with r of shape (8, 32), negative entries included", rtol=0, atol=0)


@pytest.mark.check(points=2, timeout=30)
def test_bottlenecks_top_k_gradients(student, reference, rng):
    """bottlenecks.top_k: gradients reach the kept entries of r and no others"""
    r = tensor(rng.standard_normal((4, 16)), "float32")
    grad_out = tensor(rng.standard_normal((4, 16)), "float32")
    got, want = (side.call("probe:autoencoder:top_k_gradient", r, 3, grad_out) for side in (student, reference))
    assert_true(got["grad"] is not None, "no gradient reached r through top_k(r, 3): build the output from r "
                                         "itself (r * mask), without detach() or a new tensor")
    kept = want["output"].values != 0
    leaked = (got["grad"].values != 0) & ~kept
    assert_true(not leaked.any(), f"top_k(r, 3) lets gradient through to {int(leaked.sum())} entries it zeroed; "
                                  "a zeroed entry does not affect the output, so its gradient must be 0")
    assert_close(got["grad"], want["grad"], name="the gradient of (top_k(r, 3) · g).sum() w.r.t. r", rtol=1e-6,
                 atol=1e-7)


@pytest.mark.check(points=1, timeout=30)
def test_bottlenecks_linear_decoder_shapes_and_values(student, reference, rng):
    """bottlenecks.LinearDecoder: one affine map W r + b, for given weights"""
    w = weights(rng, [(64, 8), (64,)])
    r = tensor(rng.standard_normal((10, 8)), "float32")
    got, want = module_outputs(student, reference, "bottlenecks.LinearDecoder", (8, 64), "W (D, L), b (D,)", w, r,
                               "LinearDecoder(8, 64)")
    assert_close(got["output"], want["output"], name="LinearDecoder(8, 64)(r) with r of shape (10, 8)",
                 rtol=1e-5, atol=1e-5)


@pytest.mark.check(points=2, timeout=30)
def test_few_shot_freeze_params_and_mode(student):
    """few_shot.freeze: no parameter requires a gradient, every submodule in eval mode, module returned"""
    got = student.call("probe:autoencoder:freeze_report")
    assert_true(not got["trainable"], f"after freeze, these parameters still require a gradient: {got['trainable']} "
                "(set requires_grad to False on every parameter, e.g. module.requires_grad_(False))")
    assert_true(not got["training"], f"after freeze, these submodules are still in training mode: {got['training']}; "
                "call module.eval() so that dropout stops and BatchNorm stops updating its statistics")
    assert_true(got["returned_same"], "freeze should return the module it froze (the same object)")


@pytest.mark.check(points=2, timeout=30)
def test_few_shot_linear_probe_logits(student, reference, rng):
    """few_shot.LinearProbe: only the head trains; logits = head(frozen encoder(x))"""
    head = weights(rng, [(10, 16), (10,)])
    x = tensor(rng.random((12, 1, 8, 8)), "float32")
    got, want = (side.call("probe:autoencoder:linear_probe_report", 11, 16, 10, head, x)
                 for side in (student, reference))
    assert_true(got["trainable"] == want["trainable"],
                f"LinearProbe(encoder, 16, 10) should have exactly the head's trainable parameters, of shapes "
                f"{want['trainable']}; got {got['trainable']} — is the encoder frozen with freeze(encoder)?")
    assert_true(not got["encoder_training"], f"the probe's encoder is still in training mode "
                                             f"({got['encoder_training']}): freeze it (freeze also calls .eval())")
    assert_close(got["logits"], want["logits"], name="LinearProbe(encoder, 16, 10)(x) with x of shape (12, 1, 8, 8)",
                 rtol=1e-5, atol=1e-5)


@pytest.mark.check(points=3, timeout=60)
def test_few_shot_fit_linear_probe_keeps_encoder_frozen(student, rng):
    """few_shot recipe: fitting the probe changes the head and nothing in the encoder (parameters, buffers)"""
    x = tensor(rng.random((30, 64)), "float32")
    y = tensor(np.repeat(np.arange(3), 10), "int64")
    got = student.call("probe:autoencoder:recipe_keeps_encoder_frozen", 12, 16, x, y, 20)
    assert_true(not got["changed"], f"fitting the probe changed the encoder's {got['changed']}; a frozen encoder "
                                    "must stay exactly as it was (names: 1 = the Linear, 2 = the BatchNorm)")
    assert_true(not got["with_grad"], f"encoder parameters {got['with_grad']} received a gradient while the probe "
                                      "was fitted; no gradient should reach a frozen encoder")
    assert_true(not got["requires_grad"], f"encoder parameters {got['requires_grad']} still require a gradient")
    assert_true(got["head_changed"], "fit_linear_probe left the head's parameters unchanged: it should train them")
    assert_equal(got["curve_length"], 20, name="len(fit_linear_probe(probe, x, y, steps=20))")


@pytest.mark.check(points=2, timeout=60)
def test_few_shot_fit_linear_probe_accuracy(student, reference):
    """few_shot recipe: 10 digits per class on raw pixels reach at least the reference − 0.05 accuracy"""
    got, want = (side.call("probe:autoencoder:digits_accuracy", 10, 0) for side in (student, reference))
    bound = want["accuracy"] - 0.05
    assert_true(got["accuracy"] >= bound,
                f"a linear probe on raw pixels, fitted with fit_linear_probe's defaults on 10 digits per class, "
                f"reached accuracy {got['accuracy']:.3f} on the other digits; the reference reaches "
                f"{want['accuracy']:.3f}, and at least {bound:.3f} is expected (Adam, cross-entropy on logits, "
                "all `steps` steps at learning rate `lr`)")

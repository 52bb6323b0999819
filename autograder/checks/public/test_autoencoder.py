"""Section 1 — autoencoders: public checks (students run these with `python -m autograder check`)."""

import numpy as np
import pytest

from autograder.checks import assert_close, assert_equal, assert_true, tensor, weights
from autograder.client import StudentError


class YourCode:
    """The ``student`` fixture, saying "your code" where an error would name the check's helper that called it.

    A probe (a helper of the checks, run next to your code) calls your functions; when one of them raises, the
    message names the probe, which means nothing to you. The check's own name says which function is tested,
    and the message's "at pretraining/…" line points at your code."""

    def __init__(self, inner):
        self.inner = inner

    def call(self, name: str, *args, **kwargs):
        try:
            return self.inner.call(name, *args, **kwargs)
        except StudentError as exc:
            helper = name.split(":", 2)[2] if name.startswith("probe:") else None
            if helper is None or helper not in exc.message:
                raise
            message = exc.message.replace(f"{helper} raised", "your code raised").replace(helper, "this check")
            raise StudentError(exc.kind, message) from None


@pytest.fixture
def student(student):
    """The conftest's ``student``, wrapped in :class:`YourCode` (used by every check of sections 1 and 2)."""
    return YourCode(student)


def close(a, b, rtol=1e-5) -> bool:
    """Two returned scalars (0-dim arrays) agree."""
    return bool(np.isclose(a.values, b.values, rtol=rtol, atol=1e-6))


@pytest.mark.check(points=3, timeout=30)
def test_reconstruction_loss_values(student, reference, rng):
    """autoencoder.reconstruction_loss: mean and per-example sums, flat and (C, H, W) inputs; gradient w.r.t. x_hat"""
    for shape, reduction, dtype in (((16, 64), "mean", "float32"), ((5, 3, 5, 7), "none", "float64"),
                                    ((1, 10), "none", "float32"), ((4, 2, 3, 3), "mean", "float32")):
        x = tensor(rng.random(shape), dtype)
        x_hat = tensor(rng.random(shape), dtype)
        name = f"reconstruction_loss(x, x_hat, reduction={reduction!r}) with x of shape {shape} {dtype}"
        got, want = (side.call("probe:autoencoder:loss_gradient", x, x_hat, reduction) for side in (student, reference))
        assert_close(got["loss"], want["loss"], name=name, rtol=1e-5)
        assert_true(got["grad"] is not None, f"{name}: no gradient reached x_hat; the loss must be differentiable "
                                             "with respect to x_hat (no detach(), no .item(), no numpy)")
        assert_close(got["grad"], want["grad"], name=f"the gradient of {name} (summed) w.r.t. x_hat", rtol=1e-5,
                     atol=1e-7)


ENCODER_SHAPES = "W₁ (H, D), b₁ (H,), W₂ (L, H), b₂ (L,)"  # Encoder(D, L, hidden_dim=H)'s parameters, in order
DECODER_SHAPES = "W₁ (H, L), b₁ (H,), W₂ (D, H), b₂ (D,)"  # Decoder(L, D, hidden_dim=H)'s


def check_module(student, reference, cls, init, kwargs, shapes, what, w, x, g):
    """Build ``cls(*init, **kwargs)`` on both sides; parameter shapes, output and every parameter's gradient."""
    got, want = (side.call("probe:autoencoder:module_with_weights", cls, list(init), kwargs, w, x, g)
                 for side in (student, reference))
    assert_true(got["shapes"] == want["shapes"],
                f"{what} should have parameters of shapes {want['shapes']}, in this order ({shapes}); "
                f"got {got['shapes']}")
    name = f"{what}(x) with x of shape {x.shape}"
    assert_close(got["output"], want["output"], name=name, rtol=1e-5, atol=1e-5)
    assert_true(all(v is not None for v in got["grads"]), f"{name}: no gradient reached some parameters "
                "(is the output detached, or computed under torch.no_grad()?)")
    assert_close(got["grads"], want["grads"], name=f"the gradients of the parameters of {name}", rtol=1e-4, atol=1e-5)


@pytest.mark.check(points=2, timeout=30)
def test_encoder_shapes_and_values(student, reference, rng):
    """autoencoder.Encoder: parameter shapes, r and gradients for given weights on flat inputs and (C, H, W) images"""
    for (d, latent, hidden), x_shape in (((64, 8, 32), (10, 64)), ((105, 6, 9), (4, 3, 5, 7)),
                                         ((16, 3, 5), (1, 1, 4, 4))):
        w = weights(rng, [(hidden, d), (hidden,), (latent, hidden), (latent,)])
        x = tensor(rng.random(x_shape), "float32")
        g = tensor(rng.standard_normal((x_shape[0], latent)), "float32")
        check_module(student, reference, "autoencoder.Encoder", (d, latent), {"hidden_dim": hidden},
                     ENCODER_SHAPES, f"Encoder({d}, {latent}, hidden_dim={hidden})",
                     w, x, g)


@pytest.mark.check(points=2, timeout=30)
def test_decoder_shapes_and_values(student, reference, rng):
    """autoencoder.Decoder: parameter shapes, x̂ (B, D) and gradients for given weights"""
    for latent, d, hidden, batch in ((8, 64, 32, 10), (3, 105, 7, 1)):
        w = weights(rng, [(hidden, latent), (hidden,), (d, hidden), (d,)])
        r = tensor(rng.standard_normal((batch, latent)), "float32")
        g = tensor(rng.standard_normal((batch, d)), "float32")
        check_module(student, reference, "autoencoder.Decoder", (latent, d), {"hidden_dim": hidden},
                     DECODER_SHAPES, f"Decoder({latent}, {d}, hidden_dim={hidden})",
                     w, r, g)


@pytest.mark.check(points=2, timeout=30)
def test_bottlenecks_add_noise_values(student, reference, rng):
    """bottlenecks.add_noise: x + σ·ε with ε from the given generator, in x's dtype, fresh each call; x unchanged"""
    for shape, dtype, sigma, seed in (((6, 64), "float32", 0.3, 1234), ((3, 1, 5, 5), "float64", 1.5, 7)):
        x = tensor(rng.random(shape), dtype)
        got, want = (side.call("probe:autoencoder:add_noise_seeded", x, sigma, seed) for side in (student, reference))
        assert_true(got["input_unchanged"], "add_noise modified its input x in place; return a new tensor instead "
                                            "(x + noise, not x += noise or x.add_(noise))")
        assert_close(got["noisy"], want["noisy"], name=f"add_noise(x, {sigma}, generator seeded {seed}) with x of "
                     f"shape {shape} {dtype} (draw ε with the exact torch.randn call of the docstring)",
                     rtol=1e-5, atol=1e-6)
    stats = student.call("probe:autoencoder:noise_statistics", tensor(rng.random((4, 16)), "float32"), 0.5, 3)
    assert_true(stats["fresh"], "two calls of add_noise with the same generator gave the same noise; draw new noise "
                                "from the generator on every call")
    assert_true(stats["zero_std_is_identity"], "add_noise(x, 0.0) should return x unchanged")


@pytest.mark.check(points=2, timeout=30)
def test_bottlenecks_denoising_loss_values_and_gradients(student, reference, rng):
    """bottlenecks.denoising_loss: d(x, model(x̃)) — corrupted input, clean target; flat inputs and float64 images"""
    for shape, dtype, sigma, seed in (((8, 64), "float32", 0.5, 99), ((3, 2, 3, 3), "float64", 0.2, 5)):
        d = int(np.prod(shape[1:]))
        w, b = weights(rng, [(d, d), (d,)], scale=0.1, dtype=dtype)
        x = tensor(rng.random(shape), dtype)
        got, want = (side.call("probe:autoencoder:denoising_with_linear_model", w, b, x, sigma, seed)
                     for side in (student, reference))
        assert_true(got["model_calls"] == 1, f"denoising_loss should call the model once, on the corrupted input; "
                                             f"it called it {got['model_calls']} times")
        assert_true(not got["model_saw_clean_x"], "denoising_loss gave the model the clean x: give it the corrupted "
                                                  "copy x̃ = add_noise(x, noise_std, generator) instead")
        wrong_target = got["noisy_target_loss"] is not None and close(got["loss"], got["noisy_target_loss"]) \
            and not close(got["loss"], want["loss"])
        assert_true(not wrong_target, "denoising_loss compares the reconstruction with the corrupted x̃; the target "
                                      "must be the clean x — that is what makes copying the input useless")
        name = f"denoising_loss(linear model, x {shape} {dtype}, noise_std={sigma}, generator seeded {seed})"
        tol = dict(rtol=1e-4, atol=1e-5) if dtype == "float32" else dict(rtol=1e-9, atol=1e-12)
        assert_close(got["loss"], want["loss"], name=name, **tol)
        assert_true(got["grad_weight"] is not None, f"{name}: no gradient reached the model's weights")
        assert_close(got["grad_weight"], want["grad_weight"], name=f"the gradient of {name} w.r.t. the model's weight",
                     **tol)


@pytest.mark.check(points=2, timeout=30)
def test_bottlenecks_top_k_values(student, reference, rng):
    """bottlenecks.top_k: keeps the k entries of largest |r| along the last dimension of each row, zeros the rest"""
    for shape, k, dtype in (((8, 32), 5, "float32"), ((3, 5, 12), 2, "float64"), ((1, 7), 7, "float32"),
                            ((4, 9), 1, "float32")):
        r = tensor(rng.standard_normal(shape), dtype)
        got, want = (side.call("bottlenecks.top_k", r, k) for side in (student, reference))
        assert_close(got, want, name=f"top_k(r, {k}) with r of shape {shape} {dtype}, negative entries included",
                     rtol=0, atol=0)


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


@pytest.mark.check(points=2, timeout=30)
def test_bottlenecks_linear_decoder_shapes_and_values(student, reference, rng):
    """bottlenecks.LinearDecoder: one affine map W r + b, for given weights; gradients"""
    for latent, d, batch in ((8, 64, 10), (3, 50, 1)):
        w = weights(rng, [(d, latent), (d,)])
        r = tensor(3 * rng.standard_normal((batch, latent)), "float32")
        g = tensor(rng.standard_normal((batch, d)), "float32")
        check_module(student, reference, "bottlenecks.LinearDecoder", (latent, d), {}, "W (D, L), b (D,)",
                     f"LinearDecoder({latent}, {d})", w, r, g)


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
    """few_shot.fit_linear_probe: fitting a LinearProbe changes its head and nothing in the encoder"""
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
    """few_shot.fit_linear_probe: 10 digits per class on raw pixels reach at least the reference − 0.05 accuracy"""
    got, want = (side.call("probe:autoencoder:digits_accuracy", 10, 0) for side in (student, reference))
    bound = want["accuracy"] - 0.05
    assert_true(got["accuracy"] >= bound,
                f"a linear probe on raw pixels, fitted with fit_linear_probe's defaults on 10 digits per class, "
                f"reached accuracy {got['accuracy']:.3f} on the other digits; the reference reaches "
                f"{want['accuracy']:.3f}, and at least {bound:.3f} is expected (Adam, cross-entropy on logits, "
                "all `steps` steps at learning rate `lr`)")


@pytest.mark.check(points=2, timeout=60)
def test_few_shot_fit_linear_probe_loss_curve(student, reference, rng):
    """few_shot.fit_linear_probe: full-batch Adam on the cross-entropy, given steps and lr; loss curve, final head"""
    w, b = weights(rng, [(5, 64), (5,)], scale=0.1)
    x = tensor(rng.random((25, 64)), "float32")
    y = tensor(np.repeat(np.arange(5), 5), "int64")
    got, want = (side.call("probe:autoencoder:fit_curve", w, b, x, y, 15, 0.05) for side in (student, reference))
    name = "fit_linear_probe(probe, x (25, 64), y, steps=15, lr=0.05)"
    assert_close(got["curve"], want["curve"], name=f"the loss curve of {name} (the cross-entropy before each step)",
                 rtol=1e-4, atol=1e-5)
    assert_close(got["weight"], want["weight"], name=f"the head's weight after {name}", rtol=1e-4, atol=1e-5)
    assert_close(got["bias"], want["bias"], name=f"the head's bias after {name}", rtol=1e-4, atol=1e-5)

"""Section 3 — autoregressive models: the causal mask, causal attention and the next-token loss (public checks).

Inputs vary per check: several shapes (B = 1 and > 1, odd sizes, T = 1), right and left padding, and both
tiny model layouts (GPT-2 and Llama), so code that is right only on one shape cannot pass.
"""

import numpy as np
import pytest

from autograder.checks import assert_close, assert_equal, assert_true, attention_mask, tensor, token_ids

ATTENTION_SHAPES = [(2, 3, 6, 4), (1, 1, 1, 8), (3, 2, 7, 5), (1, 4, 9, 3)]  # (B, H, T, Dh)


@pytest.mark.check(points=1, timeout=30)
def test_causal_mask(student, reference):
    """autoregressive.causal_mask: position i may attend to positions j ≤ i"""
    for T in (1, 2, 5, 9):
        args = (T, "cpu") if T == 5 else (T,)
        assert_equal(student.call("autoregressive.causal_mask", *args), reference.call("autoregressive.causal_mask", *args),
                     name=f"causal_mask({', '.join(map(repr, args))})")


@pytest.mark.check(points=2, timeout=30)
def test_causal_attention(student, reference, rng):
    """autoregressive.causal_attention: softmax(q kᵀ/√Dh + M) v, written out, on several (B, H, T, Dh)"""
    for shape in ATTENTION_SHAPES:
        q, k, v = (tensor(rng.standard_normal(shape), "float32") for _ in range(3))
        assert_close(student.call("probe:autoregressive:causal_attention", q, k, v),
                     reference.call("probe:autoregressive:causal_attention", q, k, v),
                     name=f"causal_attention(q, k, v of shape {shape})", rtol=1e-4, atol=1e-5)


@pytest.mark.check(points=2, timeout=30)
def test_next_token_loss(student, reference, rng):
    """autoregressive.next_token_loss: the shifted cross-entropy on batches without padding"""
    for B, T, V in [(3, 8, 11), (1, 2, 5), (2, 13, 7)]:
        logits = tensor(rng.standard_normal((B, T, V)), "float32")
        ids = tensor(rng.integers(0, V, (B, T)), "int64")
        assert_close(student.call("autoregressive.next_token_loss", logits, ids),
                     reference.call("autoregressive.next_token_loss", logits, ids),
                     name=f"next_token_loss(logits {(B, T, V)}, input_ids {(B, T)})", rtol=1e-5)


def padded_batch(rng, B, T, V, side):
    mask = attention_mask(rng, B, T, side)
    return (tensor(rng.standard_normal((B, T, V)), "float32"), tensor(token_ids(rng, B, T, V, mask), "int64"),
            tensor(mask, "int64"))


@pytest.mark.check(points=2, timeout=30)
@pytest.mark.parametrize("side", ["right", "left"])
def test_next_token_loss_ignores_padding(student, reference, rng, side):
    """autoregressive.next_token_loss: padding is never a target; the mean is over the counted targets"""
    for B, T, V in [(4, 9, 13), (3, 5, 6)]:
        logits, ids, mask = padded_batch(rng, B, T, V, side)
        assert_close(student.call("autoregressive.next_token_loss", logits, ids, mask),
                     reference.call("autoregressive.next_token_loss", logits, ids, mask),
                     name=f"next_token_loss(logits, input_ids, attention_mask) with {side} padding, (B, T) = {(B, T)}",
                     rtol=1e-5)


@pytest.mark.check(points=1, timeout=30)
def test_next_token_loss_gradient(student, reference, rng):
    """autoregressive.next_token_loss: no gradient reaches the last position or positions before padding"""
    for side in ("right", "left"):
        logits, ids, mask = padded_batch(rng, 4, 9, 13, side)
        got = student.call("probe:autoregressive:next_token_loss", logits, ids, mask, gradient=True)
        want = reference.call("probe:autoregressive:next_token_loss", logits, ids, mask, gradient=True)
        silent = np.abs(want.values).sum(-1) == 0  # (B, T): positions whose prediction is not a target
        assert_true(np.abs(got.values).sum(-1)[silent].max() == 0,
                    f"next_token_loss ({side} padding) sends gradient to positions that predict nothing: the last "
                    "position of a row (no next token) or positions whose next token is padding")
        assert_close(got, want, name=f"d next_token_loss / d logits ({side} padding)", rtol=1e-4, atol=1e-7)


@pytest.mark.check(points=2, timeout=120)
def test_masked_autoencoder_loss(student, reference, rng):
    """autoregressive.masked_autoencoder_loss: T−1 masked passes whose mean equals the one-pass loss"""
    ids = tensor(rng.integers(1, 50, (2, 10)), "int64")
    got = student.call("probe:autoregressive:masked_autoencoder_loss", 3, ids)
    want = reference.call("probe:autoregressive:masked_autoencoder_loss", 3, ids)
    assert_close(got["masked_autoencoder_loss"], want["masked_autoencoder_loss"],
                 name="masked_autoencoder_loss(tiny GPT-2, input_ids (2, 10))", rtol=1e-4)
    assert_close(got["masked_autoencoder_loss"], got["next_token_loss"],
                 name="masked_autoencoder_loss vs your next_token_loss on the same model", rtol=1e-4)
    assert_true(got["passes"] == want["passes"],
                f"masked_autoencoder_loss ran the model {got['passes']} time(s) on input_ids of length 10; it should "
                f"run one masked pass per target position t = 1 … T−1, i.e. {want['passes']} passes (the one-pass "
                "loss is what it is compared with, not how it is computed)")

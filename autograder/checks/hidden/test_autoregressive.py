"""Section 3 — autoregressive models: hidden checks (the public behaviours on other shapes and layouts)."""

import pytest

from autograder.checks import assert_close, assert_equal, assert_true, attention_mask, tensor, token_ids


@pytest.mark.check(points=1, timeout=30)
def test_causal_attention_other_shapes(student, reference, rng):
    """autoregressive.causal_mask and causal_attention: other sizes (T = 16, Dh = 1, B = 5)"""
    assert_equal(student.call("autoregressive.causal_mask", 16), reference.call("autoregressive.causal_mask", 16),
                 name="causal_mask(16)")
    for shape in [(5, 2, 16, 1), (2, 1, 3, 7)]:
        q, k, v = (tensor(3 * rng.standard_normal(shape), "float32") for _ in range(3))
        assert_close(student.call("probe:autoregressive:causal_attention", q, k, v),
                     reference.call("probe:autoregressive:causal_attention", q, k, v),
                     name=f"causal_attention(q, k, v of shape {shape})", rtol=1e-4, atol=1e-5)


@pytest.mark.check(points=1, timeout=30)
def test_next_token_loss_other_padding(student, reference, rng):
    """autoregressive.next_token_loss: other padded batches (rows of one real token, both sides)"""
    for side, (B, T, V) in [("right", (5, 7, 9)), ("left", (6, 4, 17))]:
        mask = attention_mask(rng, B, T, side)
        logits = tensor(rng.standard_normal((B, T, V)), "float32")
        ids = tensor(token_ids(rng, B, T, V, mask), "int64")
        mask = tensor(mask, "int64")
        assert_close(student.call("autoregressive.next_token_loss", logits, ids, mask),
                     reference.call("autoregressive.next_token_loss", logits, ids, mask),
                     name=f"next_token_loss with {side} padding, (B, T, V) = {(B, T, V)}", rtol=1e-5)


@pytest.mark.check(points=2, timeout=120)
@pytest.mark.parametrize("layout", ["llama", "gpt2"])
def test_masked_autoencoder_loss_other_inputs(student, reference, rng, layout):
    """autoregressive.masked_autoencoder_loss: other lengths and a Llama-layout model (rotary positions)"""
    for B, T in [(3, 7), (1, 2)]:
        ids = tensor(rng.integers(1, 50, (B, T)), "int64")
        got = student.call("probe:autoregressive:masked_autoencoder_loss", 5, ids, layout)
        want = reference.call("probe:autoregressive:masked_autoencoder_loss", 5, ids, layout)
        assert_close(got["masked_autoencoder_loss"], want["masked_autoencoder_loss"],
                     name=f"masked_autoencoder_loss(tiny {layout}, input_ids {(B, T)})", rtol=1e-4)
        assert_true(got["passes"] == want["passes"],
                    f"masked_autoencoder_loss ran the model {got['passes']} time(s) on input_ids of length {T}; "
                    f"one masked pass per target position makes {want['passes']}")

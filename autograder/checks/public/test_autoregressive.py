"""Section 3 — autoregressive models: the causal mask and the next-token loss (public checks)."""

import pytest

from autograder.checks import assert_close, assert_equal, tensor


@pytest.mark.check(points=1, timeout=30)
def test_causal_mask(student, reference):
    """autoregressive.causal_mask: position i may attend to positions j ≤ i"""
    assert_equal(student.call("autoregressive.causal_mask", 5), reference.call("autoregressive.causal_mask", 5),
                 name="causal_mask(5)")


@pytest.mark.check(points=2, timeout=30)
def test_causal_attention(student, reference, rng):
    """autoregressive.causal_attention: matches the reference on random q, k, v of shape (2, 3, 6, 4)"""
    q, k, v = (tensor(rng.standard_normal((2, 3, 6, 4)), "float32") for _ in range(3))
    assert_close(student.call("autoregressive.causal_attention", q, k, v),
                 reference.call("autoregressive.causal_attention", q, k, v),
                 name="causal_attention(q, k, v)", rtol=1e-4, atol=1e-5)


@pytest.mark.check(points=2, timeout=30)
def test_next_token_loss(student, reference, rng):
    """autoregressive.next_token_loss: the shifted cross-entropy on a batch without padding"""
    logits = tensor(rng.standard_normal((3, 8, 11)), "float32")
    ids = tensor(rng.integers(0, 11, (3, 8)), "int64")
    assert_close(student.call("autoregressive.next_token_loss", logits, ids),
                 reference.call("autoregressive.next_token_loss", logits, ids),
                 name="next_token_loss(logits (3, 8, 11), input_ids (3, 8))", rtol=1e-5)

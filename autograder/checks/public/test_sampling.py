"""Section 3 — sampling: filters and greedy decoding (public checks)."""

import pytest

from autograder.checks import assert_close, assert_equal, tensor


@pytest.mark.check(points=1, timeout=30)
def test_top_k_filter(student, reference, rng):
    """sampling.top_k_filter: keeps the k largest logits of each row, the rest become -inf"""
    logits = tensor(rng.standard_normal((4, 20)), "float32")
    assert_close(student.call("sampling.top_k_filter", logits, 5), reference.call("sampling.top_k_filter", logits, 5),
                 name="top_k_filter(logits (4, 20), k=5)", rtol=0, atol=0)


@pytest.mark.check(points=1, timeout=30)
def test_top_p_filter(student, reference, rng):
    """sampling.top_p_filter: keeps the nucleus of probability mass p, the rest become -inf"""
    logits = tensor(2 * rng.standard_normal((4, 20)), "float32")
    assert_close(student.call("sampling.top_p_filter", logits, 0.7),
                 reference.call("sampling.top_p_filter", logits, 0.7),
                 name="top_p_filter(logits (4, 20), p=0.7)", rtol=0, atol=0)


@pytest.mark.check(points=1, timeout=30)
def test_temperature_zero_is_greedy(student, reference, rng):
    """sampling.sample_next_token: temperature 0 returns the argmax of each row"""
    logits = tensor(rng.standard_normal((6, 30)), "float32")
    assert_equal(student.call("sampling.sample_next_token", logits, 0.0),
                 reference.call("sampling.sample_next_token", logits, 0.0),
                 name="sample_next_token(logits (6, 30), temperature=0)")

"""Section 3 — the KV cache (public checks)."""

import pytest

from autograder.checks import assert_equal, tensor


@pytest.mark.check(points=2, timeout=60)
def test_cached_greedy_matches(student, reference, rng):
    """kv_cache.generate_with_cache: greedy tokens equal the reference on a tiny GPT-2"""
    ids = tensor(rng.integers(1, 50, (3, 6)), "int64")
    assert_equal(student.call("probe:autoregressive:generate", 0, ids, None, 12),
                 reference.call("probe:autoregressive:generate", 0, ids, None, 12),
                 name="generate_with_cache(tiny GPT-2, prompts (3, 6), 12 new tokens)")


@pytest.mark.check(points=1, timeout=60)
def test_cache_feeds_only_the_newest_token(student, reference, rng):
    """kv_cache.generate_with_cache: after the prompt, each step feeds the model one position"""
    ids = tensor(rng.integers(1, 50, (2, 7)), "int64")
    got = student.call("probe:autoregressive:fed_lengths", 0, ids, 5)
    assert_equal(got, reference.call("probe:autoregressive:fed_lengths", 0, ids, 5),
                 name="positions given to the model at each call (prompt of 7, then 5 steps)")

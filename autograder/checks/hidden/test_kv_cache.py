"""Section 3 — the KV cache: hidden checks."""

import numpy as np
import pytest

from autograder.checks import assert_equal, tensor


@pytest.mark.check(points=2, timeout=60)
def test_cached_greedy_with_left_padding(student, reference, rng):
    """kv_cache.generate_with_cache: left-padded prompts of different lengths decode like the reference"""
    ids = rng.integers(1, 50, (3, 8))
    mask = np.ones((3, 8), dtype=np.int64)
    mask[1, :3] = 0
    mask[2, :6] = 0
    ids[mask == 0] = 0
    ids, mask = tensor(ids, "int64"), tensor(mask, "int64")
    assert_equal(student.call("probe:autoregressive:generate", 1, ids, mask, 10),
                 reference.call("probe:autoregressive:generate", 1, ids, mask, 10),
                 name="generate_with_cache(tiny GPT-2, left-padded prompts (3, 8), 10 new tokens)")

"""Section 3 — the KV cache: hidden checks (the public behaviours on other batches, lengths and models)."""

import pytest

from autograder.checks import assert_equal, assert_true, attention_mask, tensor, token_ids


@pytest.mark.check(points=2, timeout=90)
@pytest.mark.parametrize("layout", ["gpt2", "llama"])
def test_cached_generation_other_batches(student, reference, rng, layout):
    """kv_cache.generate_with_cache: other left-padded batches, one new token, and the cost of each call"""
    for B, T, n in [(4, 5, 7), (2, 9, 1)]:
        mask = attention_mask(rng, B, T, "left")
        ids, mask = tensor(token_ids(rng, B, T, 50, mask), "int64"), tensor(mask, "int64")
        assert_equal(student.call("probe:autoregressive:generate_with_cache", 4, ids, mask, n, layout),
                     reference.call("probe:autoregressive:generate_with_cache", 4, ids, mask, n, layout),
                     name=f"generate_with_cache(tiny {layout}, left-padded prompts {(B, T)}, {n} new tokens)")
        got = student.call("probe:autoregressive:generate_with_cache", 4, ids, mask, n, layout, report="cost")
        want = reference.call("probe:autoregressive:generate_with_cache", 4, ids, mask, n, layout, report="cost")
        assert_true(got["layers"] == want["layers"],
                    f"positions given to each attention layer: {got['layers']}, with the cache {want['layers']}")

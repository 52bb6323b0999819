"""Section 3 — the KV cache (public checks), on tiny GPT-2 (absolute positions) and Llama (rotary) models.

What the loop costs is measured where it happens: every attention layer records the positions it is given at
each call, so a loop that recomputes the prefix through a submodule is seen; the model's own ``generate``
raises while your code runs.
"""

import numpy as np
import pytest

from autograder.checks import assert_equal, assert_true, attention_mask, tensor, token_ids

LAYOUTS = ["gpt2", "llama"]


def left_padded(rng, B, T):
    mask = attention_mask(rng, B, T, "left", min_length=2)
    return tensor(token_ids(rng, B, T, 50, mask), "int64"), tensor(mask, "int64")


@pytest.mark.check(points=1, timeout=60)
@pytest.mark.parametrize("layout", LAYOUTS)
def test_cached_greedy_matches(student, reference, rng, layout):
    """kv_cache.generate_with_cache: greedy tokens equal the reference (one prompt, and a batch)"""
    for B, T, n in [(3, 6, 12), (1, 4, 5)]:
        ids = tensor(rng.integers(1, 50, (B, T)), "int64")
        assert_equal(student.call("probe:autoregressive:generate_with_cache", 0, ids, None, n, layout),
                     reference.call("probe:autoregressive:generate_with_cache", 0, ids, None, n, layout),
                     name=f"generate_with_cache(tiny {layout}, prompts {(B, T)}, {n} new tokens)")


@pytest.mark.check(points=2, timeout=60)
@pytest.mark.parametrize("layout", LAYOUTS)
def test_cached_greedy_with_left_padding(student, reference, rng, layout):
    """kv_cache.generate_with_cache: left-padded prompts of different lengths decode like the reference"""
    ids, mask = left_padded(rng, 3, 8)
    assert_equal(student.call("probe:autoregressive:generate_with_cache", 1, ids, mask, 10, layout),
                 reference.call("probe:autoregressive:generate_with_cache", 1, ids, mask, 10, layout),
                 name=f"generate_with_cache(tiny {layout}, left-padded prompts (3, 8) with attention_mask, "
                      f"10 new tokens)")


@pytest.mark.check(points=2, timeout=60)
@pytest.mark.parametrize("layout", LAYOUTS)
def test_cache_feeds_only_the_newest_token(student, reference, rng, layout):
    """kv_cache.generate_with_cache: every attention layer gets the prompt once, then one position per step"""
    ids, mask = left_padded(rng, 2, 7)
    got = student.call("probe:autoregressive:generate_with_cache", 0, ids, mask, 5, layout, report="cost")
    want = reference.call("probe:autoregressive:generate_with_cache", 0, ids, mask, 5, layout, report="cost")
    for i, (g, w) in enumerate(zip(got["layers"], want["layers"])):
        assert_true(g == w, f"attention layer {i} was given {g} positions at its successive calls; with the cache it "
                            f"gets the prompt once, then only the newest token: {w} (prompt of 7, 5 new tokens)")
    assert_equal(got["model_calls"], want["model_calls"], name="positions given to model(...) at each call")


@pytest.mark.check(points=1, timeout=60)
def test_choose_decides_the_token(student, reference, rng):
    """kv_cache.generate_with_cache: `choose` picks every token from the (B, V) logits of the last position"""
    ids, mask = left_padded(rng, 3, 6)
    assert_equal(student.call("probe:autoregressive:generate_with_cache", 2, ids, mask, 6, "gpt2", "second"),
                 reference.call("probe:autoregressive:generate_with_cache", 2, ids, mask, 6, "gpt2", "second"),
                 name="generate_with_cache(..., choose=the runner-up token) — every new token must come from choose")
    got = student.call("probe:autoregressive:generate_with_cache", 2, ids, mask, 6, "gpt2", "second", report="cost")
    assert_equal(got["choose_shapes"], [[3, 50]] * 6, name="shapes of the logits given to choose at each step")

"""Section 3 — sampling: the filters, greedy decoding and the sampling distribution (public checks).

Statistical checks draw thousands of tokens per row with a seeded generator and compare the counts with the
probabilities of transformers' own warpers (TemperatureLogitsWarper → TopKLogitsWarper → TopPLogitsWarper),
with bounds derived from the sample size (checks/stats.py).
"""

import numpy as np
import pytest

from autograder.checks import assert_close, assert_equal, assert_true, tensor
from autograder.checks.stats import assert_distribution, check_rate

N = 4000  # draws per row


def with_ties(rng, B, V, k):
    """Rows whose k-th and (k+1)-th largest logits tie (and rounded to one decimal: more ties elsewhere)."""
    values = np.round(rng.standard_normal((B, V)), 1)
    for row in values:
        order = np.argsort(-row, kind="stable")
        row[order[k]] = row[order[k - 1]]
    return values


def check_filter(student, reference, function: str, argument: str, cases) -> None:
    """``sampling.<function>(logits, value)`` for each (logit values, value, dtype) case: exactly the reference's
    (the same logits kept, the same −∞ elsewhere)."""
    for values, value, dtype in cases:
        logits = tensor(values, dtype)
        assert_close(student.call(f"sampling.{function}", logits, value),
                     reference.call(f"sampling.{function}", logits, value),
                     name=f"{function}(logits {values.shape} {dtype}, {argument}={value:g})", rtol=0, atol=0)


@pytest.mark.check(points=1, timeout=30)
def test_top_k_filter(student, reference, rng):
    """sampling.top_k_filter: keeps the k largest logits of each row (ties at the k-th all kept), the rest −∞"""
    cases = [(rng.standard_normal((4, 20)), 5, "float32"), (rng.standard_normal((1, 7)), 1, "float32"),
             (rng.standard_normal((3, 9)), 9, "float32"), (with_ties(rng, 5, 12, 4), 4, "float32"),
             (rng.standard_normal((2, 6)), 2, "float64")]
    check_filter(student, reference, "top_k_filter", "k", cases)


@pytest.mark.check(points=1, timeout=30)
def test_top_p_filter(student, reference, rng):
    """sampling.top_p_filter: keeps the nucleus (mass before a token < p), the rest −∞; tiny p and p = 1 too"""
    cases = [(2 * rng.standard_normal((4, 20)), 0.7, "float32"), (rng.standard_normal((3, 15)), 1e-6, "float32"),
             (rng.standard_normal((3, 15)), 1.0, "float32"), (3 * rng.standard_normal((1, 11)), 0.5, "float64"),
             (2 * rng.standard_normal((5, 9)), 0.9, "float32")]
    check_filter(student, reference, "top_p_filter", "p", cases)


@pytest.mark.check(points=1, timeout=30)
def test_temperature_zero_is_greedy(student, reference, rng):
    """sampling.sample_next_token: temperature 0 returns the argmax of each row, shape (B,) int64"""
    for B, V in [(6, 30), (1, 5), (3, 2)]:
        logits = tensor(rng.standard_normal((B, V)), "float32")
        assert_equal(student.call("sampling.sample_next_token", logits, 0.0),
                     reference.call("sampling.sample_next_token", logits, 0.0),
                     name=f"sample_next_token(logits {(B, V)}, temperature=0)")


@pytest.mark.check(points=1, timeout=30)
def test_sample_shape(student, rng):
    """sampling.sample_next_token: a draw is a (B,) int64 tensor of token ids, with and without filters"""
    for B, V, kwargs in [(4, 10, {}), (1, 6, {"top_k": 3}), (5, 8, {"top_p": 0.8}), (3, 7, {"top_k": 4, "top_p": 0.9})]:
        logits = tensor(rng.standard_normal((B, V)), "float32")
        got = student.call("sampling.sample_next_token", logits, 0.7, **kwargs)
        what = f"sample_next_token(logits {(B, V)}, temperature=0.7{''.join(f', {k}={v}' for k, v in kwargs.items())})"
        assert_true(hasattr(got, "shape") and got.kind == "tensor",
                    f"{what} should return a torch.Tensor of shape ({B},), got {type(got).__name__}")
        assert_true(got.shape == (B,), f"{what} should return shape ({B},) — one token per row — got {got.shape}")
        assert_true(got.dtype == "int64", f"{what} should return int64 token ids, got dtype {got.dtype}")
        assert_true(((got.values >= 0) & (got.values < V)).all(), f"{what} returned ids outside 0 … {V - 1}")


CASES = {  # name: (logit scale, temperature, top_k, top_p)
    "temperature 0.3": (0.3, 0.3, None, None),
    "temperature 2": (2.0, 2.0, None, None),
    "top-k": (1.0, 1.5, 4, None),
    "top-p": (1.5, 0.7, None, 0.8),
    "top-k then top-p": (1.0, 1.3, 6, 0.6),
}


def distribution_check(student, reference, logits, temperature, top_k, top_p, what):
    """Draw N tokens per row with the student's sampler; compare the counts of every row with transformers'."""
    rows = tensor(logits, "float32")
    probabilities = reference.call("probe:autoregressive:hf_distribution", rows, temperature, top_k, top_p).values
    assert_distribution(student.call("probe:autoregressive:sample_next_token", rows, N, 1234, temperature, top_k,
                                     top_p), probabilities, what=what)


@pytest.mark.check(points=1, timeout=60)
@pytest.mark.parametrize("case", list(CASES))
def test_sampling_distribution(student, reference, rng, case):
    """sampling.sample_next_token: per-row frequencies match softmax(logits / T) filtered by top-k, then top-p"""
    scale, temperature, top_k, top_p = CASES[case]
    logits = scale * rng.standard_normal((3, 12))
    what = f"sample_next_token(temperature={temperature:g}, top_k={top_k}, top_p={top_p})"
    distribution_check(student, reference, logits, temperature, top_k, top_p, what)


@pytest.mark.check(points=1, timeout=60)
def test_draws_are_independent(student, reference, rng):
    """sampling.sample_next_token: rows of one call, and successive calls with one generator, draw independently"""
    logits = tensor(0.5 * rng.standard_normal((1, 6)), "float32")
    p = reference.call("probe:autoregressive:hf_distribution", logits).values[0]
    agree = float((p ** 2).sum())  # probability that two independent draws are the same token
    got = student.call("probe:autoregressive:sample_next_token", logits, 6000, 77, report="pairs")
    for key, pairs, what in [("neighbours", "neighbour_pairs", "neighbouring rows of one batch drew the same token"),
                             ("calls", "call_pairs", "two successive calls with one generator drew the same token")]:
        message = check_rate(got[key], got[pairs], agree, what=what)
        assert_true(message is None, f"{message} — draws must be independent (a fresh random number per row and "
                                     "per call, taken from the generator)")


@pytest.mark.check(points=1, timeout=60)
def test_sampling_replays_from_the_generator(student, rng):
    """sampling.sample_next_token: the same generator seed gives the same tokens"""
    logits = tensor(rng.standard_normal((64, 40)), "float32")
    first, second = student.call("probe:autoregressive:sample_next_token", logits, 1, 99, 1.0, None, 0.9,
                                 report="replay")
    assert_equal(second, first, name="second draw with a generator seeded like the first")


@pytest.mark.check(points=1, timeout=60)
def test_low_temperature_tends_to_greedy(student, rng):
    """sampling.sample_next_token: as temperature → 0 every draw is the argmax"""
    logits = np.sort(rng.standard_normal(25))[::-1].copy() + np.linspace(1, 0, 25)  # gaps ≥ 1/24 between logits
    rng.shuffle(logits)
    counts = np.asarray(student.call("probe:autoregressive:sample_next_token", tensor(logits[None], "float32"), 2000,
                                     7, 1e-3))[0]
    best = int(np.argmax(logits))
    assert_true(counts[best] == 2000, f"with temperature=0.001, {2000 - counts[best]} of 2000 draws were not the argmax")

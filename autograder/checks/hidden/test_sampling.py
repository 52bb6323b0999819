"""Section 3 — sampling: hidden checks, statistical ones with bounds from the sample size (checks/stats.py)."""

import numpy as np
import pytest

from autograder.checks import assert_close, assert_equal, assert_true, tensor
from autograder.checks.stats import check_counts

N = 20_000  # draws per statistical check


def softmax(x):
    x = np.where(np.isneginf(x), -np.inf, x.astype(np.float64))
    e = np.exp(x - x.max())
    return e / e.sum()


def distribution_check(student, reference, logits, what, temperature=1.0, **filters):
    """Draw N tokens with the student's sampler; compare counts with the reference's filtered distribution."""
    row = tensor(logits[None], "float32")
    allowed = np.asarray(logits, dtype=np.float64) / temperature
    if "top_k" in filters:
        allowed = reference.call("sampling.top_k_filter", tensor(allowed[None], "float32"), filters["top_k"]).values[0]
    if "top_p" in filters:
        allowed = reference.call("sampling.top_p_filter", tensor(allowed[None], "float32"), filters["top_p"]).values[0]
    probabilities = softmax(allowed)
    counts = np.asarray(student.call("probe:autoregressive:sample_counts", row, N, 1234, temperature=temperature,
                                     **filters))
    outside = np.flatnonzero((probabilities == 0) & (counts > 0))
    assert_true(outside.size == 0, f"{what}: drew token(s) {outside.tolist()[:5]} that the filter excludes "
                                   f"({int(counts[outside].sum())} of {N} draws)")
    message = check_counts(counts, probabilities, what=what)
    assert_true(message is None, message or "")


@pytest.mark.check(points=2, timeout=60)
def test_top_k_sampling_distribution(student, reference, rng):
    """sampling.sample_next_token: top-k draws stay inside the top k, with the renormalised frequencies"""
    distribution_check(student, reference, rng.standard_normal(30), "top_k=5 sampling", top_k=5)


@pytest.mark.check(points=2, timeout=60)
def test_top_p_sampling_distribution(student, reference, rng):
    """sampling.sample_next_token: top-p draws stay inside the nucleus, with the renormalised frequencies"""
    distribution_check(student, reference, 1.5 * rng.standard_normal(30), "top_p=0.8 sampling", top_p=0.8)


@pytest.mark.check(points=1, timeout=60)
def test_temperature_distribution(student, reference, rng):
    """sampling.sample_next_token: temperature 2 samples from softmax(logits / 2)"""
    distribution_check(student, reference, 2 * rng.standard_normal(12), "temperature=2 sampling", temperature=2.0)


@pytest.mark.check(points=1, timeout=60)
def test_low_temperature_tends_to_greedy(student, reference, rng):
    """sampling.sample_next_token: as temperature → 0 every draw is the argmax"""
    logits = np.sort(rng.standard_normal(25))[::-1].copy() + np.linspace(1, 0, 25)  # gaps ≥ 1/24 between logits
    rng.shuffle(logits)
    counts = student.call("probe:autoregressive:sample_counts", tensor(logits[None], "float32"), 2000, 7,
                          temperature=1e-3)
    assert_true(counts[int(np.argmax(logits))] == 2000,
                f"with temperature=0.001, {2000 - counts[int(np.argmax(logits))]} of 2000 draws were not the argmax")


@pytest.mark.check(points=1, timeout=60)
def test_sampling_replays_from_the_generator(student, rng):
    """sampling.sample_next_token: the same generator seed gives the same tokens"""
    logits = tensor(rng.standard_normal((64, 40)), "float32")
    first, second = student.call("probe:autoregressive:replay", logits, 99, 1.0, top_p=0.9)
    assert_equal(second, first, name="second draw with a generator seeded like the first")


@pytest.mark.check(points=1, timeout=30)
def test_top_p_extremes(student, reference, rng):
    """sampling.top_p_filter: a tiny p keeps only the most likely token; p = 1 keeps every token"""
    logits = tensor(rng.standard_normal((3, 15)), "float32")
    for p in (1e-6, 1.0):
        assert_close(student.call("sampling.top_p_filter", logits, p), reference.call("sampling.top_p_filter", logits, p),
                     name=f"top_p_filter(logits, p={p:g})", rtol=0, atol=0)

"""Section 3 — sampling: hidden checks (the public behaviours on other rows, sizes and settings)."""

import numpy as np
import pytest

from autograder.checks import assert_close, tensor
from autograder.checks.stats import assert_distribution

N = 4000  # draws per row


@pytest.mark.check(points=1, timeout=30)
def test_filters_other_rows(student, reference, rng):
    """sampling.top_k_filter and top_p_filter: other sizes, ties and settings"""
    for values, k in [(rng.standard_normal((7, 31)), 3), (np.round(rng.standard_normal((4, 9)), 0), 2)]:
        logits = tensor(values, "float32")
        assert_close(student.call("sampling.top_k_filter", logits, k), reference.call("sampling.top_k_filter", logits, k),
                     name=f"top_k_filter(logits {values.shape}, k={k})", rtol=0, atol=0)
    for values, p in [(3 * rng.standard_normal((6, 25)), 0.3), (rng.standard_normal((2, 4)), 0.95)]:
        logits = tensor(values, "float32")
        assert_close(student.call("sampling.top_p_filter", logits, p), reference.call("sampling.top_p_filter", logits, p),
                     name=f"top_p_filter(logits {values.shape}, p={p:g})", rtol=0, atol=0)


@pytest.mark.check(points=2, timeout=90)
@pytest.mark.parametrize("temperature,top_k,top_p", [(0.4, None, None), (0.6, 8, 0.9), (1.7, None, 0.5)])
def test_sampling_distribution_other_rows(student, reference, rng, temperature, top_k, top_p):
    """sampling.sample_next_token: per-row frequencies on other rows and vocabulary sizes"""
    rows = tensor(0.8 * rng.standard_normal((4, 17)), "float32")
    probabilities = reference.call("probe:autoregressive:hf_distribution", rows, temperature, top_k, top_p).values
    assert_distribution(student.call("probe:autoregressive:sample_next_token", rows, N, 4321, temperature, top_k,
                                     top_p), probabilities,
                        what=f"sample_next_token(temperature={temperature:g}, top_k={top_k}, top_p={top_p})")

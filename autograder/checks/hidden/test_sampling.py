"""Section 3 — sampling: hidden checks (the public behaviours on other rows, sizes and settings)."""

import numpy as np
import pytest

from autograder.checks import tensor
from autograder.checks.public.test_sampling import N, check_filter
from autograder.checks.stats import assert_distribution


@pytest.mark.check(points=1, timeout=30)
def test_filters_other_rows(student, reference, rng):
    """sampling.top_k_filter and top_p_filter: other sizes, ties and settings"""
    check_filter(student, reference, "top_k_filter", "k", [(rng.standard_normal((7, 31)), 3, "float32"),
                                                          (np.round(rng.standard_normal((4, 9)), 0), 2, "float32")])
    check_filter(student, reference, "top_p_filter", "p",
                 [(3 * rng.standard_normal((6, 25)), 0.3, "float32"), (rng.standard_normal((2, 4)), 0.95, "float32")])


@pytest.mark.check(points=2, timeout=90)
@pytest.mark.parametrize("temperature,top_k,top_p", [(0.4, None, None), (0.6, 8, 0.9), (1.7, None, 0.5)])
def test_sampling_distribution_other_rows(student, reference, rng, temperature, top_k, top_p):
    """sampling.sample_next_token: per-row frequencies on other rows and vocabulary sizes"""
    rows = tensor(0.8 * rng.standard_normal((4, 17)), "float32")
    probabilities = reference.call("probe:autoregressive:hf_distribution", rows, temperature, top_k, top_p).values
    assert_distribution(student.call("probe:autoregressive:sample_next_token", rows, N, 4321, temperature, top_k,
                                     top_p), probabilities,
                        what=f"sample_next_token(temperature={temperature:g}, top_k={top_k}, top_p={top_p})")

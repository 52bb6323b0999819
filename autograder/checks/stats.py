"""Bounds for statistical checks, derived from the sample size.

A count c of n independent draws with probability p is Binomial(n, p): mean n·p, standard deviation
σ = √(n·p·(1−p)). A check allows |c − n·p| ≤ 5σ + 1 (the +1 absorbs rounding for tiny p): a correct
implementation fails one such comparison with probability < 6·10⁻⁷, so a check of a few hundred
counts fails a correct submission less than once in ten thousand gradings — while a wrong distribution
over tens of thousands of draws lands far outside.
"""

from __future__ import annotations

import numpy as np

SIGMAS = 5.0


def binomial_slack(n: int, p) -> np.ndarray:
    """The allowed |count − n·p| for n draws of probability p (elementwise)."""
    p = np.asarray(p, dtype=np.float64)
    return SIGMAS * np.sqrt(n * p * (1 - p)) + 1.0


def check_counts(counts, probabilities, *, what: str) -> str | None:
    """None if every count is within its bound, else a message naming the worst token."""
    counts, probabilities = np.asarray(counts, dtype=np.float64), np.asarray(probabilities, dtype=np.float64)
    n = counts.sum()
    excess = np.abs(counts - n * probabilities) - binomial_slack(int(n), probabilities)
    if (excess <= 0).all():
        return None
    i = int(np.argmax(excess))
    return (f"{what}: token {i} was drawn {int(counts[i])} times out of {int(n)}, expected {n * probabilities[i]:.1f} "
            f"± {binomial_slack(int(n), probabilities[i]):.1f} (5 standard deviations of a binomial count)")

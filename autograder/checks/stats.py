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


def check_rows(counts, probabilities, *, what: str) -> str | None:
    """Per-row :func:`check_counts` for (R, V) counts and probabilities: None, or the first row's message."""
    for r, (c, p) in enumerate(zip(np.asarray(counts), np.asarray(probabilities))):
        message = check_counts(c, p, what=f"{what}, row {r}")
        if message is not None:
            return message
    return None


def check_rate(count: int, n: int, p: float, *, what: str) -> str | None:
    """None if ``count`` of ``n`` independent events of probability ``p`` is within the binomial bound."""
    slack = float(binomial_slack(n, p))
    if abs(count - n * p) <= slack:
        return None
    return (f"{what}: {count} of {n}, expected {n * p:.1f} ± {slack:.1f} (5 standard deviations of a binomial "
            f"count)")


def assert_distribution(counts, probabilities, *, what: str) -> None:
    """(R, V) counts of draws vs (R, V) probabilities: no draw of a probability-0 token, and every count
    within its binomial bound. Raises the teaching ``Mismatch``."""
    from autograder.compare import Mismatch

    counts, probabilities = np.asarray(counts), np.asarray(probabilities)
    outside = np.argwhere((probabilities == 0) & (counts > 0))
    if outside.size:
        row = int(outside[0, 0])
        tokens = outside[outside[:, 0] == row, 1].tolist()
        raise Mismatch(f"{what}: row {row} drew token(s) {tokens[:5]} that have probability 0 after the filters "
                       f"({int(counts[row, tokens].sum())} draws)")
    message = check_rows(counts, probabilities, what=what)
    if message is not None:
        raise Mismatch(message)

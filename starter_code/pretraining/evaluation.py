"""Fair evaluation, shared by every notebook that compares methods (given, not graded).

Two tools, so that every comparison gives each method the same honest shot:

- :func:`linear_probe`: the frozen-feature baseline done properly — features standardised with the training
  examples' mean and standard deviation, then an L2-regularised multinomial logistic regression fitted to
  convergence (L-BFGS), its regularisation strength C chosen on a *validation* split, never on the test set.
  With fewer examples than features (k per class of 1,024 per-token features) it is fitted, exactly, in the
  span of the training rows (see :func:`row_space`).
- :func:`mean_ci`: the mean over seeds with a 95% Student-t confidence interval,
  ``mean ± t_{0.975, n-1} · s / √n`` (s the sample standard deviation of the n per-seed values).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import torch
from threadpoolctl import threadpool_limits

C_GRID = (1e-3, 1e-2, 1e-1, 1.0, 10.0, 100.0)  # inverse L2 strength, log-spaced; the probe picks one on validation


def _numpy(x) -> np.ndarray:
    if isinstance(x, torch.Tensor):
        x = x.detach().to("cpu", torch.float64).numpy()
    return np.asarray(x, dtype=np.float64)


@dataclass
class Probe:
    """A fitted probe: standardisation (mean, std of the training features) + logistic regression."""

    mean: np.ndarray        # (D,)
    std: np.ndarray         # (D,)
    model: object           # sklearn LogisticRegression, on the standardised features times ``basis``
    C: float                # the regularisation chosen on validation
    val_accuracy: float     # its accuracy on the validation split
    basis: np.ndarray | None = None  # (D, r): the training rows' span (row_space); None: all D features

    def features(self, x) -> np.ndarray:
        """x: (N, D) features → what the logistic regression reads: standardised, in the basis, (N, D) or (N, r)."""
        z = (_numpy(x) - self.mean) / self.std
        return z if self.basis is None else z @ self.basis

    def predict(self, x) -> np.ndarray:
        """x: (N, D) features → (N,) predicted class ids."""
        with threadpool_limits(limits=1, user_api="blas"):  # small products, as in linear_probe
            return self.model.predict(self.features(x))

    def weights(self) -> np.ndarray:
        """(classes, D): the probe's weights on the standardised features (W = basis · B, see row_space)."""
        return self.model.coef_ if self.basis is None else self.model.coef_ @ self.basis.T

    def accuracy(self, x, y) -> float:
        """The share of rows of ``x`` (N, D) whose prediction equals ``y`` (N,)."""
        return float((self.predict(x) == _numpy(y).astype(np.int64)).mean())


def _fit(x: np.ndarray, y: np.ndarray, C: float, max_iter: int):
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(C=C, max_iter=max_iter, tol=1e-6)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)  # "converged" is a claim: refuse to make it falsely
        model.fit(x, y)
    return model


def row_space(x: np.ndarray) -> np.ndarray | None:
    """(D, r) orthonormal basis of the span of the rows of ``x`` (N, D), or None when N ≥ D (nothing to gain).

    Why the probe can be fitted there, exactly: the objective is  Σ_i loss(W x_i + b, y_i) + ‖W‖² / (2C).  Any W
    splits as W = W_∥ + W_⊥ (its rows in the span of the x_i, and orthogonal to it); W_⊥ changes no W x_i, only
    adds ‖W_⊥‖², so the optimum has W_⊥ = 0: W = B Vᵀ, with V (D, r) a basis of the span (the right singular
    vectors of x, r ≤ N). With z_i = Vᵀ x_i and ‖B Vᵀ‖ = ‖B‖, the objective is the same one in r unknowns per
    class instead of D: the same optimum (W = B Vᵀ), the same predictions on any x (its part outside the span
    meets W_⊥ = 0), at a fraction of the cost per L-BFGS step. Only the stopping test (the largest gradient
    entry) is read in the other coordinates."""
    n, d = x.shape
    if n >= d:
        return None
    _, s, vt = np.linalg.svd(x, full_matrices=False)  # vt: (N, D), s: (N,) descending
    rank = int((s > s[0] * max(n, d) * np.finfo(np.float64).eps).sum()) if s.size and s[0] > 0 else 0
    return vt[:max(rank, 1)].T  # (D, r)


def linear_probe(train_x, train_y, val_x, val_y, cs: tuple[float, ...] = C_GRID, max_iter: int = 10_000,
                 threads: int | None = 1, reduce: bool = True) -> Probe:
    """Fit a converged, standardised logistic-regression probe on frozen features.

    Args:
        train_x: (N, D) features of the labelled training examples (e.g. k per class), tensor or array.
        train_y: (N,) int class ids.
        val_x:   (M, D) features of a validation split (disjoint from train and test) used to choose C.
        val_y:   (M,) int class ids.
        cs:      candidate values of C (larger = weaker L2 penalty).
        max_iter: L-BFGS iterations allowed; a fit that does not converge within them raises.
        threads: BLAS threads for the fits (None: the library's default, one per core).
        reduce: with fewer examples than features, fit in the span of the training rows (:func:`row_space`): the
            same probe, faster. False fits all D features (what ``scripts/bench_probe.py`` compares it with).

    Returns:
        The :class:`Probe` with the best validation accuracy (ties: the smallest C, the simplest model).
    """
    x, y = _numpy(train_x), _numpy(train_y).astype(np.int64)
    mean, std = x.mean(axis=0), x.std(axis=0)
    std = np.where(std > 1e-8, std, 1.0)  # a constant feature carries nothing: leave it at 0, do not divide by 0
    best = None
    # One BLAS thread by default: these matrices are small (k·classes rows), and a pool of threads spends more on
    # waking and syncing than it saves — 2.3 s against 0.24 s for a 100 × 1,024 probe on a 2-core CPU
    # (scripts/bench_probe.py measures it on the machine at hand).
    with threadpool_limits(limits=threads, user_api="blas"):
        basis = row_space((x - mean) / std) if reduce else None
        unfitted = Probe(mean, std, None, float("nan"), float("nan"), basis)
        xs, vx, vy = unfitted.features(x), unfitted.features(val_x), _numpy(val_y).astype(np.int64)  # (N, r), (M, r)
        for C in cs:
            model = _fit(xs, y, C, max_iter)
            acc = float((model.predict(vx) == vy).mean())
            if best is None or acc > best.val_accuracy:
                best = Probe(mean, std, model, C, acc, basis)
    return best


def mean_ci(values, confidence: float = 0.95) -> tuple[float, float]:
    """(mean, half-width) of the Student-t confidence interval of the mean of ``values`` (one per seed).

    The half-width is ``t_{(1+confidence)/2, n-1} · s / √n``; it is ``nan`` for a single value (no spread to
    estimate), so a one-seed result can never be drawn with an interval it does not have.
    """
    from scipy import stats

    v = np.asarray(values, dtype=np.float64).ravel()
    if v.size < 2:
        return float(v.mean()) if v.size else float("nan"), float("nan")
    half = stats.t.ppf((1 + confidence) / 2, v.size - 1) * v.std(ddof=1) / np.sqrt(v.size)
    return float(v.mean()), float(half)


def format_ci(values, digits: int = 3) -> str:
    """'0.861 ± 0.009 (n=5)': the mean and 95% half-width, for printing beside a table row."""
    m, h = mean_ci(values)
    return f"{m:.{digits}f} ± {h:.{digits}f} (n={np.asarray(values).size})"

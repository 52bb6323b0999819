"""Fair evaluation, shared by every notebook that compares methods (given, not graded).

Two tools, so that every comparison gives each method the same honest shot:

- :func:`linear_probe`: the frozen-feature baseline done properly — features standardised with the training
  examples' mean and standard deviation, then an L2-regularised multinomial logistic regression fitted to
  convergence (L-BFGS on the CPU; on a GPU, Newton's method for every C at once), its regularisation strength C
  chosen on a *validation* split, never on the test set.
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
from threadpoolctl import ThreadpoolController

from pretraining.device import get_device

C_GRID = (1e-3, 1e-2, 1e-1, 1.0, 10.0, 100.0)  # inverse L2 strength, log-spaced; the probe picks one on validation


_blas = None  # the ThreadpoolController of blas_threads, made at its first call


def blas_threads(limit: int | None):
    """``with blas_threads(1):`` — at most ``limit`` BLAS threads inside (None: the libraries' defaults).

    threadpoolctl's ``threadpool_limits`` lists the loaded libraries anew at every call (each shared object's
    file is opened and read): about 1 ms on the 2-core CPU, more with CUDA's libraries loaded, several times a
    probe. The list is made once here, after SciPy's own OpenBLAS (scikit-learn's L-BFGS) is loaded."""
    global _blas
    if _blas is None:
        import scipy.linalg  # noqa: F401 — loads the BLAS library scikit-learn's solver calls

        _blas = ThreadpoolController()
    return _blas.limit(limits=limit, user_api="blas")


def _numpy(x) -> np.ndarray:
    if isinstance(x, torch.Tensor):
        x = x.detach().to("cpu", torch.float64).numpy()
    return np.asarray(x, dtype=np.float64)


@dataclass
class Probe:
    """A fitted probe: standardisation (mean, std of the training features) + logistic regression."""

    mean: np.ndarray        # (D,)
    std: np.ndarray         # (D,)
    coef: np.ndarray        # (classes, r), or (1, r) with two classes (one score: > 0 means classes[1], as sklearn)
    intercept: np.ndarray   # (classes,) or (1,)
    classes: np.ndarray     # (classes,) the label of each row of coef, sorted
    C: float                # the regularisation chosen on validation
    val_accuracy: float     # its accuracy on the validation split
    basis: np.ndarray | None = None  # (D, r): the training rows' span (row_space); None: all D features

    def features(self, x) -> np.ndarray:
        """x: (N, D) features → what the logistic regression reads: standardised, in the basis, (N, D) or (N, r)."""
        z = (_numpy(x) - self.mean) / self.std
        return z if self.basis is None else z @ self.basis

    def predict_features(self, z: np.ndarray) -> np.ndarray:
        """z: (N, r) already through :meth:`features` → (N,) predicted labels (the highest score's class)."""
        with blas_threads(1):  # small products, as in linear_probe
            scores = z @ self.coef.T + self.intercept  # (N, classes) or (N, 1)
        return self.classes[(scores[:, 0] > 0).astype(np.int64) if scores.shape[1] == 1 else scores.argmax(1)]

    def predict(self, x) -> np.ndarray:
        """x: (N, D) features → (N,) predicted class ids."""
        return self.predict_features(self.features(x))

    def weights(self) -> np.ndarray:
        """(classes, D): the probe's weights on the standardised features (W = basis · B, see row_space)."""
        return self.coef if self.basis is None else self.coef @ self.basis.T

    def accuracy(self, x, y) -> float:
        """The share of rows of ``x`` (N, D) whose prediction equals ``y`` (N,)."""
        return float((self.predict(x) == _numpy(y).astype(np.int64)).mean())


def _fit_lbfgs(z: np.ndarray, y: np.ndarray, cs, max_iter: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """scikit-learn's L-BFGS, one C after another: [(coef, intercept)] in the order of ``cs``."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression

    fits = []
    for C in cs:
        model = LogisticRegression(C=C, max_iter=max_iter, tol=1e-6)
        with warnings.catch_warnings():
            warnings.simplefilter("error", ConvergenceWarning)  # "converged" is a claim: refuse to make it falsely
            model.fit(z, y)
        fits.append((model.coef_, model.intercept_))
    return fits


def _fit_newton(z: np.ndarray, y: np.ndarray, cs, max_iter: int, device,
                tol: float = 1e-8) -> list[tuple[np.ndarray, np.ndarray]]:
    """The same objectives as :func:`_fit_lbfgs`, minimised by Newton's method for every C at once, on ``device``.

    For each C:  f(θ) = C Σ_i CE(W z_i + b, y_i) + ½‖W‖²,  θ = (W, b) of shape (K, r + 1), the intercept b not
    penalised (scikit-learn's objective, times C·N). With z̃_i = (z_i, 1) and p_i = softmax(θ z̃_i):
    gradient  C Σ_i (p_i − e_{y_i}) z̃_iᵀ + (W, 0);  Hessian  C Σ_i (diag p_i − p_i p_iᵀ) ⊗ z̃_i z̃_iᵀ + (1 on W).
    Adding one number to all K intercepts changes nothing, so the Hessian is singular along that direction u,
    where the gradient is always 0: solving with H + u uᵀ leaves every step's useful part as it is. Each step
    goes as far along the Newton direction as the Armijo test allows (12 lengths 1, ½, … tried at once).
    Stops when every fit's largest gradient entry in scikit-learn's scale (÷ C·N) is ≤ ``tol``: Newton's
    quadratic convergence makes a tolerance 100× tighter than L-BFGS's cost about one more step. About ten
    steps of a few dense products of size K·(r+1): milliseconds on a GPU, where L-BFGS makes about a thousand
    small evaluations on the CPU. Two classes: the two-class softmax's optimum is a symmetric pair (w, −w),
    which is scikit-learn's binary model w' = 2w at C/2 — fitted that way and returned in its form, (1, r).
    """
    classes = np.unique(y)
    k = len(classes)
    two = k == 2
    cs = [C / 2 for C in cs] if two else list(cs)
    z = torch.as_tensor(z, dtype=torch.float64, device=device)
    n, d1 = z.shape[0], z.shape[1] + 1
    onehot = torch.nn.functional.one_hot(torch.as_tensor(np.searchsorted(classes, y), device=device), k).double()
    x = torch.cat([z, z.new_ones(n, 1)], 1)                        # (N, d1): features and the intercept's 1
    C = torch.tensor(cs, dtype=torch.float64, device=device)        # (S,) one fit per C
    penalised = x.new_ones(d1)
    penalised[-1] = 0                                               # the intercept is not penalised
    u = x.new_zeros(k, d1)
    u[:, -1] = k ** -0.5                                            # the flat direction: all intercepts + c
    u = u.reshape(-1)                                               # (m,), m = K·d1
    lengths = 0.5 ** torch.arange(12, dtype=torch.float64, device=device)  # (L,)
    theta = x.new_zeros(len(cs), k, d1)                             # (S, K, d1)

    def objective(th):                                              # th (S, L, K, d1) → (S, L)
        logits = torch.einsum("nj,slkj->slnk", x, th)               # (S, L, N, K)
        ce = (torch.logsumexp(logits, -1) - (logits * onehot).sum(-1)).sum(-1)
        return C[:, None] * ce + 0.5 * (th.square() * penalised).sum((-1, -2))

    for _ in range(max_iter):
        p = torch.softmax(torch.einsum("nj,skj->snk", x, theta), -1)  # (S, N, K)
        grad = C[:, None, None] * torch.einsum("snk,nj->skj", p - onehot, x) + theta * penalised  # (S, K, d1)
        if bool(((grad.abs().amax((1, 2)) / (C * n)) <= tol).all()):  # the one host sync of a step
            theta = theta.cpu().numpy()
            if two:
                return [(t[1:, :-1] - t[:1, :-1], t[1:, -1] - t[:1, -1]) for t in theta]
            return [(t[:, :-1], t[:, -1]) for t in theta]
        px = (p[..., None] * x[:, None, :]).flatten(2)              # (S, N, m): p_ik z̃_i
        hess = -px.transpose(1, 2) @ px                             # (S, m, m): − Σ_i (p_i ⊗ z̃_i)(p_i ⊗ z̃_i)ᵀ
        blocks = torch.einsum("snkj,nl->skjl", px.view(-1, n, k, d1), x)  # (S, K, d1, d1): Σ_i p_ik z̃_i z̃_iᵀ
        hess.view(-1, k, d1, k, d1).diagonal(dim1=1, dim2=3).add_(blocks.permute(0, 2, 3, 1))
        hess = C[:, None, None] * hess + torch.diag(penalised.repeat(k)) + torch.outer(u, u)
        factor, _ = torch.linalg.cholesky_ex(hess)
        step = -torch.cholesky_solve(grad.reshape(len(cs), -1, 1), factor).view_as(theta)  # (S, K, d1)
        tried = theta[:, None] + lengths[None, :, None, None] * step[:, None]  # (S, L, K, d1)
        now = objective(theta[:, None])                             # (S, 1)
        # Armijo's sufficient decrease, less what rounding can hide once the optimum is reached
        slack = 1e-4 * lengths * (grad * step).sum((1, 2))[:, None] + 64 * torch.finfo(x.dtype).eps * now.abs()
        armijo = objective(tried) <= now + slack                    # (S, L)
        first = torch.where(armijo.any(1), armijo.int().argmax(1), len(lengths))  # the longest step that passes
        theta = theta + torch.cat([lengths, lengths.new_zeros(1)])[first][:, None, None] * step
    raise _not_converged(f"Newton's method did not converge in {max_iter} steps (largest gradient entry above {tol})")


def _not_converged(message: str):
    from sklearn.exceptions import ConvergenceWarning

    return ConvergenceWarning(message)


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


NEWTON_SIZE = 4096  # Newton's method on a GPU up to K·(r+1) unknowns per C: its Hessians take 6 · 8 · size² bytes


def linear_probe(train_x, train_y, val_x, val_y, cs: tuple[float, ...] = C_GRID, max_iter: int = 10_000,
                 threads: int | None = 1, reduce: bool = True, solver: str | None = None) -> Probe:
    """Fit a converged, standardised logistic-regression probe on frozen features.

    Args:
        train_x: (N, D) features of the labelled training examples (e.g. k per class), tensor or array.
        train_y: (N,) int class ids.
        val_x:   (M, D) features of a validation split (disjoint from train and test) used to choose C.
        val_y:   (M,) int class ids.
        cs:      candidate values of C (larger = weaker L2 penalty).
        max_iter: iterations allowed (Newton's method: at most 100 of them); a fit that does not converge
            within them raises ``ConvergenceWarning``.
        threads: BLAS threads for the CPU's fits (None: the library's default, one per core).
        reduce: with fewer examples than features, fit in the span of the training rows (:func:`row_space`): the
            same probe, faster. False fits all D features (what ``scripts/bench_probe.py`` compares it with).
        solver: "lbfgs" (scikit-learn, on the CPU, one C at a time) or "newton" (:func:`_fit_newton`, every C at
            once, on the device). None: Newton on a CUDA device (up to ``NEWTON_SIZE`` unknowns per C), else
            L-BFGS. Both minimise the same objective to convergence: the same probe, up to their tolerances.

    Returns:
        The :class:`Probe` with the best validation accuracy (ties: the smallest C, the simplest model).
    """
    x, y = _numpy(train_x), _numpy(train_y).astype(np.int64)
    classes = np.unique(y)
    mean, std = x.mean(axis=0), x.std(axis=0)
    std = np.where(std > 1e-8, std, 1.0)  # a constant feature carries nothing: leave it at 0, do not divide by 0
    # One BLAS thread by default: these matrices are small (k·classes rows), and a pool of threads spends more on
    # waking and syncing than it saves — 2.3 s against 0.24 s for a 100 × 1,024 probe on a 2-core CPU
    # (scripts/bench_probe.py measures it on the machine at hand).
    with blas_threads(threads):
        basis = row_space((x - mean) / std) if reduce else None
        unfitted = Probe(mean, std, None, None, classes, float("nan"), float("nan"), basis)
        xs, vx, vy = unfitted.features(x), unfitted.features(val_x), _numpy(val_y).astype(np.int64)  # (N, r), (M, r)
        device = get_device()
        if solver is None:
            small = len(classes) * (xs.shape[1] + 1) <= NEWTON_SIZE
            solver = "newton" if device.type == "cuda" and small else "lbfgs"
        if solver == "newton":
            fits = _fit_newton(xs, y, cs, min(max_iter, 100), device)
        elif solver == "lbfgs":
            fits = _fit_lbfgs(xs, y, cs, max_iter)
        else:
            raise ValueError(f"solver must be 'lbfgs', 'newton' or None, not {solver!r}")
        best = None
        for C, (coef, intercept) in zip(cs, fits):
            probe = Probe(mean, std, coef, intercept, classes, C, float("nan"), basis)
            probe.val_accuracy = float((probe.predict_features(vx) == vy).mean())
            if best is None or probe.val_accuracy > best.val_accuracy:
                best = probe
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

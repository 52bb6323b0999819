"""The fair-evaluation tools (pretraining.evaluation, given code): the linear probe and the intervals."""

from __future__ import annotations

import sys

import numpy as np
import pytest
import torch
from scipy import stats
from sklearn.datasets import load_digits

from conftest import REPO

sys.path.insert(0, str(REPO / "solutions"))
from pretraining.data import sample_k_shot  # noqa: E402
from pretraining import evaluation  # noqa: E402
from pretraining.evaluation import linear_probe, mean_ci, row_space  # noqa: E402


@pytest.fixture(scope="module")
def digits():
    """Digits upscaled to 16 × 16 (256 features): k = 10 per class gives fewer rows (100) than features."""
    d = load_digits()
    x = np.kron(d.images, np.ones((2, 2))).reshape(len(d.images), -1)
    return x, d.target


def test_row_space_is_an_orthonormal_basis_of_the_rows():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(6, 3)) @ rng.normal(size=(3, 40))  # 6 rows of rank 3 in 40 dimensions
    basis = row_space(x)
    assert basis.shape == (40, 3)
    np.testing.assert_allclose(basis.T @ basis, np.eye(3), atol=1e-10)
    np.testing.assert_allclose(x @ basis @ basis.T, x, atol=1e-10)  # every row lies in the span
    assert row_space(rng.normal(size=(50, 40))) is None  # as many rows as features: nothing to gain


@pytest.mark.parametrize("seed", [0, 1])
def test_the_probe_in_the_rows_span_is_the_probe_on_all_features(digits, seed):
    """The reduction is exact (evaluation.row_space): the same C chosen, the same predictions, the same weights
    up to the solver's stopping tolerance."""
    x, y = digits
    few = sample_k_shot(y[:1000], 10, np.random.default_rng(seed))
    args = (x[few], y[few], x[1000:1400], y[1000:1400])
    full, reduced = linear_probe(*args, reduce=False), linear_probe(*args)
    assert full.basis is None and reduced.basis.shape[1] <= len(few) < x.shape[1]
    assert reduced.C == full.C and reduced.val_accuracy == full.val_accuracy
    assert (reduced.predict(x[1400:]) == full.predict(x[1400:])).mean() >= 0.995
    scale = np.abs(full.weights()).max()
    np.testing.assert_allclose(reduced.weights(), full.weights(), atol=2e-3 * scale)


def test_the_probe_chooses_C_on_validation_and_fits_to_convergence(digits):
    x, y = digits
    few = sample_k_shot(y[:1000], 10, np.random.default_rng(0))
    args = (x[few], y[few], x[1000:1400], y[1000:1400])
    probe = linear_probe(*args)
    for C in (1e-3, 1.0, 100.0):  # no other C of the grid is better on validation
        assert linear_probe(*args, cs=(C,)).val_accuracy <= probe.val_accuracy
    assert probe.val_accuracy == probe.accuracy(x[1000:1400], y[1000:1400])
    assert probe.accuracy(x[1400:], y[1400:]) > 0.7  # chance is 0.1
    from sklearn.exceptions import ConvergenceWarning

    with pytest.raises(ConvergenceWarning):  # "converged" is never claimed falsely
        linear_probe(*args, cs=(100.0,), max_iter=2)


def objective(probe, x, y) -> float:
    """scikit-learn's objective times C·N: C Σ_i CE(W z_i + b, y_i) + ½‖W‖² (binary: the one-score form)."""
    z = probe.features(x)
    scores = z @ probe.coef.T + probe.intercept
    if scores.shape[1] == 1:  # two classes: log(1 + exp(−s)) for the positive class, log(1 + exp(s)) for the other
        scores = np.concatenate([np.zeros_like(scores), scores], 1)
    ce = np.logaddexp.reduce(scores, axis=1) - scores[np.arange(len(y)), np.searchsorted(probe.classes, y)]
    return probe.C * ce.sum() + 0.5 * np.square(probe.coef).sum()


@pytest.mark.parametrize("classes, k", [(10, 10), (4, 30), (2, 10)])
def test_newtons_method_fits_the_probe_lbfgs_fits(digits, classes, k):
    """The GPU's solver (Newton's method, every C at once) minimises scikit-learn's objective: the same C chosen,
    the same predictions, the same weights up to L-BFGS's tolerance — also with two classes, where scikit-learn
    fits its one-score binary model. Run here on the CPU: the solver is the same code on any device."""
    x, y = digits
    keep = y < classes
    x, y = x[keep], y[keep]
    half, val = len(y) // 2, slice(len(y) // 2, 3 * len(y) // 4)  # labelled pool, validation, then test
    few = sample_k_shot(y[:half], k, np.random.default_rng(0))
    args = (x[few], y[few], x[val], y[val])
    lbfgs, newton = linear_probe(*args, solver="lbfgs"), linear_probe(*args, solver="newton")
    assert newton.C == lbfgs.C and newton.val_accuracy == lbfgs.val_accuracy
    assert newton.coef.shape == lbfgs.coef.shape == (1 if classes == 2 else classes, newton.basis.shape[1])
    assert (newton.predict(x[val.stop:]) == lbfgs.predict(x[val.stop:])).mean() >= 0.995
    for C in (1e-3, 1.0, 100.0):  # every C of the grid, not only the chosen one
        a, b = linear_probe(*args, cs=(C,), solver="lbfgs"), linear_probe(*args, cs=(C,), solver="newton")
        # L-BFGS stops at a largest gradient entry of 1e-6 (of the mean loss), which at C = 100 leaves the weights
        # up to ~1% off; Newton's method stops 100× closer, so its objective must be at least as low
        assert objective(b, *args[:2]) <= objective(a, *args[:2]) * (1 + 1e-12)
        np.testing.assert_allclose(b.weights(), a.weights(), atol=1e-2 * np.abs(a.weights()).max())
        np.testing.assert_allclose(b.intercept, a.intercept, atol=5e-2 * np.abs(a.intercept).max())


def test_newtons_method_never_claims_convergence_falsely(digits):
    from sklearn.exceptions import ConvergenceWarning

    x, y = digits
    few = sample_k_shot(y[:1000], 10, np.random.default_rng(0))
    with pytest.raises(ConvergenceWarning, match="did not converge"):
        linear_probe(x[few], y[few], x[1000:1400], y[1000:1400], cs=(100.0,), max_iter=2, solver="newton")
    with pytest.raises(ValueError, match="solver"):
        linear_probe(x[few], y[few], x[1000:1400], y[1000:1400], solver="sgd")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_on_a_gpu_the_probe_is_fitted_there_with_the_same_result(digits, monkeypatch):
    monkeypatch.setenv("PRETRAINING_DEVICE", "cuda")
    x, y = digits
    few = sample_k_shot(y[:1000], 10, np.random.default_rng(0))
    args = (torch.as_tensor(x[few], device="cuda"), y[few], x[1000:1400], y[1000:1400])
    calls = []
    monkeypatch.setattr(evaluation, "_fit_lbfgs", lambda *a: calls.append(a))  # must not be reached
    gpu = linear_probe(*args)
    monkeypatch.undo()
    cpu = linear_probe(x[few], y[few], x[1000:1400], y[1000:1400], solver="lbfgs")
    assert not calls and gpu.C == cpu.C and gpu.val_accuracy == cpu.val_accuracy
    assert (gpu.predict(x[1400:]) == cpu.predict(x[1400:])).mean() >= 0.995


def test_a_constant_feature_is_ignored_not_divided_by_zero(digits):
    x, y = digits
    few = sample_k_shot(y[:1000], 10, np.random.default_rng(0))
    x0 = x[:, 0]
    assert np.all(x0 == x0[0])  # the digits' top-left pixel is always blank
    probe = linear_probe(x[few], y[few], x[1000:1400], y[1000:1400])
    assert np.isfinite(probe.weights()).all() and probe.std[0] == 1.0


def test_mean_ci_is_the_student_t_interval():
    values = [0.80, 0.84, 0.79, 0.86, 0.83]
    m, h = mean_ci(values)
    assert m == pytest.approx(np.mean(values))
    assert h == pytest.approx(stats.t.ppf(0.975, 4) * np.std(values, ddof=1) / np.sqrt(5))
    assert np.isnan(mean_ci([0.8])[1])  # one seed has no interval

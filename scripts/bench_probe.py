"""The converged linear probe (``pretraining.evaluation.linear_probe``): one BLAS thread vs the default pool,
fitted in the span of its training rows (``evaluation.row_space``, the default) vs on all features, and
scikit-learn's L-BFGS (the CPU's solver) vs Newton's method for every C at once on the current device (a GPU's).

    python scripts/bench_probe.py               # digits upscaled to 32 × 32 (1,024 features), k = 10 per class

The probes of notebooks 00, 02 and 06 fit a few hundred rows of up to ~1,000 features, 6 values of C each. Prints
JSON: seconds per probe each way (interleaved medians), the ratios, and whether every way chose the same C and the
same validation accuracy (they fit the same problem: only the thread count, the coordinates or the solver differ).
"""

from __future__ import annotations

import argparse
import os

import numpy as np
from benchmark import get_device, interleaved_medians, report

from pretraining.evaluation import linear_probe
from pretraining.data import sample_k_shot


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--k", type=int, default=10, help="labelled examples per class")
    parser.add_argument("--upscale", type=int, default=4, help="each pixel becomes an upscale × upscale block")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()

    from sklearn.datasets import load_digits

    digits = load_digits()
    x = np.kron(digits.images, np.ones((args.upscale, args.upscale))).reshape(len(digits.images), -1)  # (1797, 64·u²)
    y = digits.target
    few = sample_k_shot(y[:1000], args.k, np.random.default_rng(0))
    train, val = (x[few], y[few]), (x[1000:1400], y[1000:1400])
    fitted = {}

    def fit(name, **kwargs):
        def run():
            fitted[name] = linear_probe(*train, *val, **kwargs)
        return run

    device = get_device()
    ways = {"one thread": dict(threads=1, solver="lbfgs"), "default threads": dict(threads=None, solver="lbfgs"),
            "one thread, all features": dict(threads=1, reduce=False, solver="lbfgs"),
            f"newton on {device.type}": dict(solver="newton")}
    times = interleaved_medians({name: fit(name, **kw) for name, kw in ways.items()}, device, args.repeats)
    median = {name: t["median_s"] for name, t in times.items()}
    report("probe", device, {
        "features": x.shape[1], "rows": len(few), "cpus": os.cpu_count(),
        "one_thread_s": median["one thread"], "default_threads_s": median["default threads"],
        "all_features_s": median["one thread, all features"],
        "default_over_one": round(median["default threads"] / median["one thread"], 2),
        "all_features_over_row_space": round(median["one thread, all features"] / median["one thread"], 2),
        "newton_s": median[f"newton on {device.type}"],
        "lbfgs_over_newton": round(median["one thread"] / median[f"newton on {device.type}"], 2),
        "same_fit": len({(p.C, p.val_accuracy) for p in fitted.values()}) == 1,
        "times": times})


if __name__ == "__main__":
    main()

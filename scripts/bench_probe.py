"""The converged linear probe (``pretraining.evaluation.linear_probe``) with one BLAS thread vs the default pool.

    python scripts/bench_probe.py               # digits upscaled to 32 × 32 (1,024 features), k = 10 per class

The probes of notebooks 00, 02 and 06 fit a few hundred rows of up to ~1,000 features, 6 values of C each. Prints
JSON: seconds per probe each way (interleaved medians), their ratio, and whether both chose the same C and the same
validation accuracy (they fit the same problem; only the thread count differs).
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

    def fit(threads):
        def run():
            fitted[threads] = linear_probe(*train, *val, threads=threads)
        return run

    times = interleaved_medians({"one thread": fit(1), "default threads": fit(None)}, "cpu", args.repeats)
    report("probe", get_device(), {
        "features": x.shape[1], "rows": len(few), "cpus": os.cpu_count(),
        "one_thread_s": times["one thread"]["median_s"], "default_threads_s": times["default threads"]["median_s"],
        "default_over_one": round(times["default threads"]["median_s"] / times["one thread"]["median_s"], 2),
        "same_fit": fitted[1].C == fitted[None].C and fitted[1].val_accuracy == fitted[None].val_accuracy,
        "times": times})


if __name__ == "__main__":
    main()

"""Shared by the benchmark scripts: timing with medians, device synchronisation, JSON output.

Benchmarks are not tests: they measure, side by side in one run, and print JSON figures.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "solutions"))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import torch  # noqa: E402

from pretraining.device import get_device  # noqa: E402

if os.environ.get("BENCH_THREADS"):  # e.g. BENCH_THREADS=1 on a shared CPU, where threads contend
    torch.set_num_threads(int(os.environ["BENCH_THREADS"]))


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def median_seconds(fn, device: torch.device, repeats: int = 5, warmup: int = 1) -> dict:
    """Run ``fn`` warmup + repeats times; the median and every time, in seconds."""
    for _ in range(warmup):
        fn()
    synchronize(device)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        synchronize(device)
        times.append(time.perf_counter() - start)
    return {"median_s": statistics.median(times), "times_s": [round(t, 5) for t in times]}


def environment(device: torch.device) -> dict:
    info = {"device": str(device), "torch": torch.__version__, "threads": torch.get_num_threads(),
            "python": platform.python_version()}
    if device.type == "cuda":
        info["gpu"] = torch.cuda.get_device_name(device)
    try:
        import transformers

        info["transformers"] = transformers.__version__
    except ImportError:
        pass
    return info


def report(name: str, device: torch.device, figures: dict) -> None:
    print(json.dumps({"benchmark": name, **environment(device), **figures}, indent=2))


__all__ = ["get_device", "median_seconds", "report", "synchronize", "torch"]

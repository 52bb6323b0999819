"""Shared by the benchmark scripts: timing with medians, device synchronisation, JSON output.

Benchmarks are not tests: they measure, side by side in one run, and print JSON figures.
"""

from __future__ import annotations

import json
import os
import platform
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "solutions"))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import torch  # noqa: E402

from pretraining.device import get_device  # noqa: E402

if os.environ.get("BENCH_THREADS"):  # e.g. BENCH_THREADS=1 on a shared CPU, where threads contend
    torch.set_num_threads(int(os.environ["BENCH_THREADS"]))


from pretraining.timing import interleaved_medians, median_seconds, synchronize  # noqa: E402  (one copy)


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


__all__ = ["get_device", "interleaved_medians", "median_seconds", "report", "synchronize", "torch"]

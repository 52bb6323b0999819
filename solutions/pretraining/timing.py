"""Timing that survives a shared machine: interleaved rounds and medians (given, not graded).

Used by the notebooks and by ``scripts/benchmark.py``. A single timing on a shared CPU or a warming-up GPU says
little; so every function is run once per round, round after round (a slow stretch of the machine hits them all
alike), after a warm-up call, and each is summarised by its median. CUDA work is synchronised before the clock
is read.
"""

from __future__ import annotations

import statistics
import time

import torch


def synchronize(device: torch.device | str) -> None:
    """Wait for the device's queued work (CUDA runs asynchronously); a no-op on the CPU."""
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize(device)


def interleaved_medians(fns: dict, device: torch.device | str, repeats: int = 5, warmup: int = 1) -> dict:
    """Time every function of ``fns`` once per round, round after round, so that a slower stretch of a shared
    machine hits them all alike: per name, the median and every time, in seconds."""
    for fn in fns.values():
        for _ in range(warmup):
            fn()
    synchronize(device)
    times = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            start = time.perf_counter()
            fn()
            synchronize(device)
            times[name].append(time.perf_counter() - start)
    return {name: {"median_s": statistics.median(t), "times_s": [round(x, 5) for x in t]} for name, t in times.items()}


def median_seconds(fn, device: torch.device | str, repeats: int = 5, warmup: int = 1) -> dict:
    """Run ``fn`` warmup + repeats times; the median and every time, in seconds."""
    return interleaved_medians({"fn": fn}, device, repeats, warmup)["fn"]

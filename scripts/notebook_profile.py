"""Where a notebook's time goes, by the package's functions: for ``run_notebook.py --functions``.

Imported before a notebook's first cell, :func:`install` wraps the package functions below (in their module and in
every module that imported them by name) with a timer. Each call is timed inclusively, once at its outermost level,
with the GPU's queued work waited for before the clock is read (so a function is charged for the kernels it
launched); a call made while a CUDA graph is being recorded is not timed (waiting there is not allowed). At exit one
line ``##functions {JSON}`` on stderr gives, per function, its calls and seconds.

The waits make a GPU run somewhat slower than without them: compare functions within one profiled run, and take
the notebook's own time from a run without ``--functions``.
"""

from __future__ import annotations

import atexit
import functools
import importlib
import json
import sys
import time

FUNCTIONS = {  # module of the pretraining package → the functions timed
    "training": ["_train"],
    "ensembles": ["train_ensemble"],
    "finetune": ["finetune_runs", "accuracies", "pooled_features"],
    "evaluation": ["linear_probe"],
    "few_shot": ["few_shot_accuracy"],
    "contrastive": ["pretrain_simclr_seeds", "representations"],
    "icl": ["score_after_prefix", "score_candidates", "generate_answers"],
    "kv_cache": ["generate_with_cache", "generate_without_cache"],
    "pretrained": ["load_gpt", "load_bert", "load_minilm"],
}

_totals: dict[str, list] = {}  # name → [calls, seconds]
_active: set[str] = set()


def _wait(torch) -> None:
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        torch.cuda.synchronize()


def _timed(name: str, fn, torch):
    @functools.wraps(fn)
    def timed(*args, **kwargs):
        capturing = torch.cuda.is_available() and torch.cuda.is_current_stream_capturing()
        if name in _active or capturing:
            return fn(*args, **kwargs)
        _active.add(name)
        _wait(torch)
        start = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            _wait(torch)
            total = _totals.setdefault(name, [0, 0.0])
            total[0] += 1
            total[1] += time.perf_counter() - start
            _active.discard(name)
    return timed


def _report() -> None:
    ranked = sorted(_totals.items(), key=lambda item: -item[1][1])
    print("##functions " + json.dumps({name: {"calls": n, "seconds": round(s, 3)} for name, (n, s) in ranked}),
          file=sys.stderr, flush=True)


def install(report_at_exit: bool = True) -> None:
    """Wrap every function of FUNCTIONS (the package must be importable); report at exit unless told not to."""
    import torch

    for module_name, names in FUNCTIONS.items():
        module = importlib.import_module(f"pretraining.{module_name}")
        for name in names:
            original = getattr(module, name, None)
            if original is None:
                continue
            wrapped = _timed(f"{module_name}.{name}", original, torch)
            for other in list(sys.modules.values()):  # also where it was imported by name
                if getattr(other, "__name__", "").startswith("pretraining") and getattr(other, name, None) is original:
                    setattr(other, name, wrapped)
    if report_at_exit:
        atexit.register(_report)

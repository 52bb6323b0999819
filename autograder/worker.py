"""The worker: the only process that imports student code.

Started by :mod:`autograder.client` as ``python -I worker.py SUBMISSION_ROOT``. It reads one request per
line on stdin, runs it, and writes one reply per line on a private copy of its original stdout; the
student's own prints go to stderr. Requests and replies are plain data (``codec.py``).

    request: {"op": "call", "id": int, "target": "pretraining.autoencoder:reconstruction_loss" | "probe:NAME:FUNC",
              "args": [...], "kwargs": {...}, "seed": int}
    reply:   {"ok": true, "id": int, "value": ...}  or  {"ok": false, "id": int, "error": {"kind", "type", "message",
             "where"}}   (``id`` echoes the request's)

``kind`` is ``not_implemented`` (an untouched stub), ``import`` (the module would not import) or
``exception``. The worker decides nothing about passing: the grader compares the values.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import random
import sys
import traceback
from pathlib import Path

HERE = Path(__file__).resolve().parent


def _load(name: str, path: Path):
    """Import a trusted helper by file path, so the autograder package itself is never on sys.path."""
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def use_graders_path() -> None:
    """Put the grader's PYTHONPATH entries at the front of ``sys.path`` (once: entries already there are kept).

    ``python -I`` ignores PYTHONPATH; the client hands on the grader's own as ``AUTOGRADER_PYTHONPATH`` (the
    instructor's environment, never the student's), so that both sides import the same packages. It runs as
    this file is loaded, before numpy (below) and torch: in a cold worker, and in the warm zygote, whose
    children use the modules it imported — set later, a second copy of transformers elsewhere on the path
    would grade the student against another version than the grader's."""
    entries = [e for e in os.environ.get("AUTOGRADER_PYTHONPATH", "").split(os.pathsep) if e]
    sys.path[:0] = [e for e in dict.fromkeys(entries) if e not in sys.path]


use_graders_path()
codec = _load("_autograder_codec", HERE / "codec.py")


def _to_student(x):
    """Wire values → what student functions take: tensors stay tensors, ndarrays stay ndarrays."""
    import torch

    if isinstance(x, codec.Array):
        if x.kind == "ndarray":
            return x.values
        t = torch.from_numpy(x.values.copy())
        if x.dtype == "bfloat16":
            t = t.to(torch.bfloat16)
        return t.requires_grad_(x.requires_grad) if x.requires_grad else t
    if isinstance(x, list):
        return [_to_student(v) for v in x]
    if isinstance(x, dict):
        return {k: _to_student(v) for k, v in x.items()}
    return x


def _from_student(x, path="the return value"):
    """Student values → wire values; anything that is not plain data is refused with a clear message."""
    import numpy as np
    import torch

    if isinstance(x, torch.Tensor):
        dtype = str(x.dtype).removeprefix("torch.")
        t = x.detach().cpu()
        values = (t.float() if t.dtype == torch.bfloat16 else t).numpy()
        return codec.Array(values, kind="tensor", dtype=dtype, requires_grad=bool(x.requires_grad))
    if isinstance(x, np.ndarray):
        return codec.Array(np.array(x), kind="ndarray")
    if isinstance(x, np.generic):
        return _from_student(x.item(), path)
    if isinstance(x, bool):
        return bool(x)
    if isinstance(x, int):
        return int(x)
    if isinstance(x, float):
        return float(x)
    if isinstance(x, str) or x is None:
        return None if x is None else str(x)
    if isinstance(x, (list, tuple)):
        return [_from_student(v, f"{path}[{i}]") for i, v in enumerate(x)]
    if isinstance(x, dict):
        return {str(k): _from_student(v, f"{path}[{k!r}]") for k, v in x.items()}
    raise TypeError(f"{path} is a {type(x).__name__}; expected a tensor, an array, a number, a list or a dict")


def _resolve(target: str):
    if target.startswith("probe:"):
        _, module, func = target.split(":")
        if not module.isidentifier():
            raise ValueError(f"bad probe name {module!r}")
        name = f"_autograder_probe_{module}"
        mod = sys.modules.get(name) or _load(name, HERE / "probes" / f"{module}.py")
        return getattr(mod, func)
    module, func = target.split(":")
    return getattr(importlib.import_module(module), func)


def _where(exc: BaseException, root: Path) -> str:
    """The innermost line of the student's own code in the traceback, e.g. 'pretraining/x.py:12: y = …'."""
    for frame in reversed(traceback.extract_tb(exc.__traceback__)):
        if not os.path.isabs(frame.filename):  # '<frozen importlib._bootstrap>' and the like
            continue
        try:
            rel = Path(frame.filename).resolve().relative_to(root)
        except ValueError:
            continue
        return f"{rel}:{frame.lineno}: {(frame.line or '').strip()}"
    return ""


def _is_import_failure(exc: BaseException, root: Path) -> bool:
    """The student's package would not import (missing module, syntax error) — also when a probe imported it."""
    if isinstance(exc, SyntaxError):
        return bool(exc.filename) and Path(exc.filename).resolve().is_relative_to(root)
    return isinstance(exc, ImportError) and (exc.name or "").split(".")[0] == "pretraining"


def _error(exc: BaseException, root: Path) -> dict:
    if isinstance(exc, NotImplementedError):
        kind = "not_implemented"
    elif _is_import_failure(exc, root):
        kind = "import"
    else:
        kind = "exception"
    message = str(exc)
    if isinstance(exc, SyntaxError):  # name the file relative to the submission: reports never show temp paths
        path = Path(exc.filename or "?").resolve()
        message = f"{exc.msg} ({path.relative_to(root) if path.is_relative_to(root) else path.name}, line {exc.lineno})"
    message = message.replace(str(root) + os.sep, "")
    return {"kind": kind, "type": type(exc).__name__, "message": message[:2000], "where": _where(exc, root)}


def _seed(seed: int) -> None:
    import numpy as np
    import torch

    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def serve(root: Path, channel_in, channel_out) -> None:
    import torch

    torch.set_num_threads(int(os.environ.get("AUTOGRADER_THREADS", "1")))
    channel_out.write(codec.dumps({"ok": True, "value": "ready"}))
    channel_out.flush()
    for line in channel_in:
        request = codec.loads(line)
        target = request.get("target", "")
        try:
            _seed(int(request.get("seed", 0)))
            func = _resolve(target)
            value = func(*_to_student(request.get("args", [])), **_to_student(request.get("kwargs", {})))
            reply = {"ok": True, "value": _from_student(value)}
        except BaseException as exc:  # noqa: BLE001 — SystemExit and KeyboardInterrupt from student code too
            reply = {"ok": False, "error": _error(exc, root)}
        reply["id"] = request.get("id")  # which request this answers (the client refuses any other)
        try:
            data = codec.dumps(reply)
        except (TypeError, ValueError) as exc:
            data = codec.dumps({"ok": False, "id": request.get("id"), "error": {
                "kind": "exception", "type": "TypeError", "message": str(exc), "where": ""}})
        channel_out.write(data)
        channel_out.flush()


def main() -> None:
    root = Path(sys.argv[1]).resolve()
    # The protocol keeps private copies of stdin/stdout; the student's prints go to stderr and its
    # input() reads nothing, so neither can corrupt the conversation.
    channel_in = os.fdopen(os.dup(0), "rb")
    channel_out = os.fdopen(os.dup(1), "wb")
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.dup2(2, 1)
    # sys.path holds the grader's PYTHONPATH already (use_graders_path, at load). What the worker itself needs
    # is imported before the student's folder joins sys.path, so no student file (a planted torch.py,
    # numpy.py, …) runs before the worker says it is ready: a worker that dies while starting is the
    # machine's fault, and the client starts it once more.
    import numpy  # noqa: F401
    import torch  # noqa: F401

    sys.path.insert(0, str(root))
    os.chdir(root)
    serve(root, channel_in, channel_out)


if __name__ == "__main__":
    main()

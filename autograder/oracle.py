"""Where reference values come from.

- Grading (instructor): :class:`LiveReference` runs the solutions in their own worker, behind a
  :class:`CachedReference` so that hundreds of submissions share one computation per request.
- Students' public checks: the solutions are not in their hands, so the references of the public checks
  are recorded at release time into a snapshot file and replayed (:class:`SnapshotReference`).

Every request is keyed by the hash of its canonical JSON (target, arguments, seed), so a check whose inputs
changed can never be compared with a stale reference: it finds no entry instead.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path

from . import codec
from .client import StudentError, Worker, describe
from .paths import SOLUTIONS


class ReferenceError(RuntimeError):
    """The reference could not be computed or found: a fault of the grader, never of the student."""


def request_key(target: str, args, kwargs, seed: int) -> str:
    return hashlib.sha256(codec.dumps({"target": target, "args": list(args), "kwargs": kwargs,
                                       "seed": seed})).hexdigest()


class LiveReference:
    """Computes references by running the solutions in a worker process."""

    def __init__(self, root: Path = SOLUTIONS):
        self.worker = Worker(root)

    def call(self, target: str, *args, seed: int = 0, **kwargs):
        try:
            return self.worker.call(target, *args, seed=seed, timeout=600.0, **kwargs)
        except StudentError as exc:
            raise ReferenceError(f"the reference solution failed on {describe(target)}: {exc.message}") from None

    def close(self) -> None:
        self.worker.close()


class CachedReference:
    """A directory of replies (one JSON file per request) in front of another reference."""

    def __init__(self, directory: Path, fallback: LiveReference):
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.fallback = fallback

    def call(self, target: str, *args, seed: int = 0, **kwargs):
        path = self.directory / f"{request_key(target, args, kwargs, seed)}.json"
        if path.exists():
            return codec.loads(path.read_bytes())
        value = self.fallback.call(target, *args, seed=seed, **kwargs)
        # Write-then-rename: parallel graders sharing the cache never see half a file.
        fd, tmp = tempfile.mkstemp(dir=self.directory)
        with os.fdopen(fd, "wb") as f:
            f.write(codec.dumps(value))
        os.replace(tmp, path)
        return value

    def close(self) -> None:
        self.fallback.close()


class SnapshotReference:
    """References recorded in one JSON file: replayed for students, recorded at release."""

    def __init__(self, path: Path, record_from: LiveReference | None = None):
        self.path = Path(path)
        self.record_from = record_from
        self.entries: dict[str, object] = {}
        if record_from is None:
            if not self.path.exists():
                raise ReferenceError(f"no reference snapshot at {self.path}: run `python -m autograder release`")
            self.entries = json.loads(self.path.read_text())

    def call(self, target: str, *args, seed: int = 0, **kwargs):
        key = request_key(target, args, kwargs, seed)
        if self.record_from is not None:
            value = self.record_from.call(target, *args, seed=seed, **kwargs)
            self.entries[key] = codec.to_plain(value)
            return value
        if key not in self.entries:
            raise ReferenceError(f"no recorded reference for this call of {describe(target)}; the snapshot "
                                 f"{self.path.name} is older than the checks (instructors: re-run the release)")
        return codec.from_plain(self.entries[key])

    def dumps(self) -> str:
        return json.dumps(self.entries, sort_keys=True, indent=0) + "\n"

    def close(self) -> None:
        if self.record_from is not None:
            self.record_from.close()

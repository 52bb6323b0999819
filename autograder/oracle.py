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
import hmac
import json
import os
import tempfile
import time
from pathlib import Path

from . import codec
from .client import StudentError, Worker, describe
from .paths import SOLUTIONS
from .sandbox import Sandbox


class ReferenceError(RuntimeError):
    """The reference could not be computed or found: a fault of the grader, never of the student."""


def request_key(target: str, args, kwargs, seed: int) -> str:
    return hashlib.sha256(codec.dumps({"target": target, "args": list(args), "kwargs": kwargs,
                                       "seed": seed})).hexdigest()


class LiveReference:
    """Computes references by running the solutions in a worker process."""

    def __init__(self, root: Path = SOLUTIONS):
        # The solutions are trusted code: their worker needs no confinement, and in the uid mode it must stay
        # root to read solutions that only root may read (autograder/gradescope/setup.sh).
        self.worker = Worker(root, Sandbox(isolate=False))

    def call(self, target: str, *args, seed: int = 0, **kwargs):
        try:
            return self.worker.call(target, *args, seed=seed, timeout=600.0, **kwargs)
        except StudentError as exc:
            raise ReferenceError(f"the reference solution failed on {describe(target)}: {exc.message}") from None

    def close(self) -> None:
        self.worker.close()
        self.worker.sandbox.cleanup()


def fingerprint() -> str:
    """A hash of everything a reference value depends on: the solutions, the checks, the probes, the wire format
    and the worker. A cache written for other code is never read (its entries live in another folder)."""
    digest = hashlib.sha256()
    here = Path(__file__).resolve().parent
    files = [*sorted((SOLUTIONS / "pretraining").rglob("*.py")), *sorted((here / "checks").rglob("*.py")),
             *sorted((here / "probes").rglob("*.py")), here / "codec.py", here / "worker.py"]
    for path in files:
        if "__pycache__" not in path.parts and path.is_file():
            digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


class CachedReference:
    """A directory of replies (one JSON file per request) in front of another reference.

    Written by the grader only (the sandbox's worker never sees this folder: not in its tree, or — without
    namespaces — not readable by its uid), keyed by the request and by :func:`fingerprint`, and verified: every
    entry carries an HMAC made with the cache's own secret (``secret``, created with the cache, mode 0600), so a
    file changed or planted by anyone else is recomputed, never believed.

    The same secret seeds the checks' inputs (:attr:`input_seed`, used by the ``rng`` fixture): graded
    submissions get inputs that no student has seen, so the public checks' recorded references cannot be
    replayed, while every submission graded with one cache gets the same inputs and shares its entries.
    """

    def __init__(self, directory: Path, fallback: LiveReference):
        self.root = Path(directory)
        self.root.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.secret = _secret(self.root / "secret")
        self.input_seed = int.from_bytes(hmac.new(self.secret, b"inputs", "sha256").digest()[:8], "big")
        self.directory = self.root / fingerprint()
        self.directory.mkdir(exist_ok=True, mode=0o700)
        self.fallback = fallback

    def _mac(self, key: str, data: bytes) -> str:
        return hmac.new(self.secret, key.encode() + b"\0" + data, "sha256").hexdigest()

    def call(self, target: str, *args, seed: int = 0, **kwargs):
        key = request_key(target, args, kwargs, seed)
        path = self.directory / f"{key}.json"
        try:
            mac, data = path.read_bytes().split(b"\n", 1)
            if hmac.compare_digest(mac.decode(), self._mac(key, data)):
                return codec.loads(data)
        except (OSError, ValueError, UnicodeDecodeError, KeyError, TypeError):
            pass  # missing, or not written by us: compute it
        value = self.fallback.call(target, *args, seed=seed, **kwargs)
        data = codec.dumps(value)
        # Write-then-rename: parallel graders sharing the cache never see half a file.
        fd, tmp = tempfile.mkstemp(dir=self.directory)
        with os.fdopen(fd, "wb") as f:
            f.write(self._mac(key, data).encode() + b"\n" + data)
        os.replace(tmp, path)
        return value

    def close(self) -> None:
        self.fallback.close()


def _secret(path: Path) -> bytes:
    """The cache's secret: created once (exclusively, so parallel graders agree), readable by its owner only."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        for _ in range(100):  # another grader is writing it right now
            data = path.read_bytes()
            if len(data) == 32:
                return data
            time.sleep(0.05)
        raise ReferenceError(f"the reference cache's secret {path} is damaged: delete the cache folder")
    secret = os.urandom(32)
    with os.fdopen(fd, "wb") as f:
        f.write(secret)
    return secret


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

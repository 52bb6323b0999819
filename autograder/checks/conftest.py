"""The one seam between checks and student code: the ``student`` and ``reference`` fixtures.

A check never imports student code. It builds inputs with ``rng`` (seeded by the check's name, so every
run is identical), sends them with ``student.call("module.function", ...)``, gets plain data back, and
compares it with ``reference.call(...)`` — the same call run on the solutions (or replayed from the
snapshot, for students).
"""

from __future__ import annotations

import os
import time
import zlib

import numpy as np
import pytest

from autograder.client import StudentError
from autograder.grading import PLUGIN

PACKAGE = "pretraining"


def target(name: str) -> str:
    """'autoencoder.reconstruction_loss' → 'pretraining.autoencoder:reconstruction_loss'; probes pass as is."""
    if name.startswith("probe:"):
        return name
    module, func = name.rsplit(".", 1)
    return f"{PACKAGE}.{module}:{func}"


class StudentCaller:
    """Calls into the submission's worker, within the check's time limit (shared by all its calls)."""

    def __init__(self, worker, budget: float):
        self.worker, self.budget, self.left = worker, budget, budget

    def call(self, name: str, *args, seed: int = 0, **kwargs):
        if self.left <= 0:
            raise StudentError("timeout", f"this check's time limit ({self.budget:g} s) was used up by earlier calls")
        start = time.monotonic()
        try:
            return self.worker.call(target(name), *args, seed=seed, timeout=self.left, **kwargs)
        except StudentError as exc:
            if exc.kind == "timeout":  # name the check's limit, not what was left of it: reports stay identical
                raise StudentError("timeout", f"{exc.message} — this check allows {self.budget:g} s") from None
            raise
        finally:
            self.left -= time.monotonic() - start


class ReferenceCaller:
    def __init__(self, oracle):
        self.oracle = oracle

    def call(self, name: str, *args, seed: int = 0, **kwargs):
        return self.oracle.call(target(name), *args, seed=seed, **kwargs)


def _grading(request):
    plugin = request.config.stash.get(PLUGIN, None)
    if plugin is None:
        pytest.skip("checks run through `python -m autograder`, not plain pytest")
    return plugin


@pytest.fixture
def student(request) -> StudentCaller:
    limit = request.node.get_closest_marker("check").kwargs["timeout"]
    # The repository's own tests shrink every limit to exercise hanging submissions quickly.
    return StudentCaller(_grading(request).student, limit * float(os.environ.get("AUTOGRADER_TIMEOUT_SCALE", "1")))


@pytest.fixture
def reference(request) -> ReferenceCaller:
    return ReferenceCaller(_grading(request).reference)


@pytest.fixture
def rng(request) -> np.random.Generator:
    """A NumPy generator seeded by the check's name: the same inputs on every run and every machine — except when
    grading, where the reference cache's secret seed joins in (``CachedReference.input_seed``): graded inputs are
    fresh, so the public checks' recorded references (the students' copy) cannot be replayed."""
    by_name = zlib.crc32(request.node.name.encode())
    secret = getattr(_grading(request).reference, "input_seed", None)
    return np.random.default_rng(by_name if secret is None else [by_name, secret])


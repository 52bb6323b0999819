"""Checks that wrong code cannot pass: every mutant in tests/mutants/ is graded for real (see its docstring)."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest

from autograder.paths import PACKAGE, SOLUTIONS
from autograder.release import BEGIN, _enclosing
from conftest import grade_checks
from mutants import MIN_PER_FUNCTION, all_mutants, modules

MUTANTS = all_mutants()


@pytest.fixture(autouse=True)
def one_warm_runner(monkeypatch):
    """Grade every mutant from one warm zygote with the heavy imports done (autograder/warm.py).

    Mutation testing asks what the *checks* catch, so the mutants run without the sandbox: a sandboxed worker
    is keyed to its submission's folder and would pay a cold start per mutant (~10 s), while the sandbox has
    its own hostile suite (tests/test_adversarial.py). Without isolation the zygote's command is the same for
    every mutant, so one zygote per test process serves them all.
    """
    from autograder import warm

    monkeypatch.setenv("AUTOGRADER_ISOLATION", "0")
    monkeypatch.setattr(warm, "IDLE_IMPORTS", True)


def selection(module: str, mutant, select: str) -> str:
    """The checks a mutant is graded on: its module's SELECT; a wrong or cheat mutant of a function listed in the
    module's optional ``SELECT_BY_FUNCTION`` only on that function's checks (it must be caught by the checks that
    name it, and a grading that needs no model is cheaper). Harmless variants always face every check."""
    if mutant.kind == "harmless":
        return select
    return getattr(modules()[module], "SELECT_BY_FUNCTION", {}).get(mutant.function, select)


def student_functions() -> dict[str, set[str]]:
    """{module: {function names with a solution region}}, read from solutions/ as the release reads it."""
    found: dict[str, set[str]] = {}
    for path in sorted((SOLUTIONS / PACKAGE).glob("*.py")):
        lines = path.read_text().splitlines(keepends=True)
        for i, line in enumerate(lines):
            if line.strip() == BEGIN:
                found.setdefault(path.stem, set()).add(_enclosing(lines, i, len(line) - len(line.lstrip())))
    return found


@pytest.mark.parametrize("module,name,mutant,select", MUTANTS, ids=[f"{m}:{n}" for m, n, _, _ in MUTANTS])
def test_mutant(module, name, mutant, select, make_submission, tmp_path, record_property):
    root = make_submission(mutant.patches, mutant.extra)
    select = selection(module, mutant, select)
    tests = grade_checks(root, tmp_path / "out", tmp_path.parent / "reference-cache", select)
    assert tests, f"no check matches {select!r}"
    assert all("grader error" not in t["output"] for t in tests), [t["output"] for t in tests if "grader error" in t["output"]]
    lost = sum(t["max_score"] - t["score"] for t in tests)
    lost_public = sum(t["max_score"] - t["score"] for t in tests if t["visibility"] == "visible")
    record_property("mutant", {"module": module, "kind": mutant.kind, "killed": lost > 0, "public": lost_public > 0})
    failed = [t["name"] for t in tests if t["status"] == "failed"]
    if mutant.kind == "harmless":
        assert lost == 0, f"a correct variant lost points: {failed}"
        return
    assert lost > 0, f"{mutant.kind} mutant of {mutant.function} kept full marks on {len(tests)} checks"
    for fragment in mutant.catches:
        parts = (fragment,) if isinstance(fragment, str) else fragment
        assert any(all(p in n for p in parts) for n in failed), f"no failing check matches {fragment!r}: {failed}"


def test_every_student_function_has_enough_mutants():
    covered = Counter((m, mutant.function) for m, _, mutant, _ in MUTANTS if mutant.kind != "harmless")
    missing = {f"{module}.{fn}": covered[(module, fn)]
               for module, functions in student_functions().items() for fn in sorted(functions)
               if covered[(module, fn)] < MIN_PER_FUNCTION}
    assert not missing, f"student functions with fewer than {MIN_PER_FUNCTION} wrong/cheat mutants: {missing}"


def test_mutants_name_real_student_functions():
    functions = student_functions()
    unknown = [f"{m}:{n} → {mutant.function}" for m, n, mutant, _ in MUTANTS if mutant.function not in functions.get(m, ())]
    assert not unknown, f"mutants naming no student function of their module: {unknown}"

"""Shared fixtures of the repository's own tests (not the autograder's checks: those are in autograder/checks)."""

import os
import shutil
import sys
from pathlib import Path

import pytest

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ.setdefault("PRETRAINING_DEVICE", "cpu")
REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


@pytest.fixture
def make_submission(tmp_path):
    """Copy the reference solution and patch it: ``make_submission({"autoencoder.py": (old, new)})``."""

    def make(patches: dict[str, tuple[str, str]] | None = None, extra: dict[str, str] | None = None,
             name: str = "submission") -> Path:
        root = tmp_path / name
        shutil.copytree(REPO / "solutions" / "pretraining", root / "pretraining",
                        ignore=shutil.ignore_patterns("__pycache__"))
        for name, (old, new) in (patches or {}).items():
            path = root / "pretraining" / name
            text = path.read_text()
            assert old in text, f"patch target not found in {name}: {old!r}"
            path.write_text(text.replace(old, new))
        for rel, text in (extra or {}).items():
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            (root / rel).write_text(text)
        return root

    return make


def load_probe(name: str):
    """autograder/probes/<name>.py imported in this process, to test a probe itself on the solutions (as the
    worker would run it, but here: these are the repository's own tests, never a student's code)."""
    import importlib.util

    sys.path.insert(0, str(REPO / "solutions"))
    spec = importlib.util.spec_from_file_location(f"_test_probe_{name}", REPO / "autograder" / "probes" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def grade_checks(submission: Path, out: Path, cache: Path, select: str) -> list[dict]:
    """Grade ``submission`` on the checks matching ``select`` (a pytest -k expression): the tests of its
    results.json, each with its check function's name added as ``"check"``."""
    from autograder.grading import grade

    results = grade(submission, out, cache=cache, quiet=True, select=select)
    return [{**t, "check": t["extra_data"]["check"].split("::")[-1]} for t in results["tests"]]


@pytest.fixture
def expect_caught(make_submission, tmp_path):
    """Grade the solution with ``patches`` applied; every fragment must name a failing check, no grader error.
    Returns {display name: message} of the failed checks.

    A fragment is a string, or a tuple of strings that must all appear in the failing check's name.
    """

    def run(patches: dict, failing: list, select: str) -> dict:
        tests = grade_checks(make_submission(patches), tmp_path / "out", tmp_path.parent / "reference-cache", select)
        failed = {t["name"]: t["output"] for t in tests if t["status"] == "failed"}
        for fragment in failing:
            parts = (fragment,) if isinstance(fragment, str) else fragment
            assert any(all(p in name for p in parts) for name in failed), \
                f"no failing check matches {fragment!r}; failed: {list(failed)}"
        assert all("grader error" not in message for message in failed.values()), failed
        return failed

    return run


def pytest_terminal_summary(terminalreporter):
    """The kill rate of tests/test_mutants.py per module: all checks, and the public checks alone."""
    rows: dict[str, list[int]] = {}
    for report in terminalreporter.stats.get("passed", []) + terminalreporter.stats.get("failed", []):
        if report.when != "call":
            continue
        for key, value in report.user_properties:
            if key == "mutant" and value["kind"] != "harmless":
                row = rows.setdefault(value["module"], [0, 0, 0])
                row[0] += 1
                row[1] += value["killed"]
                row[2] += value["public"]
    if rows:
        terminalreporter.section("mutation testing: wrong implementations that lose points")
        for module, (n, killed, public) in sorted(rows.items()):
            terminalreporter.write_line(f"{module:<16} {killed:>3}/{n:<3} killed ({100 * killed / n:5.1f}%);"
                                        f" by public checks alone {public:>3}/{n:<3} ({100 * public / n:5.1f}%)")

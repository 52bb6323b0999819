"""Run the checks on one submission and report: a table, and results.json in Gradescope's format.

The checks are pytest tests run in this (trusted) process; the only student-facing object they get is the
``student`` fixture, which talks to a worker process (``client.py``). Pass or fail is decided here, from
the plain data that came back — never from anything the student's process says.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import textwrap
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import pytest

from .client import StudentError, Worker, clean_text
from .compare import Mismatch
from .oracle import CachedReference, LiveReference, ReferenceError
from .paths import CHECKS, HIDDEN_CHECKS, PUBLIC_CHECKS, SOLUTIONS
from .sandbox import Sandbox, hidden_from_env
from .submission import SubmissionError, prepare

PLUGIN = pytest.StashKey["GradingPlugin"]()  # how the checks' fixtures find the running grader
VISIBILITY = {"public": "visible", "hidden": "after_published"}  # Gradescope's words


@dataclass
class CheckResult:
    name: str          # the check's docstring, first line
    nodeid: str        # e.g. public/test_autoencoder.py::test_reconstruction_loss_mean
    visibility: str    # "public" or "hidden"
    max_score: float
    score: float
    passed: bool
    message: str       # why it failed, written for the student; "" when passed


def _message(exc: BaseException) -> str:
    """The failure message for the report: capped and free of control characters (it may quote student text)."""
    return clean_text(_raw_message(exc))


def _raw_message(exc: BaseException) -> str:
    if isinstance(exc, (StudentError, Mismatch)):
        return str(exc)
    if isinstance(exc, ReferenceError):
        return f"grader error, not your fault — please tell the course staff: {exc}"
    if isinstance(exc, AssertionError):
        return str(exc).split("\nassert ")[0] or "a property of your output does not hold"
    return f"grader error, not your fault — please tell the course staff: {type(exc).__name__}: {exc}"


class GradingPlugin:
    """Collects one :class:`CheckResult` per check; holds the student worker and the reference."""

    def __init__(self, student: Worker | None, reference, progress: Path | None = None):
        self.student, self.reference, self.progress = student, reference, progress
        self.results: list[CheckResult] = []
        self.errors: list[str] = []
        self.collected: list[CheckResult] = []

    def pytest_configure(self, config):
        config.stash[PLUGIN] = self

    def pytest_collection_modifyitems(self, items):
        for item in items:
            marker = item.get_closest_marker("check")
            if marker is None or {"points", "timeout"} - set(marker.kwargs):
                raise pytest.UsageError(f"{item.nodeid} needs @pytest.mark.check(points=..., timeout=...)")

    def pytest_collection_finish(self, session):
        self.collected = [_unscored(item) for item in session.items]  # after -k deselection

    def pytest_collectreport(self, report):
        if report.failed:
            self.errors.append(f"could not load checks {report.nodeid}: {report.longreprtext[-2000:]}")

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item, call):
        outcome = yield
        report = outcome.get_result()
        if report.when == "call" or (report.when == "setup" and not report.passed):
            passed = report.passed
            message = "" if passed else (_message(call.excinfo.value) if call.excinfo else "skipped")
            result = _unscored(item)
            result.score, result.passed, result.message = result.max_score if passed else 0.0, passed, message
            self.results.append(result)
            if self.progress is not None:  # one line per finished check: a batch that must stop us keeps them
                with open(self.progress, "a") as f:
                    f.write(json.dumps(asdict(result)) + "\n")


def _unscored(item) -> CheckResult:
    """A check's row before it runs: its name (docstring's first line, plus a parametrized case's id), points."""
    doc = (item.function.__doc__ or item.name).strip().splitlines()[0]
    if hasattr(item, "callspec"):  # a parametrized check: one row per case, each with its own name
        doc += f" [{item.callspec.id}]"
    visibility = "public" if PUBLIC_CHECKS in Path(item.path).parents else "hidden"
    points = float(item.get_closest_marker("check").kwargs["points"])
    return CheckResult(doc, item.nodeid, visibility, points, 0.0, False, "")


def _pytest_args(visibilities, select: str | None) -> list[str]:
    folders = {"public": PUBLIC_CHECKS, "hidden": HIDDEN_CHECKS}
    args = [str(folders[v]) for v in visibilities if folders[v].is_dir()]
    args += ["-c", str(CHECKS / "pytest.ini"), "--rootdir", str(CHECKS), "--import-mode=importlib",
             "-p", "no:cacheprovider", "-p", "no:terminal", "-p", "no:logging", "-W", "ignore::DeprecationWarning"]
    if select:
        args += ["-k", select]
    return args


def _pytest_main(args: list[str], plugin) -> int:
    """pytest.main without the installed plugins' entry points (xdist, anyio, …): the checks need none of them,
    and loading them costs about half a second per grading."""
    before = os.environ.get("PYTEST_DISABLE_PLUGIN_AUTOLOAD")
    os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    try:
        return pytest.main(args, plugins=[plugin])
    finally:
        if before is None:
            del os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"]
        else:
            os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = before


def collect_checks(select: str | None = None, visibilities=("public", "hidden")) -> list[CheckResult]:
    """Every check that ``select`` picks, unscored, in grading order (nothing runs; no student code)."""
    plugin = GradingPlugin(None, None)
    code = _pytest_main(_pytest_args(visibilities, select) + ["--collect-only"], plugin)
    if plugin.errors or code not in (pytest.ExitCode.OK, pytest.ExitCode.NO_TESTS_COLLECTED):
        raise RuntimeError("the checks could not be collected: " + "\n".join(plugin.errors or [f"exit {int(code)}"]))
    return plugin.collected


def run_checks(student: Worker, reference, visibilities=("public", "hidden"), select: str | None = None,
               progress: Path | None = None) -> tuple[list[CheckResult], list[str]]:
    """Run the checks of the given visibilities against ``student``; return results and loading errors.

    ``progress``: a file that gets one JSON line per finished check (so a batch that has to stop this grading
    at its deadline keeps what was graded)."""
    args = _pytest_args(visibilities, select)
    plugin = GradingPlugin(student, reference, progress)
    code = _pytest_main(args, plugin)
    if code == pytest.ExitCode.INTERRUPTED:  # Ctrl-C or SIGTERM: never report a half-graded submission as graded
        raise KeyboardInterrupt
    if code not in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED, pytest.ExitCode.NO_TESTS_COLLECTED):
        plugin.errors.append(f"the checks could not run (pytest exit code {int(code)})")
    return plugin.results, plugin.errors


def results_json(results: list[CheckResult], execution_time: float, output: str) -> dict:
    """Gradescope's autograder results format."""
    return {
        "score": round(sum(r.score for r in results), 4),
        "execution_time": round(execution_time, 3),
        "output": output,
        "visibility": "visible",
        "stdout_visibility": "hidden",
        "tests": [
            {"name": r.name, "number": str(i + 1), "score": r.score, "max_score": r.max_score,
             "status": "passed" if r.passed else "failed", "output": r.message or "passed",
             "visibility": VISIBILITY[r.visibility], "tags": [r.nodeid.split("/")[-1].split("::")[0]],
             "extra_data": {"check": r.nodeid}}
            for i, r in enumerate(results)
        ],
    }


def table(results: list[CheckResult], width: int = 100) -> str:
    """A plain-text table: check, visibility, points, passed; a failure's message wrapped under its check."""
    w = min(max([len(r.name) for r in results] + [5]), 96)
    rule = "-" * (w + 27)
    lines = [f"{'check':<{w}}  {'':<6} {'points':>9}  passed", rule]
    for r in results:
        name = r.name if len(r.name) <= w else r.name[:w - 3] + "..."
        lines.append(f"{name:<{w}}  {r.visibility:<6} {r.score:>4g}/{r.max_score:<4g}  {'yes' if r.passed else 'NO'}")
        for para in r.message.splitlines():
            lines += textwrap.wrap(para, width=width, initial_indent="    ", subsequent_indent="      ") or [""]
    total, most = sum(r.score for r in results), sum(r.max_score for r in results)
    lines += [rule, f"{'total':<{w}}  {'':<6} {total:>4g}/{most:<4g}"]
    return "\n".join(lines)


def student_table(results: list[CheckResult]) -> str:
    """The table sent to students: a hidden check shows only its file, its points and whether it passed — never
    its name, its hint or its failure message (those would give the hidden check away)."""
    shown, hidden = [], 0
    for r in results:
        if r.visibility == "hidden":
            hidden += 1
            where = r.nodeid.split("/")[-1].split("::")[0].removeprefix("test_").removesuffix(".py")
            r = CheckResult(f"hidden check {hidden} ({where})", r.nodeid, r.visibility, r.max_score, r.score,
                            r.passed, "")
        shown.append(r)
    return table(shown)


def from_results_json(data: dict) -> list[CheckResult]:
    """The rows of a results.json (as :func:`results_json` wrote them) back as :class:`CheckResult`."""
    back = {v: k for k, v in VISIBILITY.items()}
    return [CheckResult(t["name"], t.get("extra_data", {}).get("check", t["name"]), back.get(t["visibility"], "hidden"),
                        float(t["max_score"]), float(t["score"]), t["status"] == "passed",
                        "" if t["status"] == "passed" else t["output"]) for t in data.get("tests", [])]


def write_atomic(path: Path, text: str) -> None:
    """Write-then-rename: a reader (or a killed batch) never sees half a file."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_report(out: Path, data: dict, notes: list[str]) -> str:
    """``out/results.json`` (everything, for the course staff and Gradescope) and ``out/feedback.txt`` (what
    to send the student: no hidden check's internals); return the feedback."""
    feedback = "\n".join(notes + [student_table(from_results_json(data))])
    write_atomic(out / "results.json", json.dumps(data, indent=2) + "\n")
    write_atomic(out / "feedback.txt", feedback + "\n")
    return feedback


def grade(submission: Path, out: Path, cache: Path | None = None, quiet: bool = False, select: str | None = None,
          progress: Path | None = None) -> dict:
    """Grade one submission (a folder or a .zip); write ``out/results.json`` and ``out/feedback.txt`` (the
    table with every failing public check's message); return the results.

    ``select`` is a pytest ``-k`` expression that limits the checks (e.g. to regrade one section).
    """
    start = time.monotonic()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    notes = []
    workdir = Path(tempfile.mkdtemp(prefix="grade-"))
    try:
        try:
            root = prepare(submission, workdir)
        except (SubmissionError, OSError) as exc:  # grade what we can: every check then says what is missing
            notes.append(f"Your submission could not be read: {exc}")
            root = workdir / "empty"
            root.mkdir()
        cache = cache or out / ".reference-cache"
        reference = CachedReference(cache, LiveReference())
        # What the student's code must not see: the answers, and every other student's files and results.
        sandbox = Sandbox(hide=[SOLUTIONS, HIDDEN_CHECKS, cache, out, *hidden_from_env()])
        with Worker(root, sandbox) as student:
            try:
                results, errors = run_checks(student, reference, select=select, progress=progress)
            finally:
                reference.close()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    notes += errors
    data = results_json(results, time.monotonic() - start, "\n".join(notes))
    write_report(out, data, notes)
    if not quiet:
        print(f"== {Path(submission).name}  ({sandbox.describe()})")
        print("\n".join(notes + [table(results)]))  # the course staff's view: every message, hidden ones too
    return data

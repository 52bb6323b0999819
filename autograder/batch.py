"""``grade-all``: grade a class, one child process per submission, in a way that survives anything.

- **Resumable.** ``OUT/<student>/grading.json`` records the hash of what the student handed in and the version
  of every check graded (a hash of the check's file and of the grader code it relies on). A rerun skips every
  student whose submission and selected checks are unchanged; ``--force`` or naming students regrades them.
- **Regrades of a subset** (``-k`` or ``--student``) replace only those checks' rows in the student's
  results.json; every other row is kept. ``grades.csv`` is always rebuilt from every student's results.json.
- **Atomic.** Every file is written to a temporary name and renamed: a killed batch leaves old or new, never half.
- **A deadline per submission** (``--deadline``, well under Gradescope's limit): a submission that hangs (at
  import, say) costs one deadline, not every check's timeout. The child is killed, the checks it finished keep
  their scores (it reports each one as it finishes) and every other check is marked "not graded: the time for
  the whole submission ran out" — results.json always holds every check.
- **Nothing left running or on disk, and nothing but the submission's touched.** Each submission is graded by a
  *job*: a process of its own (:func:`run_job`), in its own session, that does nothing else. It is the child
  subreaper of everything it starts, so every process of that submission — its workers, the reference's, and
  whatever the student's code starts, orphans and daemons included — stays its descendant (in the namespaces
  sandbox the student's processes are also held in the worker's PID namespace, in the uid mode under a uid that
  is the worker's alone), and before it exits it kills every one of them. Its workers die with it should it die
  first (:func:`autograder.sandbox.die_with_this_process`). On a deadline, SIGINT or SIGTERM the batch asks the job
  to stop (SIGTERM: it closes its workers itself); a job still there after a grace period is frozen (SIGSTOP)
  so that nothing of it can move away, its descendants are killed, then the job. The batch never kills "every
  child" or "every process of a uid": it does not know what else the process that runs it is doing (a test, a
  notebook), and as an ordinary user the worker's uid is the grader's own. Scratch space is ``OUT/.scratch``
  (removed at the end, and at the start of the next run if a previous one was killed with SIGKILL).
- **No fake zeros.** An interrupted student is not recorded at all (the rerun grades them). A grader fault —
  the grading process crashed, or a check reports a grader error — stops the batch with an instructor-facing
  message instead of scoring anyone; a pre-flight grading of the reference solution (which must pass every
  selected check) runs first, so a broken environment is caught before any student is graded.
- **Past one machine.** ``--shard i/N`` grades every N-th submission (0-based ``i``: Slurm's
  ``SLURM_ARRAY_TASK_ID``, Kubernetes' ``JOB_COMPLETION_INDEX``) and leaves grades.csv to ``merge``; on a GPU
  machine ``--gpus 0,1,…`` (or ``--gpus all``) runs one submission per GPU, each child seeing only its own
  (``CUDA_VISIBLE_DEVICES``).
"""

from __future__ import annotations

import csv
import ctypes
import hashlib
import io
import json
import os
import queue
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from .paths import CHECKS, PACKAGE, REPO, SOLUTIONS

# Folders that never belong to a submission: environments, caches, version control.
JUNK = {".venv", "venv", "env", ".env", ".conda", ".git", "__pycache__", ".ipynb_checkpoints", ".pytest_cache",
        ".mypy_cache", ".ruff_cache", ".tox", "node_modules", ".cache", ".local", ".jupyter", ".ipython"}
# What a check's result depends on besides the check's own file (and the solutions, which give the reference
# values): changing any of it regrades that check. Infrastructure (client, worker, sandbox) is left out on
# purpose: it must not change results, and a fix there must not regrade a whole class (use --force if it does).
GRADER_CODE = ["checks/conftest.py", "checks/inputs.py", "checks/stats.py", "checks/pytest.ini", "probes",
               "compare.py"]
PREFLIGHT = ".preflight"
PREFLIGHT_DEADLINE = 1800.0  # the reference solution's grading also computes every reference value
GRADER_FAULT = "grader error"
EXIT_INTERRUPTED, EXIT_GRADER_FAULT = 130, 3


class GraderFault(RuntimeError):
    """The grader or its environment is broken: no student may be scored until an instructor fixes it."""


def student_id(path: Path) -> str:
    return re.sub(r"[^A-Za-z0-9._-]", "_", path.name.removesuffix(".zip")).lstrip(".") or "submission"


def _hash_tree(root: Path, digest) -> None:
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        if any(part in JUNK for part in rel.parts) or path.is_symlink() or not path.is_file():
            continue
        digest.update(rel.as_posix().encode() + b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())


def submission_hash(path: Path) -> str:
    """What the student handed in, as one hash (environments and caches left out)."""
    digest = hashlib.sha256()
    path = Path(path)
    if path.is_dir():
        _hash_tree(path.resolve(), digest)
    elif path.is_file():
        digest.update(path.read_bytes())
    return digest.hexdigest()[:20]


def check_versions(nodeids: list[str]) -> dict[str, str]:
    """Each check's version: its file and the grader code and solutions it relies on, hashed."""
    shared = hashlib.sha256()
    for rel in GRADER_CODE:
        path = CHECKS.parent / rel
        if path.is_dir():
            _hash_tree(path, shared)
        elif path.is_file():
            shared.update(path.read_bytes())
    _hash_tree(SOLUTIONS / PACKAGE, shared)
    files: dict[str, str] = {}
    versions = {}
    for nodeid in nodeids:
        file = nodeid.split("::")[0]
        if file not in files:
            digest = shared.copy()
            digest.update((CHECKS / file).read_bytes() if (CHECKS / file).is_file() else b"")
            files[file] = digest.hexdigest()[:20]
        versions[nodeid] = files[file]
    return versions


def _write_json(path: Path, data) -> None:
    from .grading import write_atomic

    write_atomic(path, json.dumps(data, indent=2) + "\n")


def _read_json(path: Path):
    try:
        return json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return None


# -- child processes ---------------------------------------------------------------------------------------
def _set_subreaper(on: bool = True) -> bool:
    """Orphans of our descendants become our children (and so stay our descendants), so that we can kill them."""
    try:
        return ctypes.CDLL(None, use_errno=True).prctl(36, int(on), 0, 0, 0) == 0  # PR_SET_CHILD_SUBREAPER
    except (OSError, AttributeError):
        return False


# How the batch starts a job: ``python -c JOB grade SUBMISSION --out ...`` (what ``python -m autograder grade``
# takes), run in the checkout.
JOB = "import sys; from autograder.batch import run_job; sys.exit(run_job(sys.argv[1:]))"


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def run_job(argv: list[str], main=None) -> int:
    """One submission's grading, as a process that does nothing else: ``python -m autograder ARGV`` (``grade``;
    or ``main(ARGV)``), then every process it leaves is killed. It is the child subreaper of all it starts, so
    nothing of this submission — a worker, the reference's worker, a student's daemon in a session of its own, a
    double fork — can leave its descendants; and its workers die with it should it be killed first."""
    signal.signal(signal.SIGTERM, _interrupt)  # first of all: the batch's SIGTERM must reach the `finally` below
    from .sandbox import die_with_this_process, kill_descendants

    _set_subreaper()
    die_with_this_process()
    try:
        if main is None:
            from .cli import main
        return main(argv)
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    finally:
        from . import warm

        warm.shutdown()  # its zygotes closed as usual first, so that no one waits for a child collected below
        kill_descendants(os.getpid())


def stop_job(proc: subprocess.Popen, grace: float = 5.0) -> None:
    """End a job (:func:`run_job`) and every process of its submission, and nothing else. SIGTERM first (it closes
    its workers and kills what is left itself); a job still running after ``grace`` is frozen (SIGSTOP: it can
    start nothing more, and as their subreaper it keeps every orphan of its tree among its descendants), its
    descendants are killed, then the job. A job that has already exited killed its own."""
    from .sandbox import kill_descendants

    if proc.poll() is None:
        try:
            os.kill(proc.pid, signal.SIGTERM)
            proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            pass
        except ProcessLookupError:
            pass
    if proc.poll() is None:
        try:
            os.kill(proc.pid, signal.SIGSTOP)
        except ProcessLookupError:
            pass
        kill_descendants(proc.pid)
        try:
            os.kill(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait()


@dataclass
class Outcome:
    sid: str
    status: str              # graded | deadline | skipped | interrupted | grader_error
    data: dict | None = None
    seconds: float = 0.0
    detail: str = ""


@dataclass
class Batch:
    folder: Path
    out: Path
    jobs: int = 1
    deadline: float = 600.0
    select: str | None = None
    students: list[str] = field(default_factory=list)
    force: bool = False
    shard: tuple[int, int] = (0, 1)
    gpus: list[str] = field(default_factory=list)
    preflight: bool = True
    log: io.TextIOBase = sys.stdout

    def __post_init__(self):
        self.folder, self.out = Path(self.folder), Path(self.out)
        self.cache = self.out / ".reference-cache"
        self.scratch = self.out / ".scratch" / f"{socket.gethostname()}-{os.getpid()}"
        self.stop = threading.Event()
        self.running: dict[int, subprocess.Popen] = {}
        self.lock = threading.Lock()
        self.slots: queue.Queue = queue.Queue()

    # -- what to grade -------------------------------------------------------------------------------------
    def entries(self) -> list[Path]:
        entries = sorted(p for p in self.folder.iterdir()
                         if (p.is_dir() or p.suffix == ".zip") and not p.name.startswith(".")
                         and p.resolve() != self.out.resolve())  # an --out inside the folder is not a student
        ids = [student_id(p) for p in entries]
        if len(set(ids)) != len(ids):
            raise ValueError("two submissions map to the same name; rename them: "
                             + ", ".join(sorted({i for i in ids if ids.count(i) > 1})))
        if self.students:
            unknown = set(self.students) - set(ids)
            if unknown:
                raise ValueError(f"no submission for {', '.join(sorted(unknown))} in {self.folder}")
            entries = [p for p in entries if student_id(p) in self.students]
        index, count = self.shard
        return [p for i, p in enumerate(entries) if i % count == index]

    def up_to_date(self, sid: str, digest: str) -> bool:
        meta = _read_json(self.out / sid / "grading.json") or {}
        graded = meta.get("checks", {})
        return (meta.get("submission") == digest and (self.out / sid / "results.json").is_file()
                and all(graded.get(n) == v for n, v in self.versions.items()))

    # -- one submission --------------------------------------------------------------------------------------
    def grade_one(self, entry: Path, sid: str, digest: str) -> Outcome:
        if self.stop.is_set():
            return Outcome(sid, "interrupted")
        staging = self.scratch / sid
        shutil.rmtree(staging, ignore_errors=True)
        (staging / "tmp").mkdir(parents=True)
        progress, result_dir = staging / "progress.jsonl", staging / "out"
        command = [sys.executable, "-c", JOB, "grade", str(entry), "--out", str(result_dir), "--quiet",
                   "--reference-cache", str(self.cache), "--progress", str(progress)]
        command += ["-k", self.select] if self.select else []
        # Each student's code must see neither the other submissions, nor anyone's results, nor the private
        # copies of the students graded at the same time: all of those live under the hidden folders.
        folders = {p.resolve() for p in (entry.parent, self.out.parent)}  # our scratch lies inside out.parent
        hide = os.pathsep.join(str(p) for p in folders if not any(p != q and p.is_relative_to(q) for q in folders))
        env = {**os.environ, "AUTOGRADER_HIDE": hide, "TMPDIR": str(staging / "tmp")}
        slot = self.slots.get()
        if self.gpus:
            env["CUDA_VISIBLE_DEVICES"] = self.gpus[slot]
        start = time.monotonic()
        try:
            with open(staging / "grader.log", "wb") as log:
                with self.lock:  # started and registered at once: the batch's stop finds every running job
                    proc = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, cwd=REPO, env=env,
                                            start_new_session=True)
                    self.running[proc.pid] = proc
                try:
                    while proc.poll() is None and not self.stop.is_set() and time.monotonic() - start < self.deadline:
                        try:
                            proc.wait(timeout=0.2)
                        except subprocess.TimeoutExpired:
                            pass
                finally:
                    code = proc.poll()
                    stop_job(proc)
                    with self.lock:
                        self.running.pop(proc.pid, None)
                    self.reap()
            seconds = time.monotonic() - start
            text = (staging / "grader.log").read_text(errors="replace")
            if code is None and self.stop.is_set():
                return Outcome(sid, "interrupted", seconds=seconds)
            if code is None:
                return Outcome(sid, "deadline", self.deadline_results(progress, seconds), seconds)
            data = _read_json(result_dir / "results.json")
            if code != 0 or data is None:
                return Outcome(sid, "grader_error", seconds=seconds,
                               detail=f"the grading process exited with code {code}:\n{text[-3000:]}")
            faults = [f"{t['name']}: {t['output']}" for t in data["tests"] if t["output"].startswith(GRADER_FAULT)]
            if faults:
                return Outcome(sid, "grader_error", seconds=seconds, detail="\n".join(faults[:10]))
            (result_dir / "grader.log").write_text(text)
            return Outcome(sid, "graded", data, seconds)
        finally:
            self.slots.put(slot)
            shutil.rmtree(staging, ignore_errors=True)

    def deadline_results(self, progress: Path, seconds: float) -> dict:
        """results.json for a submission stopped at its deadline: what finished keeps its score, every other
        check is marked as not graded."""
        from .grading import CheckResult, results_json

        done = {}
        for line in (progress.read_text().splitlines() if progress.is_file() else []):
            try:
                row = CheckResult(**json.loads(line))
                done[row.nodeid] = row
            except (ValueError, TypeError):
                continue  # the last line may be cut short by the kill
        message = (f"not graded: grading your whole submission took longer than its time limit "
                   f"({self.deadline:g} s) — does your code hang or run very slowly (at import, perhaps)?")
        rows = [done.get(c.nodeid) or CheckResult(c.name, c.nodeid, c.visibility, c.max_score, 0.0, False, message)
                for c in self.checks]
        return results_json(rows, seconds, f"Grading stopped at the time limit ({self.deadline:g} s) for the "
                                             f"whole submission; {len(done)} of {len(rows)} checks had finished.")

    def reap(self) -> None:
        """After a job: as root, the processes of any worker uid that no sandbox holds any more (a job killed
        before its own reap, in the uid mode). Only those: never a child of this process, which may be another
        job just started, or something the process running this batch does besides (:func:`stop_job` has
        already ended the job's own)."""
        from .sandbox import reap_abandoned_uids

        reap_abandoned_uids()

    # -- recording -------------------------------------------------------------------------------------------
    def record(self, outcome: Outcome, digest: str) -> None:
        """Merge the new rows into the student's results.json (other checks' rows are kept) and note versions."""
        from .grading import from_results_json, results_json, write_report

        folder = self.out / outcome.sid
        folder.mkdir(parents=True, exist_ok=True)
        meta = _read_json(folder / "grading.json") or {}
        old = _read_json(folder / "results.json") if meta.get("submission") == digest else None
        new = outcome.data
        rows = {r.nodeid: r for r in from_results_json(old or {})}
        rows.update({r.nodeid: r for r in from_results_json(new)})
        ordered = [rows[n] for n in self.order if n in rows] + [r for n, r in rows.items() if n not in self.order]
        notes = [new.get("output", "")] if new.get("output") else []
        data = results_json(ordered, new.get("execution_time", outcome.seconds), "\n".join(notes))
        write_report(folder, data, notes)
        checks = {**(meta.get("checks", {}) if old is not None else {}), **self.versions}
        _write_json(folder / "grading.json", {"submission": digest, "checks": checks, "status": outcome.status,
                                              "seconds": round(outcome.seconds, 1)})

    # -- the whole batch -------------------------------------------------------------------------------------
    def run(self) -> int:
        self.out.mkdir(parents=True, exist_ok=True)
        entries = self.entries()
        for _ in range(max(1, len(self.gpus) if self.gpus else self.jobs)):
            self.slots.put(self.slots.qsize())
        self._clean_stale_scratch()
        with self.supervising():
            try:
                try:
                    from .grading import collect_checks

                    self.order = [c.nodeid for c in collect_checks()]
                    self.checks = collect_checks(self.select)
                except (RuntimeError, ImportError) as exc:  # the checks, or the grader's own packages, are broken
                    raise GraderFault(f"the checks could not be loaded: {type(exc).__name__}: {exc}") from None
                self.versions = check_versions([c.nodeid for c in self.checks])
                if self.preflight:
                    self.run_preflight()
                return self.run_students(entries)
            except GraderFault as exc:
                print(f"\nGRADING STOPPED — a fault of the grader, not of any student:\n{exc}\n"
                      "No student was given a grade for this run (finished students keep their results); fix the "
                      "grading environment, then rerun the same command.", file=sys.stderr)
                return EXIT_GRADER_FAULT
            except KeyboardInterrupt:
                return EXIT_INTERRUPTED

    @contextmanager
    def supervising(self):
        """While grading: SIGINT/SIGTERM stop the jobs. On the way out, however it is left: every job still running
        is stopped with everything of its submission (:func:`stop_job`), the signal handlers are restored, and our
        scratch folder (with ``.scratch`` if that is left empty) is removed."""
        handlers = self._install_signals()
        try:
            yield
        finally:
            self.stop.set()
            with self.lock:
                jobs = list(self.running.values())
            for proc in jobs:
                stop_job(proc)
            self.reap()
            for sig, handler in handlers.items():
                signal.signal(sig, handler)
            shutil.rmtree(self.scratch, ignore_errors=True)
            if self.scratch.parent.is_dir() and not any(self.scratch.parent.iterdir()):
                self.scratch.parent.rmdir()

    def run_preflight(self) -> None:
        """The reference solution, graded like a student, must pass every selected check."""
        digest = submission_hash(SOLUTIONS)
        if self.up_to_date(PREFLIGHT, digest) and not self.force:
            return
        print(f"pre-flight: grading the reference solution on {len(self.checks)} check(s)...", file=self.log,
              flush=True)
        deadline, self.deadline = self.deadline, max(self.deadline, PREFLIGHT_DEADLINE)  # cold caches: be patient
        try:
            outcome = self.grade_one(SOLUTIONS, PREFLIGHT, digest)
        finally:
            self.deadline = deadline
        if outcome.status == "interrupted":
            raise KeyboardInterrupt
        if outcome.status == "grader_error":
            raise GraderFault(f"the reference solution could not be graded: {outcome.detail}")
        failed = [t for t in outcome.data["tests"] if t["status"] != "passed"]
        if failed:
            raise GraderFault("the reference solution fails its own checks (a broken environment, a missing "
                              "package, a reference that raises?):\n" + "\n".join(
                                  f"  - {t['name']}: {t['output'][:400]}" for t in failed[:15]))
        self.record(outcome, digest)

    def run_students(self, entries: list[Path]) -> int:
        todo, skipped = [], 0
        for entry in entries:
            sid, digest = student_id(entry), submission_hash(entry)
            if self.force or self.students or not self.up_to_date(sid, digest):
                todo.append((entry, sid, digest))
            else:
                skipped += 1
        print(f"{len(entries)} submission(s){' in shard %d/%d' % self.shard if self.shard[1] > 1 else ''}: "
              f"{skipped} already graded (unchanged), {len(todo)} to grade, {len(self.checks)} check(s) each, "
              f"{self.slots.qsize()} at a time", file=self.log, flush=True)
        start, finished, fault = time.monotonic(), 0, None
        with ThreadPoolExecutor(max_workers=self.slots.qsize()) as pool:
            futures = {pool.submit(self.grade_one, *job): job for job in todo}
            from concurrent.futures import as_completed

            for future in as_completed(futures):
                entry, sid, digest = futures[future]
                outcome = future.result()
                if outcome.status in ("graded", "deadline"):
                    self.record(outcome, digest)
                    finished += 1
                elif outcome.status == "grader_error" and fault is None:
                    fault = f"while grading {sid}: {outcome.detail}"
                    self.stop.set()
                self._progress(outcome, finished, len(todo), start)
        self.write_csv_unless_sharded()
        if fault:
            raise GraderFault(fault)
        if self.stop.is_set():
            print(f"interrupted: {finished} graded; rerun the same command to finish", file=self.log, flush=True)
            return EXIT_INTERRUPTED
        return 0

    def _progress(self, outcome: Outcome, finished: int, total: int, start: float) -> None:
        elapsed = time.monotonic() - start
        left = total - finished
        eta = f"ETA {_duration(elapsed / finished * left)}" if finished else "ETA ?"
        score = ""
        if outcome.data:
            score = f"{outcome.data['score']:g}/{sum(t['max_score'] for t in outcome.data['tests']):g}"
        print(f"[{finished}/{total}] {outcome.sid:<28} {score:>11} {outcome.status:<11} "
              f"{outcome.seconds:6.1f} s | {_duration(elapsed)} elapsed, {eta}", file=self.log, flush=True)

    def write_csv_unless_sharded(self) -> None:
        if self.shard[1] > 1:
            print(f"shard {self.shard[0]}/{self.shard[1]} done; when every shard is, run "
                  f"`python -m autograder merge {self.out}`", file=self.log, flush=True)
            return
        path = write_grades_csv(self.out)
        print(f"wrote {path}", file=self.log, flush=True)

    def _install_signals(self) -> dict:
        if threading.current_thread() is not threading.main_thread():
            return {}
        old = {}

        def handler(signum, frame):
            self.stop.set()  # the workers' threads see it within 0.2 s and kill their children's trees

        for sig in (signal.SIGINT, signal.SIGTERM):
            old[sig] = signal.signal(sig, handler)
        return old

    def _clean_stale_scratch(self) -> None:
        """Scratch left by a batch on this host that was killed with SIGKILL (its process is gone)."""
        host = socket.gethostname()
        for folder in (self.out / ".scratch").glob(f"{host}-*"):
            try:
                os.kill(int(folder.name.rsplit("-", 1)[1]), 0)
            except ProcessLookupError:
                shutil.rmtree(folder, ignore_errors=True)
            except (ValueError, PermissionError):
                pass


def _duration(seconds: float) -> str:
    seconds = int(round(seconds))
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m" if seconds >= 3600 else f"{seconds // 60}m{seconds % 60:02d}s"


def write_grades_csv(out: Path) -> Path:
    """``OUT/grades.csv`` from every ``OUT/<student>/results.json``: one row per student, one column per check."""
    out = Path(out)
    results = {}
    for folder in sorted(p for p in out.iterdir() if p.is_dir() and not p.name.startswith(".")):
        data = _read_json(folder / "results.json")
        if data is not None:
            results[folder.name] = (data, (_read_json(folder / "grading.json") or {}).get("status", "graded"))
    names: list[str] = []
    for data, _ in results.values():
        for t in data.get("tests", []):
            if t["name"] not in names:
                names.append(t["name"])
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["student", "score", "max_score", "status", *names])
    for sid, (data, status) in results.items():
        by_name = {t["name"]: t["score"] for t in data.get("tests", [])}
        most = sum(t["max_score"] for t in data.get("tests", []))
        writer.writerow([sid, data["score"], most, status, *(by_name.get(n, "") for n in names)])
    from .grading import write_atomic

    write_atomic(out / "grades.csv", buffer.getvalue())
    return out / "grades.csv"


def merge(out: Path, shards: list[Path]) -> Path:
    """Bring the students of other shard folders into ``out`` (atomically, newest grading wins), then rebuild
    ``out/grades.csv``. With shards that wrote to one shared ``out``, ``shards`` is empty."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    for shard in map(Path, shards):
        for folder in sorted(p for p in shard.iterdir() if p.is_dir() and not p.name.startswith(".")):
            if not (folder / "results.json").is_file():
                continue
            target = out / folder.name
            if (target / "grading.json").is_file() and \
                    (target / "grading.json").stat().st_mtime >= (folder / "grading.json").stat().st_mtime:
                continue
            staging = out / f".{folder.name}.merging"
            shutil.rmtree(staging, ignore_errors=True)
            shutil.copytree(folder, staging)
            old = out / f".{folder.name}.old"
            if target.exists():
                os.replace(target, old)
            os.replace(staging, target)
            shutil.rmtree(old, ignore_errors=True)
    return write_grades_csv(out)


def parse_shard(text: str) -> tuple[int, int]:
    match = re.fullmatch(r"(\d+)/(\d+)", text or "")
    if not match or not int(match[1]) < int(match[2]):
        raise ValueError(f"--shard wants i/N with 0 <= i < N (got {text!r})")
    return int(match[1]), int(match[2])


def parse_gpus(text: str | None) -> list[str]:
    """``0,1,3`` → those GPUs; ``all`` → every GPU ``nvidia-smi -L`` lists; none → no GPU pinning."""
    if not text:
        return []
    if text != "all":
        return [g.strip() for g in text.split(",") if g.strip()]
    try:
        listed = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.TimeoutExpired):
        listed = ""
    return [str(i) for i, line in enumerate(l for l in listed.splitlines() if l.startswith("GPU "))]


def grade_with_deadline(submission: Path, out: Path, cache: Path | None, select: str | None, deadline: float) -> int:
    """``grade --deadline``: one submission (Gradescope's run_autograder), graded in a child process that is
    stopped at ``deadline``; results.json is then still written, every unfinished check marked. A grader fault
    writes a results.json that says so (score 0, for the staff to regrade) and exits 3."""
    from .grading import collect_checks, from_results_json, results_json, write_report

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    batch = Batch(Path(submission).parent, out / ".batch", deadline=deadline, select=select, preflight=False)
    if cache is not None:
        batch.cache = Path(cache)
    batch.checks = collect_checks(select)
    batch.slots.put(0)
    try:
        with batch.supervising():
            outcome = batch.grade_one(Path(submission), "submission", submission_hash(Path(submission)))
    finally:
        shutil.rmtree(out / ".batch", ignore_errors=True)
    if outcome.status == "interrupted":
        return EXIT_INTERRUPTED
    if outcome.status == "grader_error":
        note = ("The autograder itself failed (not your code): the course staff will regrade this submission. "
                f"Details for the staff: {outcome.detail[-1500:]}")
        write_report(out, results_json([], outcome.seconds, note), [note])
        return EXIT_GRADER_FAULT
    notes = [outcome.data["output"]] if outcome.data.get("output") else []
    write_report(out, results_json(from_results_json(outcome.data), outcome.seconds, "\n".join(notes)), notes)
    return 0

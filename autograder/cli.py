"""``python -m autograder COMMAND``: release, bundle, gradescope, check, submit, grade, grade-all, merge, course,
grades, examples."""

from __future__ import annotations

import argparse
import os
import signal
import sys
from pathlib import Path

from .paths import ASSIGNMENTS, SOLUTIONS, STARTER

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def cmd_release(args) -> int:
    from .release import release

    stale = release(check=args.check)
    if args.check:
        for path in stale:
            print(f"stale: {path}")
        print("release is up to date" if not stale else
              f"{len(stale)} file(s) differ from solutions/: run `python -m autograder release`")
        return 1 if stale else 0
    print("\n".join(f"wrote {p}" for p in stale) or "release was already up to date")
    return 0


def cmd_bundle(args) -> int:
    """Instructors: the zip to hand to students (no solutions, no hidden checks)."""
    from .release import bundle

    names = bundle(Path(args.out))
    print(f"wrote {args.out}: {len(names)} files (starter_code/, assignments/, data/, the public checks)")
    return 0


def cmd_gradescope(args) -> int:
    """Instructors: the autograder zip to upload to Gradescope."""
    from .release import gradescope

    names = gradescope(Path(args.out))
    print(f"wrote {args.out}: {len(names)} files; upload it as a Gradescope autograder (its setup.sh installs "
          "Python 3.11 and the pinned packages, then computes the reference values once)")
    return 0


def cmd_check(args) -> int:
    """Students: the public checks on your own code, against the recorded reference values."""
    from .warm import check_report

    output, ok = check_report(Path(args.code), args.k)
    print(output)
    return 0 if ok else 1


def _terminate_as_interrupt(signum, frame):
    raise KeyboardInterrupt  # so `with Worker(...)` blocks close their workers before this process exits


def cmd_submit(args) -> int:
    """Students: check your work and build the zip to hand in."""
    from .handin import build, inspect

    report = inspect(Path(args.code), Path(args.notebooks))
    for warning in report.warnings:
        print(f"warning: {warning}")
    for error in report.errors:
        print(f"error: {error}")
    if report.errors:
        print("nothing was written: fix the errors above, then run `python -m autograder submit` again")
        return 1
    out = build(report, Path(args.out))
    print(f"wrote {out}: {len(report.files)} files ({out.stat().st_size >> 10} KiB) — upload this file")
    return 0


def cmd_grade(args) -> int:
    from .grading import grade

    if args.deadline:  # graded in a child stopped at the deadline; results.json is written either way
        from .batch import grade_with_deadline

        return grade_with_deadline(Path(args.submission), Path(args.out),
                                   Path(args.reference_cache) if args.reference_cache else None, args.k, args.deadline)
    signal.signal(signal.SIGTERM, _terminate_as_interrupt)  # a batch (or Gradescope) stopping us kills our workers
    try:
        grade(Path(args.submission), Path(args.out), Path(args.reference_cache) if args.reference_cache else None,
              select=args.k, quiet=args.quiet, progress=Path(args.progress) if args.progress else None)
    except KeyboardInterrupt:
        print("interrupted: nothing was written", file=sys.stderr)
        return 130
    return 0


def cmd_grade_all(args) -> int:
    from .batch import Batch, parse_gpus, parse_shard

    try:
        batch = Batch(Path(args.folder), Path(args.out), jobs=args.jobs, deadline=args.deadline, select=args.k,
                      students=args.student or [], force=args.force, shard=parse_shard(args.shard),
                      gpus=parse_gpus(args.gpus), preflight=not args.no_preflight)
        return batch.run()
    except ValueError as exc:
        print(f"grade-all: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def cmd_merge(args) -> int:
    from .batch import merge

    path = merge(Path(args.out), [Path(p) for p in args.shards])
    print(f"wrote {path}")
    return 0


def cmd_course(args) -> int:
    """Instructors: set up (or update) an nbgrader course directory; --autograde runs its autograde step."""
    from . import course

    directory = Path(args.dir).resolve()
    if args.autograde:
        done = course.autograde(directory)
        print(done.stdout + done.stderr)
        return done.returncode
    package = None
    if args.package:
        root = Path(args.package)
        package = {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted((root / "pretraining").rglob("*"))
                   if p.is_file() and "__pycache__" not in p.parts}
    course.init(directory, [Path(n) for n in args.notebooks] or None, package)
    print(course.next_steps(directory))
    return 0


def cmd_grades(args) -> int:
    """Instructors: one grade per student (modules + notebooks + written answers, weights, late policy)."""
    from .grades import merge

    for kind, path in merge(Path(args.config)).items():
        print(f"wrote {path} ({kind})")
    return 0


def cmd_examples(args) -> int:
    """Grade the bundled example submissions: the reference solution (full marks), the untouched starter (0)."""
    from .grading import grade

    out = Path(args.out)
    for name, path in (("solution", SOLUTIONS), ("starter", STARTER)):
        grade(path, out / name, cache=out / ".reference-cache")
        print()
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m autograder", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("release", help="regenerate starter_code/ and assignments/ from solutions/")
    p.add_argument("--check", action="store_true", help="write nothing; exit 1 and name each stale file")
    p.set_defaults(func=cmd_release)
    p = sub.add_parser("bundle", help="write the student bundle: no solutions, no hidden checks")
    p.add_argument("--out", default="dist/student-release.zip")
    p.set_defaults(func=cmd_bundle)
    p = sub.add_parser("gradescope", help="write the Gradescope autograder zip: every check, setup.sh, run_autograder")
    p.add_argument("--out", default="dist/gradescope-autograder.zip")
    p.set_defaults(func=cmd_gradescope)
    p = sub.add_parser("check", help="run the public checks on your code (students)")
    p.add_argument("-k", default=None, help="only checks whose name matches this pytest -k expression")
    p.add_argument("--code", default=str(STARTER), help="folder holding the pretraining/ package")
    p.set_defaults(func=cmd_check)
    p = sub.add_parser("submit", help="check your work and build submission.zip (students)")
    p.add_argument("--code", default=str(STARTER), help="folder holding your pretraining/ package")
    p.add_argument("--notebooks", default=str(ASSIGNMENTS), help="folder holding your notebooks")
    p.add_argument("--out", default="submission.zip")
    p.set_defaults(func=cmd_submit)
    p = sub.add_parser("grade", help="grade one submission (folder or .zip)")
    p.add_argument("submission")
    p.add_argument("--out", required=True)
    p.add_argument("--reference-cache", default=None)
    p.add_argument("-k", default=None, help="only checks whose name matches this pytest -k expression")
    p.add_argument("--quiet", action="store_true", help="print nothing (results.json and feedback.txt only)")
    p.add_argument("--progress", default=None, help="append one JSON line per finished check to this file")
    p.add_argument("--deadline", type=float, default=None,
                   help="seconds for the whole submission: then it is stopped, its unfinished checks marked")
    p.set_defaults(func=cmd_grade)
    p = sub.add_parser("grade-all", help="grade every submission in a folder (resumable); write grades.csv",
                       description="Grade every folder or .zip in FOLDER into OUT/<student>/ (results.json, "
                                   "feedback.txt, grading.json) and OUT/grades.csv. Rerunning skips unchanged "
                                   "students; -k or --student regrades only those checks or students.")
    p.add_argument("folder")
    p.add_argument("--out", required=True)
    p.add_argument("--jobs", type=int, default=1, help="submissions graded at once (CPU cores / 1-2)")
    p.add_argument("--deadline", "--timeout", type=float, default=600.0,
                   help="seconds for one whole submission; then it is stopped and its unfinished checks marked")
    p.add_argument("-k", default=None, help="only checks whose name matches this pytest -k expression")
    p.add_argument("--student", action="append", help="grade only this student (folder or zip name); repeatable")
    p.add_argument("--force", action="store_true", help="regrade even students whose submission is unchanged")
    p.add_argument("--shard", default="0/1", help="i/N: grade every N-th submission from the i-th (0-based)")
    p.add_argument("--gpus", default=None, help="'0,1,...' or 'all': one submission per GPU, each sees only its own")
    p.add_argument("--no-preflight", action="store_true", help="skip grading the reference solution first")
    p.set_defaults(func=cmd_grade_all)
    p = sub.add_parser("merge", help="rebuild OUT/grades.csv after sharded grade-all runs (copying in shard folders)")
    p.add_argument("out")
    p.add_argument("shards", nargs="*", help="other shards' --out folders, when they did not share OUT")
    p.set_defaults(func=cmd_merge)
    p = sub.add_parser("course", help="set up an nbgrader course directory (or run its autograde step)")
    p.add_argument("--dir", required=True)
    p.add_argument("--autograde", action="store_true", help="repair unreadable notebooks, then nbgrader autograde")
    p.add_argument("--notebooks", nargs="*", default=[], help="percent-format sources (default: the course's)")
    p.add_argument("--package", default=None, help="folder holding the pretraining/ handed out (default: starter)")
    p.set_defaults(func=cmd_course)
    p = sub.add_parser("grades", help="merge module, notebook and hand grades into one CSV per roster (+ exports)")
    p.add_argument("--config", required=True, help="the TOML file: roster, parts and weights, late policy")
    p.set_defaults(func=cmd_grades)
    p = sub.add_parser("examples", help="grade the bundled examples: the solution and the untouched starter")
    p.add_argument("--out", default="out/examples")
    p.set_defaults(func=cmd_examples)
    args = parser.parse_args(argv)
    return args.func(args)

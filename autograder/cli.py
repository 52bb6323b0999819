"""``python -m autograder COMMAND``: release, bundle, gradescope, check, grade, grade-all, examples."""

from __future__ import annotations

import argparse
import csv
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from .paths import PUBLIC_REFERENCES, REPO, SOLUTIONS, STARTER

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
    from .client import Worker
    from .grading import run_checks, table
    from .oracle import SnapshotReference

    with Worker(Path(args.code)) as student:
        results, errors = run_checks(student, SnapshotReference(PUBLIC_REFERENCES), ("public",), args.k)
    print("\n".join(errors + [table(results)]))
    if not results:
        print(f"no public check matches {args.k!r}")
    return 0 if results and all(r.passed for r in results) and not errors else 1


def cmd_grade(args) -> int:
    from .grading import grade

    grade(Path(args.submission), Path(args.out), Path(args.reference_cache) if args.reference_cache else None,
          select=args.k)
    return 0


def _student_id(path: Path) -> str:
    return re.sub(r"[^A-Za-z0-9._-]", "_", path.name.removesuffix(".zip")) or "submission"


def _grade_one(entry: Path, out: Path, cache: Path, timeout: float, select: str | None, scratch: Path) -> dict:
    """Grade in a child process: whatever one submission does, the batch and its other results survive."""
    command = [sys.executable, "-m", "autograder", "grade", str(entry), "--out", str(out),
               "--reference-cache", str(cache)] + (["-k", select] if select else [])
    try:
        # Each student's code must see neither the other submissions, nor anyone's results, nor the private
        # copies of the students graded at the same time: all of those live under the three hidden folders.
        hide = os.pathsep.join(str(p.resolve()) for p in (entry.parent, out.parent, scratch))
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, cwd=REPO,
                              env={**os.environ, "AUTOGRADER_HIDE": hide, "TMPDIR": str(scratch)})
        (out / "grader.log").write_text(done.stdout + done.stderr)
        return json.loads((out / "results.json").read_text())
    except (subprocess.TimeoutExpired, OSError, ValueError) as exc:
        data = {"score": 0.0, "execution_time": 0.0, "tests": [],
                "output": f"Grading failed for this submission ({type(exc).__name__}); the course staff will "
                          "look at it by hand."}
        (out / "results.json").write_text(json.dumps(data, indent=2) + "\n")
        return data


def cmd_grade_all(args) -> int:
    folder, out = Path(args.folder), Path(args.out)
    entries = sorted(p for p in folder.iterdir() if p.is_dir() or p.suffix == ".zip")
    out.mkdir(parents=True, exist_ok=True)
    cache = out / ".reference-cache"
    ids = [_student_id(p) for p in entries]
    if len(set(ids)) != len(ids):
        print("two submissions map to the same name; rename them", file=sys.stderr)
        return 2
    scratch = Path(tempfile.mkdtemp(prefix="autograder-batch-"))  # every student's private copy goes in here
    grade_one = lambda e: _grade_one(e, out / _student_id(e), cache, args.timeout, args.k, scratch)  # noqa: E731
    try:
        # The reference values are the same for everyone: compute them once before going parallel.
        with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
            first = [grade_one(entries[0])] if entries else []
            rest = list(pool.map(grade_one, entries[1:]))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    results = dict(zip(ids, first + rest))
    names = sorted({t["name"] for r in results.values() for t in r.get("tests", [])},
                   key=lambda n: next(i for r in results.values() for i, t in enumerate(r.get("tests", []))
                                      if t["name"] == n))
    with open(out / "grades.csv", "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["student", "score", "max_score", *names])
        for sid, r in results.items():
            by_name = {t["name"]: t["score"] for t in r.get("tests", [])}
            most = sum(t["max_score"] for t in r.get("tests", []))
            writer.writerow([sid, r["score"], most, *(by_name.get(n, 0.0) for n in names)])
    for sid, r in results.items():
        most = sum(t["max_score"] for t in r.get("tests", []))
        print(f"{sid:<40} {r['score']:>6g} / {most:g}")
    print(f"wrote {out / 'grades.csv'} and {len(results)} results.json")
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
    p = sub.add_parser("grade", help="grade one submission (folder or .zip)")
    p.add_argument("submission")
    p.add_argument("--out", required=True)
    p.add_argument("--reference-cache", default=None)
    p.add_argument("-k", default=None, help="only checks whose name matches this pytest -k expression")
    p.set_defaults(func=cmd_grade)
    p = sub.add_parser("grade-all", help="grade every submission in a folder; write grades.csv")
    p.add_argument("folder")
    p.add_argument("--out", required=True)
    p.add_argument("--jobs", type=int, default=1, help="submissions graded at once")
    p.add_argument("--timeout", type=float, default=3600.0, help="seconds per submission")
    p.add_argument("-k", default=None, help="only checks whose name matches this pytest -k expression")
    p.set_defaults(func=cmd_grade_all)
    p = sub.add_parser("examples", help="grade the bundled examples: the solution and the untouched starter")
    p.add_argument("--out", default="out/examples")
    p.set_defaults(func=cmd_examples)
    args = parser.parse_args(argv)
    return args.func(args)

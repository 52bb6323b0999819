"""Benchmark: grade-all on a mixed class, measured here, extrapolated to a class of 500 on 16 cores.

    python scripts/bench_batch.py --students 40 --jobs 2 --deadline 120 > bench_batch.json

The class: copies of the solution (60%), a wrong reconstruction_loss (20%), the untouched starter (10%), a
submission that hangs at import (5%) and one whose import kills its own process (5%). Every check runs (no -k).
The JSON holds the measured wall time, each kind's median seconds per submission, and the extrapolation:

    T(500, 16 workers) ≈ preflight + (Σ over the 500 of each kind's median seconds) / 16

which assumes a worker of the 16-core machine is as fast as one here (here each of the 2 workers shares 2 cores
with the other helpers' processes, so this errs on the slow side) and that hangs cost exactly one deadline.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

BODY = "    per_example = (x - x_hat).pow(2).flatten(start_dim=1).sum(dim=1)  # (B,)\n"
MIX = [("right", 0.60), ("wrong", 0.20), ("starter", 0.10), ("hang", 0.05), ("crash", 0.05)]


def make(kind: str, target: Path) -> None:
    source = REPO / ("starter_code" if kind == "starter" else "solutions") / "pretraining"
    shutil.copytree(source, target / "pretraining", ignore=shutil.ignore_patterns("__pycache__"))
    if kind == "wrong":
        path = target / "pretraining" / "autoencoder.py"
        path.write_text(path.read_text().replace(BODY, BODY.replace("pow(2)", "abs()")))
    elif kind == "hang":
        (target / "pretraining" / "__init__.py").write_text("while True:\n    pass\n")
    elif kind == "crash":
        (target / "pretraining" / "__init__.py").write_text("import os\nos.kill(os.getpid(), 9)\n")


def kinds_for(n: int) -> list[str]:
    counts = {kind: max(1, round(n * share)) for kind, share in MIX}
    counts["right"] += n - sum(counts.values())
    return [kind for kind, count in counts.items() for _ in range(count)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=40)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--deadline", type=float, default=120.0)
    parser.add_argument("--target-students", type=int, default=500)
    parser.add_argument("--target-workers", type=int, default=16)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-batch-"))
    try:
        kinds = kinds_for(args.students)
        folder = work / "submissions"
        for i, kind in enumerate(kinds):
            make(kind, folder / f"s{i:03d}_{kind}")
        out = work / "out"
        start = time.monotonic()
        done = subprocess.run([sys.executable, "-m", "autograder", "grade-all", str(folder), "--out", str(out),
                               "--jobs", str(args.jobs), "--deadline", str(args.deadline)], cwd=REPO,
                              capture_output=True, text=True)
        wall = time.monotonic() - start
        if done.returncode != 0:
            raise SystemExit(f"grade-all failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
        preflight = json.loads((out / ".preflight" / "grading.json").read_text())["seconds"]
        seconds: dict[str, list[float]] = {}
        statuses: dict[str, list[str]] = {}
        scores: dict[str, list[float]] = {}
        for entry in sorted(folder.iterdir()):
            meta = json.loads((out / entry.name / "grading.json").read_text())
            kind = entry.name.split("_", 1)[1]
            seconds.setdefault(kind, []).append(meta["seconds"])
            statuses.setdefault(kind, []).append(meta["status"])
            scores.setdefault(kind, []).append(json.loads((out / entry.name / "results.json").read_text())["score"])
        median = {kind: statistics.median(v) for kind, v in seconds.items()}
        target = {kind: share * args.target_students for kind, share in MIX}
        work_seconds = sum(target[kind] * median[kind] for kind in target)
        estimate = preflight + work_seconds / args.target_workers
        print(json.dumps({
            "command": " ".join(["python scripts/bench_batch.py", f"--students {args.students}",
                                 f"--jobs {args.jobs}", f"--deadline {args.deadline:g}"]),
            "measured": {"students": args.students, "jobs": args.jobs, "wall_seconds": round(wall, 1),
                         "preflight_seconds": preflight, "checks_per_submission": len(json.loads(
                             (out / ".preflight" / "results.json").read_text())["tests"]),
                         "median_seconds_per_submission": {k: round(v, 1) for k, v in median.items()},
                         "statuses": {k: sorted(set(v)) for k, v in statuses.items()},
                         "scores": {k: sorted(set(v)) for k, v in scores.items()},
                         "submissions_per_minute": round(60 * args.students / wall, 2)},
            "extrapolated": {"students": args.target_students, "workers": args.target_workers,
                             "mix": dict(MIX), "minutes": round(estimate / 60, 1),
                             "goal_minutes": 15, "meets_goal": estimate <= 15 * 60},
        }, indent=2))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()

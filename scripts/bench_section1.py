"""Benchmark: the section-1 solution notebook end to end, as the test suite runs it; prints JSON.

    .venv/bin/python scripts/bench_section1.py [--runs 3] [--code solutions]

Each run builds ``01_autoencoders.ipynb`` from ``solutions/notebooks/01_autoencoders.py``,
executes it in a fresh kernel with nbclient, and times it (kernel start included). Reports every run, the median,
the slowest cells of the last run, and the numbers that matter for the budget (issue: ≤ 3 min on a 2-core CPU,
≤ 30 s on one H200).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from datetime import datetime
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from benchmark import REPO, get_device, median_seconds, report

sys.path.insert(0, str(REPO))
from autograder.notebooks import build  # noqa: E402

SOURCE = REPO / "solutions" / "notebooks" / "01_autoencoders.py"


def cell_seconds(cell) -> float:
    timing = cell.get("metadata", {}).get("execution", {})
    start, end = timing.get("iopub.execute_input"), timing.get("shell.execute_reply")
    if not (start and end):
        return 0.0
    return (datetime.fromisoformat(end.replace("Z", "+00:00")) - datetime.fromisoformat(start.replace("Z", "+00:00"))
            ).total_seconds()


def run_once(code: Path, save: Path | None = None) -> list[tuple[str, float]]:
    """Execute the notebook once in a fresh kernel; return (first line, seconds) of every code cell."""
    with tempfile.TemporaryDirectory() as tmp:
        target = Path(tmp) / "01_autoencoders.ipynb"
        build(SOURCE, target)
        nb = nbformat.read(target, as_version=4)
    os.environ["PRETRAINING_CODE"] = str(code)
    NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(REPO / "assignments")}}
                   ).execute()
    if save:
        nbformat.write(nb, save)
    return [(c.source.strip().splitlines()[0][:70] if c.source.strip() else "(empty)", cell_seconds(c))
            for c in nb.cells if c.cell_type == "code"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--code", default=str(REPO / "solutions"), help="folder holding the pretraining package")
    parser.add_argument("--save", type=Path, default=None, help="write the last executed notebook here (.ipynb)")
    args = parser.parse_args()
    cells = []
    device = get_device()
    timing = median_seconds(lambda: cells.append(run_once(Path(args.code).resolve(), args.save)), device,
                            repeats=args.runs, warmup=0)
    slowest = sorted(cells[-1], key=lambda c: -c[1])[:6]
    report("section 1 solution notebook, end to end (nbclient, fresh kernel, kernel start included)", device, {
        "cpu_cores": os.cpu_count(), **timing, "budget_s": {"cpu_2_cores": 180, "one_h200": 30},
        "slowest_cells_of_last_run_s": [[name, round(sec, 2)] for name, sec in slowest]})


if __name__ == "__main__":
    main()

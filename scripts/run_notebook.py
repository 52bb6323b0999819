"""Run notebook sources as plain scripts and time them: where Jupyter is not installed (a bare GPU VM).

    PRETRAINING_CODE=solutions python scripts/run_notebook.py 01 03       # by number, or all when none given
    python scripts/run_notebook.py 01 --runs 3 --timeout 120 --out times.json --logs logs/
    python scripts/run_notebook.py 05 --functions      # also the time of the package's main functions

Each ``solutions/notebooks/NN_*.py`` runs in a fresh Python process from ``assignments/`` (as the notebook
would), with IPython magics dropped and plots drawn off-screen; no kernel start is counted. Prints JSON: per
notebook, every run's seconds, the median, and whether it finished. ``--out`` rewrites that JSON after every
run, so a run cut short by a time limit still leaves the figures taken so far; ``--logs`` keeps each
notebook's printed output (its numbers) from its last run. ``--functions`` adds, per notebook, the calls and seconds
of the package's main functions (``scripts/notebook_profile.py``: training loops, probes, scoring, decoding).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PRELUDE = """import matplotlib, sys as _sys, time as _time
matplotlib.use("Agg")
_last = [_time.perf_counter(), None]


def _cell(title):  # report how long the previous code cell took
    now = _time.perf_counter()
    if _last[1] is not None:
        print(f"##cell {now - _last[0]:.2f} {_last[1]}", file=_sys.stderr, flush=True)
    _last[:] = [now, title]
"""
PROFILE = f"""_sys.path[:0] = [{str(REPO)!r}, {str(REPO / "scripts")!r}]
import os as _os
from autograder.student import code_folder as _code_folder, data_folder as _data_folder
_sys.path.insert(0, str(_code_folder()))
_os.environ.setdefault("PRETRAINING_DATA", str(_data_folder(_code_folder())))  # what setup() sets, first
import notebook_profile as _profile
_profile.install()
"""
CELL = re.compile(r"^# %%(?!.*\[markdown\])")


def script(source: Path, functions: bool = False) -> str:
    """The notebook source as one script: magics dropped, a timer call at the start of every code cell; with
    ``functions``, the package's main functions timed too (``notebook_profile``)."""
    lines, code, cell_title = [], source.read_text().splitlines(), False
    for line in code:
        if line.lstrip().startswith(("%", "!")):
            continue
        if CELL.match(line):
            cell_title = True
        elif cell_title and line.strip() and not line.startswith("#"):
            lines.append(f"_cell({line.strip()[:70]!r})")
            cell_title = False
        lines.append(line)
    return PRELUDE + (PROFILE if functions else "") + "\n".join(lines) + "\n_cell(None)\n"


def slowest_cells(output: str, n: int = 6) -> list:
    cells = [line.split(" ", 2)[1:] for line in output.splitlines() if line.startswith("##cell ")]
    return [[title, float(seconds)] for seconds, title in sorted(cells, key=lambda c: -float(c[0]))[:n]]


def functions_s(output: str) -> dict:
    """The ``##functions`` report of a run with ``--functions`` (empty without it)."""
    lines = [line for line in output.splitlines() if line.startswith("##functions ")]
    return json.loads(lines[-1].split(" ", 1)[1]) if lines else {}


def run_once(source: Path, env: dict, timeout: float | None, live_log: Path | None = None,
             functions: bool = False) -> tuple[float, str, str]:
    """One run in a fresh process: (seconds, status, printed output). status is ok, failed or timeout.

    With ``live_log`` the output goes to that file as it is printed (a run stopped from outside leaves what it had
    printed), and is read back from it at the end."""
    start = time.perf_counter()
    if live_log:
        live_log.parent.mkdir(parents=True, exist_ok=True)
    with open(live_log or os.devnull, "w") as sink:
        try:
            done = subprocess.run([sys.executable, "-c", script(source, functions)], cwd=REPO / "assignments", env=env,
                                  stdout=sink if live_log else subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                  timeout=timeout)
            status, output = ("ok" if done.returncode == 0 else "failed"), done.stdout
        except subprocess.TimeoutExpired as stopped:
            output = stopped.stdout or ""
            status, output = "timeout", output.decode(errors="replace") if isinstance(output, bytes) else output
    if live_log:
        output = live_log.read_text(errors="replace")
    return time.perf_counter() - start, status, output


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("numbers", nargs="*", help="notebook numbers, e.g. 01 03 (default: all)")
    parser.add_argument("--runs", type=int, default=1, help="runs per notebook; the median is reported")
    parser.add_argument("--timeout", type=float, default=None, help="seconds allowed for one run")
    parser.add_argument("--out", type=Path, default=None, help="also write the JSON here, after every run")
    parser.add_argument("--logs", type=Path, default=None, help="folder for each notebook's printed output")
    parser.add_argument("--functions", action="store_true",
                        help="also time the package's main functions (waits for the GPU at each call: slower)")
    args = parser.parse_args()
    sources = [p for p in sorted((REPO / "solutions" / "notebooks").glob("[0-9]*.py"))
               if not args.numbers or p.name[:2] in args.numbers]
    env = {**os.environ, "PRETRAINING_CODE": os.environ.get("PRETRAINING_CODE", str(REPO / "solutions")),
           "HF_HUB_OFFLINE": "1", "MPLBACKEND": "Agg", "PYTHONUNBUFFERED": "1"}
    results: dict = {}
    for source in sources:
        entry = results[source.stem] = {"runs_s": [], "status": []}
        for _ in range(args.runs):
            seconds, status, output = run_once(source, env, args.timeout, functions=args.functions)
            entry["runs_s"].append(round(seconds, 1))
            entry["status"].append(status)
            entry["median_s"] = round(statistics.median(entry["runs_s"]), 1)
            entry["slowest_cells_s"] = slowest_cells(output)
            if args.functions:
                entry["functions_s"] = functions_s(output)
            if status != "ok":
                entry["error"] = output[-3000:]
            if args.logs:
                args.logs.mkdir(parents=True, exist_ok=True)
                (args.logs / f"{source.stem}.log").write_text(output)
            if args.out:
                args.out.write_text(json.dumps(results, indent=2))
            if status != "ok":
                break
    print(json.dumps(results, indent=2))
    sys.exit(0 if all(s == "ok" for e in results.values() for s in e["status"]) else 1)


if __name__ == "__main__":
    main()

"""Every benchmark in one run, side by side, as one JSON document.

    python scripts/bench_all.py                          # check() latency + the decoding / LoRA / MAE / ICL ratios
    python scripts/bench_all.py --notebooks              # ... and every solution notebook's time on this device
    python scripts/bench_all.py --notebooks 01 03 --only check notebooks --repeats 7
    python scripts/bench_all.py --only check notebooks --notebooks --cpu-baseline   # a GPU host: FULL vs CPU defaults

- ``check``: a notebook's ``check(PATTERN)`` (``autograder.student.check``) on the solutions: the **first** call of a
  session (the warm runner starts: a check server and its zygote); the first call **after setup** and
  ``--pause`` seconds (a student's flow: ``setup()`` starts the runner, the student reads and writes code), and the
  call right after that one; then **warm** calls (after the zygote's idle
  imports) interleaved with **cold** ones (``AUTOGRADER_WARM=0``: two fresh processes per call, as before the warm
  runner) — medians of ``--repeats`` rounds, and the ratio.
- ``notebooks`` (only with ``--notebooks``): each solution notebook end to end as a plain script
  (``scripts/run_notebook.py``'s ``run_once``) on the current device, ``FULL`` as ``autograder.student.full_settings``
  decides; with ``--cpu-baseline``, beside each its CPU defaults on the same host and the ratio.
- ``kv_cache``, ``lora``, ``mae``, ``icl``, ``probe``, ``seeds``, ``prefix``, ``convert``: the JSON that ``scripts/bench_<name>.py`` prints with its defaults
  (each script's own ``main``, run here in turn; ``--ratio-args NAME "ARGS"`` passes it other arguments).

On a shared CPU, ``BENCH_THREADS=1`` (one torch thread) gives steadier figures.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import shlex
import statistics
import subprocess
import threading
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(1, str(HERE.parent))

from benchmark import environment, get_device, interleaved_medians  # noqa: E402

RATIOS = ("kv_cache", "lora", "mae", "icl", "probe", "seeds", "prefix", "convert")


def check_latency(patterns: list[str], repeats: int, pause: float = 20.0) -> dict:
    """First, after-setup, warm and cold ``check()`` of each pattern on the solutions, in seconds."""
    from autograder import student, warm
    from autograder.paths import REPO

    os.environ["PRETRAINING_CODE"] = str(HERE.parent / "solutions")

    def quiet_check(pattern: str, cold: bool = False) -> None:
        saved = os.environ.get("AUTOGRADER_WARM")
        if cold:
            os.environ["AUTOGRADER_WARM"] = "0"
        try:
            with contextlib.redirect_stdout(io.StringIO()):
                student.check(pattern)
        finally:
            if saved is None:
                os.environ.pop("AUTOGRADER_WARM", None)
            else:
                os.environ["AUTOGRADER_WARM"] = saved

    figures = {}
    for pattern in patterns:
        first = []
        for _ in range(repeats):  # a new notebook session each time: the runner starts from nothing
            warm.shutdown()
            start = time.perf_counter()
            quiet_check(pattern)
            first.append(time.perf_counter() - start)
        after_setup, next_one = [], []
        for _ in range(repeats):  # a student's session: setup() starts the runner, then minutes of reading
            warm.shutdown()
            warm.start_checks(student.code_folder(), student._check_env(), REPO)
            time.sleep(pause)
            for times in (after_setup, next_one):  # the first check, then one right after it
                start = time.perf_counter()
                quiet_check(pattern)
                times.append(time.perf_counter() - start)
        warm.settle()  # the steady state: the zygote's idle imports are done
        timed = interleaved_medians({"warm": lambda: quiet_check(pattern), "cold": lambda: quiet_check(pattern, True)},
                                    get_device(), repeats=repeats, warmup=1)
        figures[pattern] = {
            "first_median_s": round(statistics.median(first), 3), "first_times_s": [round(t, 3) for t in first],
            f"after_setup_and_{pause:g}_s_median_s": round(statistics.median(after_setup), 3),
            "after_setup_times_s": [round(t, 3) for t in after_setup],
            "next_after_setup_median_s": round(statistics.median(next_one), 3),
            "next_after_setup_times_s": [round(t, 3) for t in next_one],
            "warm_median_s": round(timed["warm"]["median_s"], 3), "warm_times_s": timed["warm"]["times_s"],
            "cold_median_s": round(timed["cold"]["median_s"], 3), "cold_times_s": timed["cold"]["times_s"],
            "cold_over_warm": round(timed["cold"]["median_s"] / timed["warm"]["median_s"], 2),
        }
    warm.shutdown()
    return figures


def notebook_times(numbers: list[str], timeout: float | None, cpu_baseline: int = 0,
                   logs: Path | None = None, progress=lambda figures: None) -> dict:
    """Each solution notebook end to end, as ``scripts/run_notebook.py`` runs it, on the current device.

    With ``cpu_baseline`` = N > 0 each notebook also runs with its CPU defaults on this host
    (``PRETRAINING_DEVICE=cpu``, ``FULL`` off, one torch thread as ``setup()`` sets), N at a time in a pool while
    the device runs go one after the other. The device runs then get the host's other cores for their own CPU work
    (``OMP_NUM_THREADS``): thread pools that oversubscribe the cores slowed every cell of an earlier H200 run that
    ran 14 baselines beside it. The JSON says how many ran at once. ``device_over_cpu`` < 1: the device run was
    faster.

    Before the first notebook, matplotlib builds its font cache if this machine has none (12.5 s on a fresh H200
    host, once per machine, as for a student's first plot ever): a cost of the machine, not of a notebook.
    """
    from concurrent.futures import ThreadPoolExecutor

    from run_notebook import run_once, slowest_cells

    sources = [p for p in sorted((HERE.parent / "solutions" / "notebooks").glob("[0-9]*.py"))
               if not numbers or p.name[:2] in numbers]
    sources.sort(key=lambda p: numbers.index(p.name[:2]) if numbers else 0)  # in the order asked for
    env = {**os.environ, "PRETRAINING_CODE": os.environ.get("PRETRAINING_CODE", str(HERE.parent / "solutions")),
           "HF_HUB_OFFLINE": "1", "MPLBACKEND": "Agg", "PYTHONUNBUFFERED": "1"}
    cpu_env = {**env, "PRETRAINING_DEVICE": "cpu", "PRETRAINING_FULL": "0", "OMP_NUM_THREADS": "1",
               "CUDA_VISIBLE_DEVICES": ""}
    workers = max(1, min(len(sources), cpu_baseline, (os.cpu_count() or 1) - 2))
    subprocess.run([sys.executable, "-c", "import matplotlib.font_manager"], env=env, check=False)
    if cpu_baseline:
        env["OMP_NUM_THREADS"] = str(max(1, (os.cpu_count() or 1) - workers - 1))

    def run(source: Path, run_env: dict, kind: str) -> dict:
        seconds, status, output = run_once(source, run_env, timeout, logs / f"{source.stem}.{kind}.log" if logs else None)
        measured = {"seconds": round(seconds, 1), "status": status, "slowest_cells_s": slowest_cells(output)}
        if status != "ok":
            measured["error"] = output[-2000:]
        return measured

    figures, cpu_done, lock = {}, {}, threading.Lock()

    def report() -> None:  # the figures so far, device and CPU: a run cut short keeps every notebook timed
        with lock:
            progress({**figures, **{f"{name} (cpu default)": cpu for name, cpu in cpu_done.items()}})

    def cpu_run(source: Path) -> dict:
        measured = run(source, cpu_env, "cpu")
        with lock:
            cpu_done[source.stem] = measured
        report()
        return measured

    pool = ThreadPoolExecutor(workers) if cpu_baseline else None
    cpu_runs = {s.stem: pool.submit(cpu_run, s) for s in sources} if pool else {}

    for source in sources:
        measured = run(source, env, "device")
        with lock:
            figures[source.stem] = measured
        report()
    for name, future in cpu_runs.items():
        cpu = future.result()
        figures[name] = {"device": figures[name], "cpu_default": cpu,
                         "device_over_cpu": round(figures[name]["seconds"] / cpu["seconds"], 2)}
    if pool:
        pool.shutdown()
        figures["cpu_default_runs_at_once"] = workers
    figures["total_device_s"] = round(sum(f["device"]["seconds"] if "device" in f else f["seconds"]
                                          for f in figures.values() if isinstance(f, dict)), 1)
    return figures


def ratio(name: str, args: list[str]) -> dict:
    """What ``scripts/bench_NAME.py ARGS`` prints (its JSON), by running its ``main`` here."""
    import importlib

    module = importlib.import_module(f"bench_{name}")
    saved, sys.argv = sys.argv, [f"bench_{name}.py", *args]
    out = io.StringIO()
    try:
        with contextlib.redirect_stdout(out):
            module.main()
    except SystemExit as stop:
        if stop.code:
            return {"error": f"exited with {stop.code}", "output": out.getvalue()[-2000:]}
    except Exception as exc:  # noqa: BLE001 — one failing benchmark must not lose the others' figures
        return {"error": f"{type(exc).__name__}: {exc}"}
    finally:
        sys.argv = saved
    text = out.getvalue()
    return json.loads(text[text.index("{"):])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="+", choices=("check", "notebooks", *RATIOS), help="default: all but notebooks")
    parser.add_argument("--notebooks", nargs="*", default=None, metavar="NN",
                        help="time the solution notebooks too (these numbers, in this order; all when none are given)")
    parser.add_argument("--notebook-timeout", type=float, default=None, help="seconds allowed for one notebook")
    parser.add_argument("--cpu-baseline", type=int, nargs="?", const=3, default=0, metavar="N",
                        help="with --notebooks: also run each notebook's CPU defaults on this host, N at a time "
                             "(default 3) beside the device runs")
    parser.add_argument("--logs", type=Path, default=None, help="folder for each notebook run's printed output")
    parser.add_argument("--patterns", nargs="+", default=["add_noise", "kv_cache"],
                        help="check() patterns to time (default: one section-1 function; the KV cache, which needs "
                             "transformers)")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--pause", type=float, default=20.0,
                        help="seconds between setup() and the first check() (a student reading the notebook)")
    parser.add_argument("--ratio-args", nargs=2, action="append", default=[], metavar=("NAME", "ARGS"),
                        help='extra arguments for one bench script, e.g. --ratio-args mae "--repeats 3"')
    parser.add_argument("--out", type=Path, default=None, help="also write the JSON here (after every section)")
    args = parser.parse_args()
    wanted = set(args.only or ["check", *RATIOS]) | ({"notebooks"} if args.notebooks is not None else set())
    extra = {name: shlex.split(text) for name, text in args.ratio_args}
    device = get_device()
    results: dict = {"benchmark": "all", "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
                     **environment(device), "cpus": os.cpu_count()}
    def write(document: dict) -> None:
        if args.out:
            args.out.write_text(json.dumps(document, indent=2) + "\n")

    sections = [("check", lambda: check_latency(args.patterns, args.repeats, args.pause)),
                ("notebooks", lambda: notebook_times(args.notebooks or [], args.notebook_timeout, args.cpu_baseline, args.logs,
                                                 lambda figures: write({**results, "notebooks": figures}))),
                *((name, lambda name=name: ratio(name, extra.get(name, []))) for name in RATIOS)]
    for name, measure in sections:
        if name not in wanted:
            continue
        start = time.perf_counter()
        results[name] = measure()
        print(f"bench_all: {name} took {time.perf_counter() - start:.0f} s", file=sys.stderr, flush=True)
        write(results)  # after every section: a run cut short still leaves the figures taken so far
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()

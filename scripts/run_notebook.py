"""Run notebook sources as plain scripts and time them: where Jupyter is not installed (a bare GPU VM).

    PRETRAINING_CODE=solutions python scripts/run_notebook.py 01 03     # by number, or all when none given

Each ``solutions/notebooks/NN_*.py`` runs in a fresh Python process from ``assignments/`` (as the notebook
would), with IPython magics dropped and plots drawn off-screen. Prints JSON: seconds per notebook and status.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PRELUDE = "import matplotlib\nmatplotlib.use('Agg')\n"


def script(source: Path) -> str:
    lines = [line for line in source.read_text().splitlines() if not line.lstrip().startswith(("%", "!"))]
    return PRELUDE + "\n".join(lines) + "\n"


def main() -> None:
    wanted = sys.argv[1:]
    sources = [p for p in sorted((REPO / "solutions" / "notebooks").glob("[0-9]*.py"))
               if not wanted or p.name[:2] in wanted]
    env = {**os.environ, "PRETRAINING_CODE": os.environ.get("PRETRAINING_CODE", str(REPO / "solutions")),
           "HF_HUB_OFFLINE": "1", "MPLBACKEND": "Agg"}
    results = {}
    for source in sources:
        start = time.perf_counter()
        done = subprocess.run([sys.executable, "-c", script(source)], cwd=REPO / "assignments", env=env,
                              capture_output=True, text=True)
        results[source.stem] = {"seconds": round(time.perf_counter() - start, 1), "ok": done.returncode == 0}
        if done.returncode != 0:
            results[source.stem]["error"] = done.stderr[-3000:]
        print(done.stdout[-4000:], file=sys.stderr)
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()

"""Helpers the notebooks call: run the public checks on your code from a notebook cell."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from .paths import PACKAGE, REPO, STARTER


def _upwards() -> list[Path]:
    here = Path.cwd().resolve()
    return [here, *here.parents]


def code_folder() -> Path:
    """The folder holding the ``pretraining`` package the notebook uses: ``$PRETRAINING_CODE``; else the nearest
    folder at or above the notebook's that holds ``pretraining/`` (a submission, an nbgrader assignment folder)
    or ``starter_code/pretraining/`` (the repository, the student bundle); else this repository's starter_code/."""
    if os.environ.get("PRETRAINING_CODE"):
        return Path(os.environ["PRETRAINING_CODE"]).resolve()
    for folder in _upwards():
        for candidate in (folder, folder / "starter_code"):
            if (candidate / PACKAGE / "__init__.py").is_file():
                return candidate
    return STARTER.resolve()


def data_folder(code: Path) -> Path:
    """The shipped data for ``code``: ``$PRETRAINING_DATA``; else ``data/`` next to the package (as in the
    repository), else the nearest ``data/`` at or above the notebook's folder that holds the shipped models,
    else this repository's (for a notebook run away from the repository, e.g. by nbgrader's autograde)."""
    if os.environ.get("PRETRAINING_DATA"):
        return Path(os.environ["PRETRAINING_DATA"]).resolve()
    for folder in [code, *_upwards()]:
        if (folder / "data" / "README.md").is_file():
            return (folder / "data").resolve()
    return (REPO / "data").resolve()


def check(pattern: str) -> bool:
    """Run the public checks whose name matches ``pattern`` on your code and print the table.

    Your code runs in a separate Python process, exactly as when it is graded, so a stale import in this
    notebook never hides a bug: edit the .py file, save, and call ``check`` again.

    The notebook's first cell (``setup()``) starts a check runner that stays up (``autograder/warm.py``): a
    process with torch already imported forks a fresh one for each call, which imports your code as it is on disk
    now. So a call takes well under a second, not the several that starting Python and torch twice would cost.
    """
    from . import warm

    env = _check_env()
    if warm.enabled():
        try:
            output, ok = warm.run_check(code_folder(), pattern, env, REPO)
            print(output)
            return ok
        except warm.ZygoteError:
            pass  # the runner could not start or stopped: run the checks the cold way below
    done = subprocess.run([sys.executable, "-m", "autograder", "check", "-k", pattern, "--code", str(code_folder())],
                          cwd=REPO, capture_output=True, text=True, env=env)
    print(done.stdout + done.stderr)
    return done.returncode == 0


def _check_env() -> dict:
    # The public checks use small inputs and references recorded on a CPU: run them there, which also spares
    # each check the GPU's start-up time. PRETRAINING_DEVICE=cuda overrides this.
    return {**os.environ, "PRETRAINING_DEVICE": os.environ.get("PRETRAINING_DEVICE", "cpu")}


def full_settings(device) -> bool:
    """Whether a notebook uses its heavier settings: yes on a GPU, no on a CPU; PRETRAINING_FULL=1 or 0 forces it."""
    return os.environ.get("PRETRAINING_FULL", "1" if device.type == "cuda" else "0") == "1"


def setup():
    """The first cell of every notebook: put your package on the import path; return the compute device."""
    code = code_folder()
    folder = str(code)
    if folder not in sys.path:
        sys.path.insert(0, folder)
    # The package finds its data through this variable (checks and the worker use the same one).
    os.environ["PRETRAINING_DATA"] = str(data_folder(code))
    from pretraining.device import get_device

    device = get_device()
    if device.type == "cuda":
        import torch

        # TF32 tensor cores for float32 matrix products (a 10-bit mantissa, as GPU training usually runs): several
        # times faster for the real models' fine-tuning. A notebook that compares results bit for bit sets
        # "highest" again for that comparison.
        torch.set_float32_matmul_precision("high")
    if device.type == "cpu":
        # Small models on a shared CPU: one thread is often several times faster than contending for two.
        import torch

        torch.set_num_threads(1)
    from . import warm

    if warm.enabled():
        try:  # the check runner starts now, beside the notebook's first cells, not at the first check()
            warm.start_checks(code, _check_env(), REPO)
        except OSError:
            pass  # check() starts it, or runs the checks the cold way
    print(f"your code: {folder} | device: {device}")
    return device

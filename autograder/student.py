"""Helpers the notebooks call: run the public checks on your code from a notebook cell."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from .paths import REPO, STARTER


def code_folder() -> Path:
    """The folder holding the ``pretraining`` package the notebook uses: yours (starter_code/) by default."""
    return Path(os.environ.get("PRETRAINING_CODE", STARTER)).resolve()


def check(pattern: str) -> bool:
    """Run the public checks whose name matches ``pattern`` on your code and print the table.

    Your code runs in a separate Python process, exactly as when it is graded, so a stale import in this
    notebook never hides a bug: edit the .py file, save, and call ``check`` again.
    """
    # The public checks use small inputs and references recorded on a CPU: run them there, which also spares
    # each check the GPU's start-up time. PRETRAINING_DEVICE=cuda overrides this.
    env = {**os.environ, "PRETRAINING_DEVICE": os.environ.get("PRETRAINING_DEVICE", "cpu")}
    done = subprocess.run([sys.executable, "-m", "autograder", "check", "-k", pattern, "--code", str(code_folder())],
                          cwd=REPO, capture_output=True, text=True, env=env)
    print(done.stdout + done.stderr)
    return done.returncode == 0


def full_settings(device) -> bool:
    """Whether a notebook uses its heavier settings: yes on a GPU, no on a CPU; PRETRAINING_FULL=1 or 0 forces it."""
    return os.environ.get("PRETRAINING_FULL", "1" if device.type == "cuda" else "0") == "1"


def setup():
    """The first cell of every notebook: put your package on the import path; return the compute device."""
    folder = str(code_folder())
    if folder not in sys.path:
        sys.path.insert(0, folder)
    from pretraining.device import get_device

    device = get_device()
    if device.type == "cpu":
        # Small models on a shared CPU: one thread is often several times faster than contending for two.
        import torch

        torch.set_num_threads(1)
    print(f"your code: {folder} | device: {device}")
    return device

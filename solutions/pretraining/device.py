"""Pick the compute device once, in one place.

Every module and notebook asks :func:`get_device` instead of testing ``torch.cuda.is_available()``
itself, so "run on the CPU" is one environment variable away: ``PRETRAINING_DEVICE=cpu``.
"""

from __future__ import annotations

import os

import torch


def get_device() -> torch.device:
    """The device to compute on: ``$PRETRAINING_DEVICE`` if set, else CUDA when present, else the CPU."""
    name = os.environ.get("PRETRAINING_DEVICE")
    if name:
        return torch.device(name)
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")

"""One seeding helper for every experiment, check and notebook."""

from __future__ import annotations

import random

import numpy as np
import torch


def seed_everything(seed: int) -> torch.Generator:
    """Seed Python, NumPy and torch (CPU and CUDA); return a CPU ``torch.Generator`` seeded the same.

    Functions that draw random numbers take a ``generator`` argument so that a check can replay them;
    the global seeds only make the rest (weight initialisation, data order) repeatable.
    """
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)  # also seeds every CUDA device
    return torch.Generator().manual_seed(seed)

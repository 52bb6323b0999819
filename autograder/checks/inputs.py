"""Inputs a check sends to student code."""

import numpy as np

from autograder.codec import Array


def tensor(values, dtype=None, requires_grad: bool = False) -> Array:
    """An input that arrives in student code as a ``torch.Tensor``."""
    values = np.asarray(values) if dtype is None else np.asarray(values, dtype=dtype)
    return Array(values, kind="tensor", requires_grad=requires_grad)


def ndarray(values, dtype=None) -> Array:
    """An input that arrives in student code as a ``numpy.ndarray``."""
    values = np.asarray(values) if dtype is None else np.asarray(values, dtype=dtype)
    return Array(values, kind="ndarray")

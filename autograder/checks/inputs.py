"""Inputs a check sends to student code, and builders for the varied shapes and layouts checks draw."""

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


def attention_mask(rng: np.random.Generator, B: int, T: int, side: str = "right", min_length: int = 1) -> np.ndarray:
    """(B, T) int64 mask of 1 for real tokens, 0 for padding on ``side`` ("right" or "left").

    Row 0 is full length and row 1 (if any) as short as allowed, so every batch mixes both; the others are random.
    """
    lengths = rng.integers(min_length, T + 1, B)
    lengths[0] = T
    if B > 1:
        lengths[1] = min_length
    mask = np.zeros((B, T), dtype=np.int64)
    for b, n in enumerate(lengths):
        if side == "right":
            mask[b, :n] = 1
        else:
            mask[b, T - n:] = 1
    return mask


def token_ids(rng: np.random.Generator, B: int, T: int, vocab: int, mask: np.ndarray | None = None,
              pad: int = 0) -> np.ndarray:
    """(B, T) int64 ids in 1 … vocab−1 (0 is the padding id), ``pad`` where ``mask`` is 0."""
    ids = rng.integers(1, vocab, (B, T)).astype(np.int64)
    if mask is not None:
        ids[mask == 0] = pad
    return ids


def weights(rng: np.random.Generator, shapes, scale: float = 0.5, dtype: str = "float32") -> list[Array]:
    """Random N(0, scale²) weights of the given shapes, as tensors for a probe to load in parameter order."""
    return [tensor(scale * rng.standard_normal(s), dtype) for s in shapes]


def digits_like(rng: np.random.Generator, shape, dtype: str = "float32") -> Array:
    """Images in [0, 1] with some exact 0s and 1s, like the digits' background and strokes."""
    return tensor(np.clip(1.4 * rng.random(shape) - 0.2, 0, 1), dtype)

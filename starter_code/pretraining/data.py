"""Image datasets for the notebooks, offline by default, and the draw of k labelled examples per class.

Offline (default): scikit-learn's bundled handwritten digits, 1,797 grey 8×8 images of 0–9, split once and for
all into 1,297 training images and a test set of 50 per class. Online (``PRETRAINING_ONLINE=1``, for machines
with network): ``"mnist"`` and ``"fashion-mnist"`` through torchvision, 28×28. Every dataset comes back in the
same format, so the same code runs on all of them::

    train, test = load_images("digits", "train"), load_images("digits", "test")
    train.x  # (N, 1, H, W) float32 in [0, 1]
    train.y  # (N,) int64 class ids
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

DATASETS = ("digits", "mnist", "fashion-mnist")
DIGITS_TEST_PER_CLASS = 50
SPLIT_SEED = 0  # the digits split never changes: every notebook, check and student sees the same one


@dataclass(frozen=True)
class Images:
    """A labelled image dataset: ``x`` (N, C, H, W) float32 in [0, 1], ``y`` (N,) int64, ``classes[y]`` a name."""

    x: torch.Tensor
    y: torch.Tensor
    classes: tuple[str, ...]
    name: str

    def __len__(self) -> int:
        return len(self.y)

    @property
    def n_classes(self) -> int:
        return len(self.classes)

    @property
    def n_features(self) -> int:
        """D = C·H·W, the size of one flattened image."""
        return int(np.prod(self.x.shape[1:]))

    def subset(self, index) -> "Images":
        """The examples at ``index`` (an integer array or tensor), in that order."""
        index = torch.as_tensor(np.asarray(index), dtype=torch.long)
        return Images(self.x[index], self.y[index], self.classes, self.name)


def online() -> bool:
    """Whether datasets may be downloaded: ``PRETRAINING_ONLINE=1``."""
    return os.environ.get("PRETRAINING_ONLINE", "0") == "1"


def load_images(name: str = "digits", split: str = "train") -> Images:
    """The ``"train"`` or ``"test"`` split of dataset ``name`` (see the module docstring)."""
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', not {split!r}")
    if name == "digits":
        return _digits(split)
    if name in DATASETS:
        if not online():
            raise RuntimeError(f"{name!r} must be downloaded; set PRETRAINING_ONLINE=1 on a machine with network, "
                               "or use the bundled 'digits'")
        return _torchvision(name, split)
    raise ValueError(f"unknown dataset {name!r}; choose one of {DATASETS}")


def _digits(split: str) -> Images:
    from sklearn.datasets import load_digits

    bunch = load_digits()
    x = torch.tensor(bunch.images, dtype=torch.float32).unsqueeze(1) / 16.0  # (1797, 1, 8, 8), pixels 0…16 → [0, 1]
    y = torch.tensor(bunch.target, dtype=torch.long)  # (1797,)
    # A fixed stratified split: the first 50 examples of each class, in a fixed random order, are the test set.
    order = np.random.default_rng(SPLIT_SEED).permutation(len(y))
    is_test = np.zeros(len(y), dtype=bool)
    for c in range(10):
        is_test[order[bunch.target[order] == c][:DIGITS_TEST_PER_CLASS]] = True
    keep = np.flatnonzero(is_test if split == "test" else ~is_test)
    return Images(x[keep], y[keep], tuple(str(c) for c in range(10)), "digits")


def _torchvision(name: str, split: str) -> Images:
    import torchvision  # only needed online, hence imported here

    from pretraining.corpus import data_dir

    cls = {"mnist": torchvision.datasets.MNIST, "fashion-mnist": torchvision.datasets.FashionMNIST}[name]
    ds = cls(root=str(Path(data_dir()) / "torchvision"), train=split == "train", download=True)
    x = ds.data.float().unsqueeze(1) / 255.0  # (N, 1, 28, 28)
    return Images(x, ds.targets.long(), tuple(ds.classes), name)


def sample_k_shot(y, k: int, rng: np.random.Generator) -> np.ndarray:
    """Indices of ``k`` examples of every class, drawn without replacement: shape (n_classes·k,).

    Classes are the distinct values of ``y`` (N,), in increasing order, each block of ``k`` indices drawn with
    ``rng.choice``; the same ``rng`` state gives the same draw. Raises ``ValueError`` if a class has fewer
    than ``k`` examples.
    """
    y = np.asarray(y)
    blocks = []
    for c in np.unique(y):
        members = np.flatnonzero(y == c)
        if len(members) < k:
            raise ValueError(f"class {c} has only {len(members)} examples, fewer than k={k}")
        blocks.append(rng.choice(members, size=k, replace=False))
    return np.concatenate(blocks)


class Batches:
    """Mini-batches of aligned tensors, reshuffled on every pass: ``for x, y in Batches(x, y, batch_size=128)``.

    ``generator`` (a ``torch.Generator``) makes the order repeatable. Iterating is cheap (one permutation and
    slices), unlike a ``DataLoader`` that collates example by example.
    """

    def __init__(self, *tensors: torch.Tensor, batch_size: int, shuffle: bool = True,
                 generator: torch.Generator | None = None):
        if not tensors or any(len(t) != len(tensors[0]) for t in tensors):
            raise ValueError("Batches needs one or more tensors of the same length")
        self.tensors, self.batch_size, self.shuffle, self.generator = tensors, batch_size, shuffle, generator

    def __len__(self) -> int:
        return -(-len(self.tensors[0]) // self.batch_size)

    def __iter__(self):
        n = len(self.tensors[0])
        order = torch.randperm(n, generator=self.generator) if self.shuffle else torch.arange(n)
        # Index where the data lives: on a GPU, one copy of the order per pass instead of one per batch.
        order = order.to(self.tensors[0].device)
        for start in range(0, n, self.batch_size):
            index = order[start:start + self.batch_size]
            yield tuple(t[index] for t in self.tensors)

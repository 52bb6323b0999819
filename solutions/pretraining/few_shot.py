"""Section 1 — The few-shot recipe: freeze the pre-trained encoder, fit a linear head on k labels per class.

    probe = LinearProbe(autoencoder.encoder, latent_dim=L, n_classes=10)   # the encoder is frozen here
    fit_linear_probe(probe, x_few, y_few)                                  # only the head learns
    accuracy(probe, test.x, test.y)

Frozen means: no encoder parameter requires a gradient or receives one, and neither its parameters nor its
buffers (e.g. BatchNorm's running statistics) change while the head is fitted.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from pretraining.data import Images, sample_k_shot
from pretraining.device import get_device
from pretraining.training import train


def freeze(module: nn.Module) -> nn.Module:
    """Freeze ``module`` in place and return it: no parameter requires a gradient, and every submodule is in
    evaluation mode (so that dropout is off and BatchNorm uses, and no longer updates, its running statistics).
    """
    ### BEGIN SOLUTION
    ### HINT: two things: requires_grad_(False) on every parameter, and eval mode; then return the module.
    for p in module.parameters():
        p.requires_grad_(False)
    return module.eval()
    ### END SOLUTION


class LinearProbe(nn.Module):
    """A frozen encoder followed by a trainable linear head: logits = W·encoder(x) + b.

    Args:
        encoder:    maps (B, *F) → (B, L); frozen (with :func:`freeze`) when the probe is built.
        latent_dim: L, the size of the encoder's output.
        n_classes:  C, the number of classes.

    Trainable parameters, in this order: W (C, L), b (C,) — those of the head, and nothing else.
    """

    def __init__(self, encoder: nn.Module, latent_dim: int, n_classes: int):
        super().__init__()
        ### BEGIN SOLUTION
        ### HINT: keep the encoder, frozen with your freeze(); add a trainable nn.Linear head from L to C.
        self.encoder = freeze(encoder)
        self.head = nn.Linear(latent_dim, n_classes)
        ### END SOLUTION

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (B, *F) → logits: (B, C). The encoder runs without building a graph: nothing flows back into it."""
        ### BEGIN SOLUTION
        ### HINT: run the encoder inside `with torch.no_grad():`, then the head outside it; return logits (no softmax).
        with torch.no_grad():
            r = self.encoder(x)  # (B, L)
        return self.head(r)  # (B, C)
        ### END SOLUTION

    def train(self, mode: bool = True) -> "LinearProbe":
        # The training loop calls probe.train(); without this, that call would also switch the frozen encoder
        # back to training mode, and its BatchNorm statistics would drift while the head is fitted.
        super().train(mode)
        self.encoder.eval()
        return self


def fit_linear_probe(probe: LinearProbe, x: torch.Tensor, y: torch.Tensor, steps: int = 100, lr: float = 3e-2,
                     progress: bool | None = False) -> list[float]:
    """Fit the probe's head by full-batch Adam on the cross-entropy of ``probe(x)`` against ``y``.

    Args:
        probe:    a :class:`LinearProbe`; only its trainable parameters (the head's) are optimised.
        x:        (N, *F) the labelled inputs, e.g. N = k·C of them.
        y:        (N,) int64 class ids.
        steps:    the number of Adam steps, each on all N examples.
        lr:       Adam's learning rate (other settings: PyTorch's defaults).
        progress: passed on to :func:`pretraining.training.train`.

    Returns:
        The cross-entropy (mean over the N examples) before each step: a list of ``steps`` floats.
    """
    ### BEGIN SOLUTION
    ### HINT: Adam over the parameters that require a gradient; give train() the cross-entropy of probe(x) and y.
    optimizer = torch.optim.Adam([p for p in probe.parameters() if p.requires_grad], lr=lr)
    return train(probe, lambda batch: F.cross_entropy(probe(batch[0]), batch[1]), lambda: (x, y),
                 steps=steps, optimizer=optimizer, progress=progress, desc="linear probe")
    ### END SOLUTION


@torch.no_grad()
def accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    """The share of examples whose arg-max logit is the label: ``model(x)`` (N, C) against ``y`` (N,)."""
    device = next(model.parameters()).device
    model.eval()
    pred = model(x.to(device)).argmax(dim=-1)  # (N,)
    return (pred == y.to(device)).float().mean().item()


def few_shot_accuracy(encoder: nn.Module, latent_dim: int, train_set: Images, test_set: Images, k: int,
                      rng: np.random.Generator, steps: int = 100, lr: float = 3e-2) -> float:
    """The recipe end to end: draw k labelled examples per class from ``train_set`` with ``rng``, fit a
    :class:`LinearProbe` on the frozen ``encoder``, return its accuracy on ``test_set``."""
    few = train_set.subset(sample_k_shot(train_set.y.numpy(), k, rng))
    probe = LinearProbe(encoder, latent_dim, train_set.n_classes)
    device = get_device()  # the labelled examples go there once, not at every step
    fit_linear_probe(probe, few.x.to(device), few.y.to(device), steps=steps, lr=lr)
    return accuracy(probe, test_set.x, test_set.y)

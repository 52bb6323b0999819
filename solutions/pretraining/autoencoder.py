"""Section 1 — Autoencoders: x → encoder → r → decoder → x̂, trained to make d(x, x̂) small.

Shapes: a batch of B inputs is ``x: (B, *F)`` (e.g. ``(B, 64)`` flattened 8×8 digits or
``(B, 1, 8, 8)`` images); the representation is ``r: (B, latent_dim)``.
"""

from __future__ import annotations

import torch


def reconstruction_loss(x: torch.Tensor, x_hat: torch.Tensor, reduction: str = "mean") -> torch.Tensor:
    """The L2 reconstruction loss d(x, x̂) = ‖x − x̂‖², summed over features, one value per example.

    Args:
        x:         (B, *F) the inputs.
        x_hat:     (B, *F) the reconstructions, same shape as ``x``.
        reduction: ``"mean"`` → a scalar, the mean over the batch; ``"none"`` → shape (B,).

    Returns:
        ``(1/B) Σ_i Σ_f (x_if − x̂_if)²`` as a 0-dim tensor, or the per-example sums ``(B,)``.
        Differentiable with respect to ``x_hat``.
    """
    if x.shape != x_hat.shape:
        raise ValueError(f"x and x_hat must have the same shape, got {tuple(x.shape)} and {tuple(x_hat.shape)}")
    if reduction not in ("mean", "none"):
        raise ValueError(f"reduction must be 'mean' or 'none', got {reduction!r}")
    ### BEGIN SOLUTION
    ### HINT: square the difference, sum it over every dimension but the batch one, then apply `reduction`.
    per_example = (x - x_hat).pow(2).flatten(start_dim=1).sum(dim=1)  # (B,)
    return per_example.mean() if reduction == "mean" else per_example
    ### END SOLUTION

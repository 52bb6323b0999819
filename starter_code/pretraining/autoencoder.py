"""Section 1 — Autoencoders: x → encoder → r → decoder → x̂, trained to make d(x, x̂) small.

Shapes: a batch of B inputs is ``x: (B, *F)`` (e.g. ``(B, 64)`` flattened 8×8 digits or
``(B, 1, 8, 8)`` images) with D = prod(F) features; the representation is ``r: (B, L)``, L = ``latent_dim``.
The plain bottleneck is L < D; ``bottlenecks.py`` holds the other ones.
"""

from __future__ import annotations

import torch
from torch import nn


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
    raise NotImplementedError('reconstruction_loss is not implemented yet (pretraining/autoencoder.py). Hint: square the difference, sum it over every dimension but the batch one, then apply `reduction`.')


class Encoder(nn.Module):
    """The encoder of an MLP autoencoder: r = W₂ relu(W₁ x + b₁) + b₂, with x flattened.

    Args:
        input_dim:  D, the number of features of one flattened input (64 for an 8×8 digit).
        latent_dim: L, the size of the representation r: the bottleneck when L < D.
        hidden_dim: H, the width of the hidden layer.

    Parameters, in this order: W₁ (H, D), b₁ (H,), W₂ (L, H), b₂ (L,) — two ``nn.Linear`` layers with a ReLU
    between them and nothing after the second, so that r can take any real value.
    """

    def __init__(self, input_dim: int, latent_dim: int, hidden_dim: int = 128):
        super().__init__()
        self.input_dim, self.latent_dim = input_dim, latent_dim
        raise NotImplementedError('Encoder.__init__ is not implemented yet (pretraining/autoencoder.py). Hint: two nn.Linear layers (D → H, then H → L) with an nn.ReLU between them, e.g. in an nn.Sequential.')

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (B, *F) with prod(F) = D, e.g. (B, 64) or (B, 1, 8, 8) → r: (B, L)."""
        raise NotImplementedError('Encoder.forward is not implemented yet (pretraining/autoencoder.py). Hint: flatten every dimension but the batch one (x.flatten(start_dim=1)), then apply your layers.')


class Decoder(nn.Module):
    """The decoder of an MLP autoencoder: x̂ = W₂ relu(W₁ r + b₁) + b₂, a flat reconstruction.

    Args:
        latent_dim: L, the size of the representation r.
        output_dim: D, the number of features of one flattened input.
        hidden_dim: H, the width of the hidden layer.

    Parameters, in this order: W₁ (H, L), b₁ (H,), W₂ (D, H), b₂ (D,) — the mirror image of :class:`Encoder`,
    again with no activation after the last layer.
    """

    def __init__(self, latent_dim: int, output_dim: int, hidden_dim: int = 128):
        super().__init__()
        raise NotImplementedError('Decoder.__init__ is not implemented yet (pretraining/autoencoder.py). Hint: the mirror image of Encoder: Linear(L → H), ReLU, Linear(H → D).')

    def forward(self, r: torch.Tensor) -> torch.Tensor:
        """r: (B, L) → x̂: (B, D)."""
        raise NotImplementedError('Decoder.forward is not implemented yet (pretraining/autoencoder.py). Hint: apply your layers.')


class Autoencoder(nn.Module):
    """x → encoder → r → decoder → x̂, with x̂ reshaped like x.

    Any bottleneck on r is part of the encoder (e.g. ``nn.Sequential(Encoder(…), TopK(k))``), so that the
    representation a probe sees, ``autoencoder.encoder(x)``, is exactly the one the decoder saw.
    """

    def __init__(self, encoder: nn.Module, decoder: nn.Module):
        super().__init__()
        self.encoder, self.decoder = encoder, decoder

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (B, *F) → x̂: (B, *F)."""
        r = self.encoder(x)  # (B, L)
        return self.decoder(r).view_as(x)  # (B, D) → (B, *F)

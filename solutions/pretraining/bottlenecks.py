"""Section 1 — The other bottlenecks: limit what r can carry without making it smaller than x.

- information: corrupt the input, reconstruct the clean one (a denoising autoencoder). Copying the input no
  longer works, since the input is not the target.
- sparsity: keep only the k largest entries of r (in absolute value) and zero the rest, so that every example
  is described by a few active dimensions.
- capacity: a deliberately weak decoder (a single linear map), so that r itself must be easy to decode.

Shapes: inputs ``x: (B, *F)``; representations ``r: (..., L)``.
"""

from __future__ import annotations

import torch
from torch import nn

from pretraining.autoencoder import reconstruction_loss

# ----------------------------------------------------------------------------------------------------------
# Information: noise on the input, clean target


def add_noise(x: torch.Tensor, noise_std: float, generator: torch.Generator | None = None) -> torch.Tensor:
    """The corrupted input x̃ = x + σ·ε with ε ~ N(0, I), σ = ``noise_std``; ``x`` itself is left unchanged.

    Args:
        x:         (B, *F) the clean inputs.
        noise_std: σ ≥ 0, the standard deviation of the noise (not its variance).
        generator: the source of randomness; draw ε with exactly
                   ``torch.randn(x.shape, generator=generator, dtype=x.dtype, device=x.device)``
                   so that a given generator state always gives the same noise.

    Returns:
        x̃: (B, *F), same dtype as ``x``.
    """
    ### BEGIN SOLUTION
    ### HINT: draw ε with the exact torch.randn call of the docstring; return a new tensor (do not add in place).
    eps = torch.randn(x.shape, generator=generator, dtype=x.dtype, device=x.device)  # (B, *F)
    return x + noise_std * eps
    ### END SOLUTION


def denoising_loss(model: nn.Module, x: torch.Tensor, noise_std: float,
                   generator: torch.Generator | None = None) -> torch.Tensor:
    """The denoising objective d(x, model(x̃)): reconstruct the clean x from its corrupted copy x̃.

    Args:
        model:     maps (B, *F) → (B, *F), e.g. an :class:`~pretraining.autoencoder.Autoencoder`.
        x:         (B, *F) the clean inputs.
        noise_std: σ of :func:`add_noise`.
        generator: passed on to :func:`add_noise` (call it exactly once).

    Returns:
        The scalar ``reconstruction_loss(x, model(x̃))`` (mean over the batch), differentiable with respect to
        the model's parameters.
    """
    ### BEGIN SOLUTION
    ### HINT: corrupt x once with add_noise, run the model on the corrupted copy, compare with the *clean* x.
    x_noisy = add_noise(x, noise_std, generator)  # (B, *F)
    return reconstruction_loss(x, model(x_noisy))
    ### END SOLUTION


# ----------------------------------------------------------------------------------------------------------
# Sparsity: zero most dimensions of r


def top_k(r: torch.Tensor, k: int) -> torch.Tensor:
    """Keep the ``k`` entries of largest absolute value in each representation; set the others to 0.

    Args:
        r: (..., L) representations; the selection is along the last dimension, separately for every row.
        k: 1 ≤ k ≤ L, how many entries stay.

    Returns:
        (..., L), same dtype: r where the entry is kept, 0 elsewhere. Gradients flow to the kept entries of r
        (with weight 1) and to no other entry.
    """
    if not 1 <= k <= r.shape[-1]:
        raise ValueError(f"k must be between 1 and {r.shape[-1]}, got {k}")
    ### BEGIN SOLUTION
    ### HINT: Tensor.topk on |r| along the last dimension gives the indices to keep; scatter them into a 0/1 mask.
    keep = r.abs().topk(k, dim=-1).indices  # (..., k)
    mask = torch.zeros_like(r).scatter(-1, keep, 1.0)  # (..., L), 1 where kept
    return r * mask
    ### END SOLUTION


class TopK(nn.Module):
    """:func:`top_k` as a layer, to put after an encoder: ``nn.Sequential(Encoder(…), TopK(k))``."""

    def __init__(self, k: int):
        super().__init__()
        self.k = k

    def forward(self, r: torch.Tensor) -> torch.Tensor:
        return top_k(r, self.k)

    def extra_repr(self) -> str:
        return f"k={self.k}"


# ----------------------------------------------------------------------------------------------------------
# Capacity: a weak decoder


class LinearDecoder(nn.Module):
    """A deliberately weak decoder: one affine map, x̂ = W r + b. No hidden layer, no activation.

    Args:
        latent_dim: L, the size of r.
        output_dim: D, the number of features of one flattened input.

    Parameters, in this order: W (D, L), b (D,).
    """

    def __init__(self, latent_dim: int, output_dim: int):
        super().__init__()
        ### BEGIN SOLUTION
        ### HINT: a single nn.Linear(L → D), with its bias.
        self.linear = nn.Linear(latent_dim, output_dim)
        ### END SOLUTION

    def forward(self, r: torch.Tensor) -> torch.Tensor:
        """r: (B, L) → x̂: (B, D)."""
        ### BEGIN SOLUTION
        ### HINT: apply your linear map.
        return self.linear(r)  # (B, D)
        ### END SOLUTION

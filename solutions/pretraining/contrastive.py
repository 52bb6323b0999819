"""Section 0 — Contrastive learning (SimCLR), the recap the lecture starts from.

Similar examples should get similar representations. Without labels, "similar" is made by hand: two random
augmentations ("views") of the same image form a *positive pair*; the other images of the batch are its
*negatives*. SimCLR trains an encoder so that each view picks out its partner among all 2N views of a batch:

    x (N, C, H, W) → two views: augment(x), augment(x) → stacked (2N, C, H, W)
                   → encoder f → h (2N, L) → projection head g → z (2N, P) → NT-Xent loss over the 2N rows

After pre-training the projection head is thrown away: probes and fine-tuning use h = f(x), the
representation *before* the head (notebook 00 measures why).

The lecture's two costs of contrastive learning are visible in the loss: it needs negatives (here the other
2N − 2 views of the batch), and so large batches, since a batch of N images offers only 2N − 2 of them.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from pretraining.data import Batches
from pretraining.ensembles import Ensemble, EnsembleBatches, train_ensemble
from pretraining.seeding import seed_everything
from pretraining.training import train

# ----------------------------------------------------------------------------------------------------------
# Augmentations: the views


def augment(images: torch.Tensor, generator: torch.Generator, max_angle: float = 15.0,
            scale: tuple[float, float] = (0.9, 1.1), max_shift: float = 0.25, noise_std: float = 0.05
            ) -> torch.Tensor:
    """One random view of every image: a small rotation, zoom and shift (one random affine map per image),
    then Gaussian pixel noise, clipped back to [0, 1]. ``images`` itself is left unchanged.

    Draw the randomness from ``generator``, in exactly this order (each with ``generator=generator,
    device=images.device, dtype=images.dtype``), so that a given generator state always gives the same views:

        angle = (2·torch.rand(B) − 1) · max_angle · π/180          (B,)    radians, uniform in ±max_angle degrees
        s     = scale[0] + (scale[1] − scale[0]) · torch.rand(B)   (B,)    zoom factor
        shift = (2·torch.rand(B, 2) − 1) · max_shift               (B, 2)  (t_x, t_y)
        eps   = torch.randn(images.shape)                          (B, C, H, W)

    The affine map of image b is θ_b = [[s cos a, −s sin a, t_x], [s sin a, s cos a, t_y]] (2, 3), applied as
    ``F.grid_sample(images, F.affine_grid(θ, images.shape, align_corners=False), mode="bilinear",
    padding_mode="zeros", align_corners=False)``. In these coordinates the image spans [−1, 1], so on an
    8-pixel-wide digit a shift of 0.25 is one pixel. The view is ``(warped + noise_std · eps).clamp(0, 1)``.

    Args:
        images:    (B, C, H, W) pixels in [0, 1], any float dtype.
        generator: a ``torch.Generator`` on ``images.device``.
        max_angle, scale, max_shift, noise_std: the strength of each augmentation (0, (1, 1), 0, 0: none).

    Returns:
        (B, C, H, W), same dtype and device as ``images``.
    """
    ### BEGIN SOLUTION
    ### HINT: draw angle, s, shift, eps in the docstring's order; build θ (B, 2, 3) with torch.stack; affine_grid + grid_sample; add noise; clamp.
    B = images.shape[0]
    draw = dict(generator=generator, device=images.device, dtype=images.dtype)
    angle = (2 * torch.rand(B, **draw) - 1) * math.radians(max_angle)  # (B,)
    s = scale[0] + (scale[1] - scale[0]) * torch.rand(B, **draw)  # (B,)
    shift = (2 * torch.rand(B, 2, **draw) - 1) * max_shift  # (B, 2)
    eps = torch.randn(images.shape, **draw)  # (B, C, H, W)
    cos, sin = s * torch.cos(angle), s * torch.sin(angle)  # (B,)
    theta = torch.stack([torch.stack([cos, -sin, shift[:, 0]], dim=-1),
                         torch.stack([sin, cos, shift[:, 1]], dim=-1)], dim=1)  # (B, 2, 3)
    grid = F.affine_grid(theta, list(images.shape), align_corners=False)  # (B, H, W, 2)
    warped = F.grid_sample(images, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    return (warped + noise_std * eps).clamp(0, 1)
    ### END SOLUTION


# ----------------------------------------------------------------------------------------------------------
# The loss: NT-Xent, SimCLR's InfoNCE with in-batch negatives


def nt_xent_loss(z: torch.Tensor, temperature: float = 0.5) -> torch.Tensor:
    """NT-Xent (normalised temperature-scaled cross-entropy), the InfoNCE loss of SimCLR.

    Rows i and i + N of ``z`` (i < N) are the two views of example i — a positive pair; for row i, the other
    2N − 2 rows are its negatives. With u_i = z_i / ‖z_i‖ (cosine similarity) and s_ij = u_i · u_j / τ:

        ℓ_i = −log( exp(s_{i, p(i)}) / Σ_{j ≠ i} exp(s_ij) ),   p(i) = (i + N) mod 2N
        L   = (1 / 2N) · Σ_{i=0}^{2N−1} ℓ_i

    — a (2N)-way classification of each row's partner, with logits s_i· and the row itself left out (s_ii = 1/τ
    always: it would be the easiest "match"). Averaging over all 2N rows uses both directions of every pair,
    so the loss is symmetric in the two views. It must stay finite and accurate at small τ (τ = 0.01 gives
    logits up to 100, and exp(100) overflows float32): never exponentiate a logit without subtracting the
    row's maximum first (log-sum-exp), e.g. let ``F.cross_entropy`` do it.

    Args:
        z:           (2N, D) embeddings, N ≥ 1; any float dtype.
        temperature: τ > 0; smaller τ sharpens the softmax and weighs the hardest negatives more.

    Returns:
        L, a 0-dim tensor of z's dtype, differentiable with respect to z.
    """
    if z.dim() != 2 or z.shape[0] % 2 or z.shape[0] < 2:
        raise ValueError(f"z must have shape (2N, D) with N ≥ 1, got {tuple(z.shape)}")
    if not temperature > 0:
        raise ValueError(f"temperature must be > 0, got {temperature}")
    ### BEGIN SOLUTION
    ### HINT: F.normalize the rows; logits = u @ u.T / τ; mask the diagonal with -inf (masked_fill); target of row i is (i + N) mod 2N; F.cross_entropy.
    n2 = z.shape[0]
    u = F.normalize(z, dim=1)  # (2N, D), unit rows
    logits = u @ u.T / temperature  # (2N, 2N)
    self_pairs = torch.eye(n2, dtype=torch.bool, device=z.device)
    logits = logits.masked_fill(self_pairs, float("-inf"))  # a row is never its own candidate
    partner = torch.arange(n2, device=z.device).roll(n2 // 2)  # (2N,): i ↦ (i + N) mod 2N
    return F.cross_entropy(logits, partner)  # log-softmax subtracts each row's maximum: stable at small τ
    ### END SOLUTION


# ----------------------------------------------------------------------------------------------------------
# The model: encoder + projection head


class SimCLR(nn.Module):
    """An encoder f and a projection head g: h = f(x) (B, L) is the representation, z = g(h) (B, P) is what
    the loss sees. The head is a small MLP, z = W₂ relu(W₁ h + b₁) + b₂.

    Args:
        encoder:        maps (B, *F) → (B, L), e.g. an MLP or a small CNN.
        feature_dim:    L, the size of h.
        projection_dim: P, the size of z.
        hidden_dim:     H, the width of the head's hidden layer.

    The parameters are created here (given): the encoder's, then the head's W₁ (H, L), b₁ (H,), W₂ (P, H),
    b₂ (P,). Please keep them as they are — the checks load weights into them.
    """

    def __init__(self, encoder: nn.Module, feature_dim: int, projection_dim: int = 32, hidden_dim: int = 64):
        super().__init__()
        self.feature_dim, self.projection_dim = feature_dim, projection_dim
        self.encoder = encoder
        self.head = nn.Sequential(nn.Linear(feature_dim, hidden_dim), nn.ReLU(), nn.Linear(hidden_dim, projection_dim))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """x: (B, *F) → (h, z): the representation h = f(x) (B, L) and its projection z = g(h) (B, P).

        Gradients of a loss on z flow through the head *into the encoder*: that is how f learns.
        """
        ### BEGIN SOLUTION
        ### HINT: h = self.encoder(x); z = self.head(h); return both (h first), neither detached nor normalised.
        h = self.encoder(x)  # (B, L)
        return h, self.head(h)  # (B, L), (B, P)
        ### END SOLUTION


def simclr_loss(model: nn.Module, images: torch.Tensor, generator: torch.Generator, temperature: float = 0.5,
                **augment_options) -> torch.Tensor:
    """SimCLR's objective on one batch: two independent views of every image, one pass of the model over
    both, NT-Xent on the projections.

        views = [augment(images) ; augment(images)]     (2N, C, H, W): first views of all N images, then
                                                        second views, in that order — row i + N is i's partner
        _, z  = model(views)                            (2N, P)
        L     = nt_xent_loss(z, temperature)

    Args:
        model:           returns ``(h, z)`` for a batch, e.g. a :class:`SimCLR`.
        images:          (N, C, H, W), N ≥ 1.
        generator:       passed to both :func:`augment` calls (first view first).
        temperature:     τ of :func:`nt_xent_loss`.
        augment_options: passed on to :func:`augment` (``max_angle``, ``scale``, ``max_shift``, ``noise_std``).

    Returns:
        The 0-dim loss, differentiable with respect to the model's parameters.
    """
    ### BEGIN SOLUTION
    ### HINT: call augment twice (two different views), torch.cat them along the batch dimension, run the model once, use z (not h).
    first = augment(images, generator, **augment_options)  # (N, C, H, W)
    second = augment(images, generator, **augment_options)  # (N, C, H, W), a different draw
    _, z = model(torch.cat([first, second]))  # (2N, P); one pass, so batch statistics see both views
    return nt_xent_loss(z, temperature)
    ### END SOLUTION


# ----------------------------------------------------------------------------------------------------------
# Given: pre-training and the representation a probe sees


def pretrain_simclr(model: nn.Module, images: torch.Tensor, *, epochs: int, batch_size: int,
                    temperature: float = 0.5, lr: float = 1e-3, seed: int = 0,
                    optimizer: torch.optim.Optimizer | None = None, progress: bool | None = None,
                    **augment_options) -> list[float]:
    """Pre-train ``model`` with :func:`simclr_loss` on mini-batches of ``images`` (N, C, H, W), no labels, with
    the course's training loop; return the loss of every step. ``seed`` fixes the order of the batches and
    the views (drawn where ``images`` live)."""
    batches = Batches(images, batch_size=batch_size, generator=torch.Generator().manual_seed(seed))
    views = torch.Generator(images.device).manual_seed(seed)
    return train(model, lambda batch: simclr_loss(model, batch[0], views, temperature, **augment_options),
                 batches, epochs=epochs, lr=lr, optimizer=optimizer, progress=progress,
                 desc=f"SimCLR (batch {batch_size})")


def mlp_simclr(n_features: int, latent_dim: int = 64, seed: int | None = None) -> SimCLR:
    """The SimCLR model of notebooks 00 and 06: section 1's MLP encoder, flatten → Linear(D, 128) → ReLU →
    Linear(128, L), so that the comparison with the autoencoders is one of objectives, not of networks; a head
    L → 64 → 32. ``seed``: ``seed_everything(seed)`` first, so that the initial weights are those of that seed.
    """
    if seed is not None:
        seed_everything(seed)
    encoder = nn.Sequential(nn.Flatten(), nn.Linear(n_features, 128), nn.ReLU(), nn.Linear(128, latent_dim))
    return SimCLR(encoder, latent_dim, projection_dim=32, hidden_dim=64)


def pretrain_simclr_seeds(images: torch.Tensor, seeds, *, epochs: int, batch_size: int, latent_dim: int = 64,
                          temperature: float = 0.5, lr: float = 1e-3, progress: bool | None = None,
                          **augment_options) -> tuple[list[SimCLR], torch.Tensor]:
    """One :func:`mlp_simclr` per seed, pre-trained with :func:`simclr_loss` — all seeds at once, as one
    :class:`~pretraining.ensembles.Ensemble`: a step of the M = len(seeds) models costs about what a step of
    one costs on a GPU, where a model this small is bound by kernel launches, not arithmetic.

    Each model is what :func:`pretrain_simclr` would make of it alone, in distribution: its seed's initial
    weights and its seed's order of batches (the same as ``pretrain_simclr(…, seed=seed)``), and its own
    views — drawn for all models at once from one generator seeded with ``seeds[0]``, under ``vmap``, so
    independent across models but not the very same numbers as a run alone. Should your ``augment`` or
    ``simclr_loss`` not run under ``vmap`` (correct code can fail there, e.g. by writing into a tensor made
    with ``torch.zeros``), the ensemble warns and runs the models one after another: the same training, only
    slower on a GPU (:meth:`~pretraining.ensembles.Ensemble.map`).

    Args:
        images: (N, C, H, W) unlabelled images, on the device to train on.
        seeds:  M seeds, one model each.
        epochs, batch_size, temperature, lr, augment_options: as for :func:`pretrain_simclr`.

    Returns:
        The M models (in eval mode, in the order of ``seeds``) and their losses, (M, steps) on the CPU.
    """
    seeds = list(seeds)
    ensemble = Ensemble([mlp_simclr(images[0].numel(), latent_dim, seed) for seed in seeds])
    batches = EnsembleBatches(images, batch_size=batch_size,
                              generators=[torch.Generator().manual_seed(seed) for seed in seeds])
    views = torch.Generator(images.device).manual_seed(seeds[0])
    curves = train_ensemble(ensemble, lambda model, x: simclr_loss(model, x, views, temperature, **augment_options),
                            batches, epochs=epochs, lr=lr, progress=progress, cuda_graph=True, generators=[views],
                            desc=f"SimCLR × {len(seeds)} seeds (batch {batch_size})")
    return [model.eval() for model in ensemble.unstack()], curves


@torch.no_grad()
def representations(model: nn.Module, images: torch.Tensor, where: str = "h", batch_size: int = 1024
                    ) -> torch.Tensor:
    """The frozen representation of every image, for a probe: ``where="h"`` before the projection head (the
    one SimCLR keeps), ``"z"`` after it. (N, C, H, W) → (N, L) or (N, P), on the CPU."""
    if where not in ("h", "z"):
        raise ValueError(f"where must be 'h' or 'z', not {where!r}")
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    out = [model(images[i:i + batch_size].to(device))[0 if where == "h" else 1].cpu()
           for i in range(0, len(images), batch_size)]
    model.train(was_training)
    return torch.cat(out)

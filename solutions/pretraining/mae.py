"""Section 2 — Masked autoencoders for images (MAE, He et al. 2021).

The recipe of ``masking`` on image patches. Cut the image into a grid of N patches and draw a random subset
to keep visible (25% of them for a mask ratio of 75%):

    x̃ = the visible patches               → encoder (a small ViT) runs on these N_keep tokens only
    decoder input = encoded visible patches + a learned [MASK] token at each hidden position, in image order
    ŷ = the decoder's reconstruction of every patch
    d(y, ŷ) = mean squared error over the hidden patches only

Encoding only the visible patches is what makes MAE cheap: at 75% masking the encoder, usually the bulk of
the model, processes a quarter of the tokens. The decoder is small and only used in pre-training; after it,
the encoder's features (:meth:`MaskedAutoencoder.features`) are probed or fine-tuned.

Shapes: B images of C channels and H × W pixels; patch size p; N = (H/p)·(W/p) patches, each flattened to
P = p·p·C values; N_keep visible patches; D encoder width; D_dec decoder width.
"""

from __future__ import annotations

import torch
import torch.nn as nn


def patchify(images: torch.Tensor, patch_size: int) -> torch.Tensor:
    """Cut images into non-overlapping p × p patches and flatten each one.

    Patch n = i·(W/p) + j is the one in grid row i and column j (row-major order). Its vector lists the
    pixel (u, v) of the patch (row u, column v, both in 0 … p−1) and channel c at index (u·p + v)·C + c.

    Args:
        images:     (B, C, H, W) with H and W multiples of ``patch_size``.
        patch_size: p.

    Returns:
        (B, N, P) patches, N = (H/p)·(W/p), P = p·p·C.
    """
    B, C, H, W = images.shape
    p = patch_size
    if H % p or W % p:
        raise ValueError(f"image size {H}×{W} is not a multiple of the patch size {p}")
    ### BEGIN SOLUTION
    ### HINT: reshape to (B, C, H/p, p, W/p, p), permute to (B, H/p, W/p, p, p, C), then reshape to (B, N, P).
    x = images.reshape(B, C, H // p, p, W // p, p)  # (B, C, i, u, j, v)
    x = x.permute(0, 2, 4, 3, 5, 1)  # (B, i, j, u, v, C)
    return x.reshape(B, (H // p) * (W // p), p * p * C)  # (B, N, P)
    ### END SOLUTION


def unpatchify(patches: torch.Tensor, patch_size: int, channels: int = 1) -> torch.Tensor:
    """The inverse of :func:`patchify` for square images: ``unpatchify(patchify(x, p), p, C) == x``.

    Args:
        patches:    (B, N, P) with N a perfect square and P = p·p·C.
        patch_size: p.
        channels:   C.

    Returns:
        (B, C, H, W) images, H = W = p·√N.
    """
    B, N, P = patches.shape
    p, C = patch_size, channels
    g = round(N ** 0.5)  # patches per side
    if g * g != N or P != p * p * C:
        raise ValueError(f"cannot unpatchify {N} patches of {P} values into square images of {C} channels")
    ### BEGIN SOLUTION
    ### HINT: undo patchify's steps in reverse order: reshape to (B, g, g, p, p, C), permute, reshape.
    x = patches.reshape(B, g, g, p, p, C)  # (B, i, j, u, v, C)
    x = x.permute(0, 5, 1, 3, 2, 4)  # (B, C, i, u, j, v)
    return x.reshape(B, C, g * p, g * p)  # (B, C, H, W)
    ### END SOLUTION


def num_visible(num_patches: int, mask_ratio: float) -> int:
    """N_keep = round(N · (1 − mask_ratio)), the number of patches each image keeps visible (at least 1)."""
    if not 0.0 <= mask_ratio < 1.0:
        raise ValueError(f"mask_ratio must be in [0, 1), got {mask_ratio}")
    return max(1, round(num_patches * (1.0 - mask_ratio)))


def random_masking(x: torch.Tensor, mask_ratio: float, generator: torch.Generator
                   ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Keep a uniformly random subset of N_keep = :func:`num_visible` (N, mask_ratio) tokens per sample.

    The MAE paper's algorithm, exactly: draw one uniform random number per token,
    ``noise = torch.rand(B, N, generator=generator, device=x.device)``, and sort them in ascending order
    (``ids_shuffle = noise.argsort(dim=1)``): a random order (the *shuffle*) of the tokens, different for every
    sample. The first N_keep tokens of the shuffle stay visible, in that order. ``ids_restore`` is the
    inverse permutation: the decoder appends N − N_keep mask tokens after the visible ones (the shuffled
    order) and gathers with ``ids_restore`` to put every token back at its own position:
    ``torch.cat([x_visible, masked], 1).gather(1, ids_restore…)`` has ``x`` wherever ``mask == 0``.

    Args:
        x:          (B, N, D) tokens (embedded patches).
        mask_ratio: fraction of tokens to hide, in [0, 1).
        generator:  a ``torch.Generator`` on ``x``'s device: the only source of randomness.

    Returns:
        ``x_visible`` (B, N_keep, D): the kept tokens, in shuffled order;
        ``mask`` (B, N) float: 0 = visible, 1 = masked, in the original order;
        ``ids_restore`` (B, N) int64: position in the shuffled order of each original token.
    """
    ### BEGIN SOLUTION
    ### HINT: noise = torch.rand(B, N, generator=…); ids_shuffle = noise.argsort(1); ids_restore = ids_shuffle.argsort(1).
    B, N, D = x.shape
    keep = num_visible(N, mask_ratio)
    noise = torch.rand(B, N, generator=generator, device=x.device)  # (B, N): an independent score per token
    ids_shuffle = noise.argsort(dim=1)  # (B, N): a uniformly random permutation per sample
    ids_restore = ids_shuffle.argsort(dim=1)  # (B, N): its inverse
    ids_keep = ids_shuffle[:, :keep]  # (B, N_keep)
    x_visible = x.gather(1, ids_keep.unsqueeze(-1).expand(-1, -1, D))  # (B, N_keep, D)
    mask = torch.ones(B, N, device=x.device)  # (B, N) in shuffled order: the first N_keep are visible
    mask[:, :keep] = 0
    mask = mask.gather(1, ids_restore)  # (B, N) in the original order
    return x_visible, mask, ids_restore
    ### END SOLUTION


def mae_loss(pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor,
             normalize_target: bool = False) -> torch.Tensor:
    """MAE's distance d: mean squared error per patch, averaged over the masked patches only.

    ``loss = Σ_{b,n} mask[b,n] · (1/P) Σ_k (pred[b,n,k] − target[b,n,k])² / Σ_{b,n} mask[b,n]``.
    Visible patches (mask 0) contribute nothing: reconstructing what the encoder saw teaches nothing.

    With ``normalize_target``, each target patch is first standardised by its own P values,
    ``(t − mean) / sqrt(var + 1e-6)`` with the unbiased variance (``torch.var``'s default), as in the MAE
    paper's best setting: the model then predicts local contrast, not brightness.

    Args:
        pred:   (B, N, P) reconstructed patches.
        target: (B, N, P) true patches (:func:`patchify` of the images).
        mask:   (B, N) 1 = masked, 0 = visible.

    Returns:
        A 0-dim tensor.
    """
    ### BEGIN SOLUTION
    ### HINT: per-patch mean over the last dim gives (B, N); weight it by mask and divide by mask.sum().
    if normalize_target:
        mean = target.mean(dim=-1, keepdim=True)  # (B, N, 1)
        var = target.var(dim=-1, keepdim=True)  # (B, N, 1)
        target = (target - mean) / (var + 1e-6).sqrt()
    per_patch = (pred - target).pow(2).mean(dim=-1)  # (B, N)
    return (per_patch * mask).sum() / mask.sum()
    ### END SOLUTION


def sincos_positions(grid: int, dim: int) -> torch.Tensor:
    """Fixed 2-D sine-cosine position embeddings for a grid × grid patch grid, as in MAE: (1, grid², dim).

    A quarter of the dimensions is sin(row·ω_i), a quarter cos(row·ω_i), then the same for the column, with
    frequencies ω_i = 10000^(−i/(dim/4)). Fixed, not learned: every position is distinct from the first step
    on, so the decoder can tell the mask tokens apart immediately.
    """
    if dim % 4:
        raise ValueError(f"the width must be a multiple of 4 for 2-D sine-cosine positions, got {dim}")
    omega = 1.0 / 10000 ** (torch.arange(dim // 4) / (dim // 4))  # (dim/4,)
    rows, cols = torch.meshgrid(torch.arange(grid), torch.arange(grid), indexing="ij")  # (grid, grid) each
    angles = [c.reshape(-1, 1).float() * omega for c in (rows, cols)]  # (N, dim/4) each
    return torch.cat([f(a) for a in angles for f in (torch.sin, torch.cos)], dim=1).unsqueeze(0)  # (1, N, dim)


def _transformer(dim: int, depth: int, heads: int, mlp_ratio: float) -> nn.Sequential:
    """``depth`` pre-norm transformer blocks (self-attention + MLP, residuals), then a final LayerNorm."""
    blocks = [nn.TransformerEncoderLayer(dim, heads, dim_feedforward=int(dim * mlp_ratio), dropout=0.0,
                                         activation="gelu", batch_first=True, norm_first=True)
              for _ in range(depth)]
    return nn.Sequential(*blocks, nn.LayerNorm(dim))


class MaskedAutoencoder(nn.Module):
    """A ViT-style masked autoencoder: patches → linear embedding + positions → transformer encoder on the
    visible patches → decoder over all positions → a linear layer to P pixel values per patch.

    The parameters are created here; please do not rename or re-create them (the checks build this model
    and compare what your methods compute with it).
    """

    def __init__(self, image_size: int = 16, patch_size: int = 4, channels: int = 1, dim: int = 64,
                 depth: int = 4, heads: int = 4, decoder_dim: int = 32, decoder_depth: int = 1,
                 decoder_heads: int = 4, mlp_ratio: float = 4.0, normalize_target: bool = False):
        super().__init__()
        self.patch_size, self.channels, self.normalize_target = patch_size, channels, normalize_target
        grid = image_size // patch_size
        self.num_patches = grid * grid  # N
        patch_dim = patch_size * patch_size * channels  # P
        # encoder
        self.patch_embed = nn.Linear(patch_dim, dim)
        self.register_buffer("pos_embed", sincos_positions(grid, dim))  # (1, N, D), fixed
        self.encoder = _transformer(dim, depth, heads, mlp_ratio)
        # decoder
        self.decoder_embed = nn.Linear(dim, decoder_dim)
        self.mask_token = nn.Parameter(0.02 * torch.randn(1, 1, decoder_dim))  # stands in for every hidden patch
        self.register_buffer("decoder_pos", sincos_positions(grid, decoder_dim))  # (1, N, D_dec), fixed
        self.decoder = _transformer(decoder_dim, decoder_depth, decoder_heads, mlp_ratio)
        self.decoder_pred = nn.Linear(decoder_dim, patch_dim)

    def embed(self, images: torch.Tensor) -> torch.Tensor:
        """(B, C, H, W) → (B, N, D): every patch embedded, plus the embedding of its position."""
        return self.patch_embed(patchify(images, self.patch_size)) + self.pos_embed

    def features(self, images: torch.Tensor) -> torch.Tensor:
        """The encoder on every patch, no masking (for probing and fine-tuning): (B, C, H, W) → (B, N, D)."""
        return self.encoder(self.embed(images))

    def forward_encoder(self, images: torch.Tensor, mask_ratio: float, generator: torch.Generator
                        ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Embed the patches (with positions), mask them with :func:`random_masking`, encode the visible ones.

        The transformer ``self.encoder`` must see only the N_keep visible tokens: that is MAE's speed-up,
        and the hidden patches cannot leak into the representation.

        Args:
            images:     (B, C, H, W).
            mask_ratio: fraction of patches to hide.
            generator:  passed to :func:`random_masking`.

        Returns:
            ``latent`` (B, N_keep, D), and ``mask`` (B, N), ``ids_restore`` (B, N) from :func:`random_masking`.
        """
        ### BEGIN SOLUTION
        ### HINT: self.embed(images), then random_masking(...), then self.encoder on the visible tokens only.
        tokens = self.embed(images)  # (B, N, D): positions are added before masking, so they survive it
        visible, mask, ids_restore = random_masking(tokens, mask_ratio, generator)  # (B, N_keep, D)
        return self.encoder(visible), mask, ids_restore  # (B, N_keep, D), (B, N), (B, N)
        ### END SOLUTION

    def forward_decoder(self, latent: torch.Tensor, ids_restore: torch.Tensor) -> torch.Tensor:
        """Reconstruct every patch from the encoded visible ones.

        1. ``self.decoder_embed``: (B, N_keep, D) → (B, N_keep, D_dec).
        2. Append N − N_keep copies of ``self.mask_token`` (shuffled order: visible first, then masked) and
           gather with ``ids_restore`` to put each token back at its position in the image.
        3. Add ``self.decoder_pos``, run ``self.decoder``, project with ``self.decoder_pred``.

        Args:
            latent:      (B, N_keep, D) the encoder's output, in shuffled order.
            ids_restore: (B, N) from :func:`random_masking`.

        Returns:
            (B, N, P) the predicted pixel values of every patch, in image order.
        """
        ### BEGIN SOLUTION
        ### HINT: torch.cat([x, self.mask_token.expand(B, N - N_keep, -1)], dim=1), then .gather(1, ids_restore[..., None].expand(-1, -1, D_dec)).
        x = self.decoder_embed(latent)  # (B, N_keep, D_dec)
        B, keep, dim = x.shape
        N = ids_restore.shape[1]
        x = torch.cat([x, self.mask_token.expand(B, N - keep, dim)], dim=1)  # (B, N, D_dec), shuffled order
        x = x.gather(1, ids_restore.unsqueeze(-1).expand(-1, -1, dim))  # (B, N, D_dec), image order
        x = self.decoder(x + self.decoder_pos)  # (B, N, D_dec)
        return self.decoder_pred(x)  # (B, N, P)
        ### END SOLUTION

    def forward(self, images: torch.Tensor, mask_ratio: float = 0.75, generator: torch.Generator | None = None
                ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """One pass of the recipe: mask, encode, decode, d(y, ŷ) on the masked patches.

        Returns ``(loss, pred, mask)``: the 0-dim loss, (B, N, P) predicted patches, (B, N) the mask.
        """
        latent, mask, ids_restore = self.forward_encoder(images, mask_ratio, generator)
        pred = self.forward_decoder(latent, ids_restore)
        loss = mae_loss(pred, patchify(images, self.patch_size), mask, self.normalize_target)
        return loss, pred, mask


class PooledEncoder(nn.Module):
    """A pre-trained MAE as an encoder r = f(x) for a probe or fine-tuning: every patch encoded, no masking,
    then averaged over the patches. (B, C, H, W) → (B, D). The decoder comes along unused."""

    def __init__(self, mae: MaskedAutoencoder):
        super().__init__()
        self.mae = mae

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.mae.features(images).mean(dim=1)  # (B, N, D) → (B, D)

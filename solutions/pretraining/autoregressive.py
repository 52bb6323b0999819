"""Section 4 of the lecture — autoregressive models: learn p_θ(x_t | x_<t); every token is a target.

A transformer computes every p_θ(x_t | x_<t) in one pass by letting position t attend only to positions
≤ t (the causal mask). Seen this way an autoregressive model is a masked autoencoder with a special mask:
for target t, hide every position ≥ t and predict x_t — for every t at once.

Shapes: B batch, T positions, V vocabulary, H heads, Dh head size.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from pretraining.masking import IGNORE_INDEX  # the label value a loss skips: the same for both objectives


def causal_mask(T: int, device: torch.device | str | None = None) -> torch.Tensor:
    """(T, T) bool mask, ``True`` where query position i may attend to key position j, i.e. j ≤ i."""
    ### BEGIN SOLUTION
    ### HINT: a lower-triangular matrix of True (torch.tril), diagonal included.
    return torch.ones(T, T, dtype=torch.bool, device=device).tril()
    ### END SOLUTION


def causal_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """Causal scaled dot-product attention.

    Args:
        q, k, v: (B, H, T, Dh) queries, keys and values (three linear projections of the same X).

    Returns:
        (B, H, T, Dh): ``softmax(q kᵀ / √Dh + M) v`` where ``M`` is 0 where :func:`causal_mask` allows and
        −∞ elsewhere, so position i mixes only the values of positions ≤ i.
    """
    ### BEGIN SOLUTION
    ### HINT: scores = q @ kᵀ / sqrt(Dh); set the disallowed scores to -inf with masked_fill; softmax over keys.
    T = q.shape[-2]
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])  # (B, H, T, T)
    scores = scores.masked_fill(~causal_mask(T, q.device), float("-inf"))
    return scores.softmax(dim=-1) @ v  # (B, H, T, Dh)
    ### END SOLUTION


def next_token_loss(logits: torch.Tensor, input_ids: torch.Tensor,
                    attention_mask: torch.Tensor | None = None) -> torch.Tensor:
    """Mean cross-entropy of predicting each token from the ones before it.

    The logits at position t predict token t + 1, so logits and targets are shifted by one position:
    ``loss = −(1/N) Σ_{b, t: counted} log softmax(logits[b, t])[input_ids[b, t + 1]]``.

    Args:
        logits:         (B, T, V) the model's outputs for ``input_ids``.
        input_ids:      (B, T) token ids.
        attention_mask: (B, T) 1 for real tokens, 0 for padding (optional). Padding is never a target.

    Returns:
        A 0-dim tensor: the mean over the N counted targets (real tokens at positions 1 … T−1).
    """
    ### BEGIN SOLUTION
    ### HINT: targets = input_ids[:, 1:] with padding replaced by IGNORE_INDEX; logits[:, :-1]; F.cross_entropy(..., ignore_index=IGNORE_INDEX).
    targets = input_ids[:, 1:]  # (B, T-1)
    if attention_mask is not None:
        targets = targets.masked_fill(attention_mask[:, 1:] == 0, IGNORE_INDEX)
    predictions = logits[:, :-1]  # (B, T-1, V)
    return F.cross_entropy(predictions.reshape(-1, predictions.shape[-1]), targets.reshape(-1),
                           ignore_index=IGNORE_INDEX)
    ### END SOLUTION


@torch.no_grad()
def masked_autoencoder_loss(model, input_ids: torch.Tensor) -> torch.Tensor:
    """The same loss, computed as a masked autoencoder with one mask per target.

    For each target position t = 1 … T−1: hide every position ≥ t (here: cut them off, which is what the
    causal mask does inside the model), run the model on x_<t alone and read log p(x_t | x_<t) at its
    last position. Averaging over t and the batch gives the autoregressive loss — the one-pass
    :func:`next_token_loss` computes all T−1 of these masked reconstructions at once.

    Args:
        model:     a causal language model: ``model(input_ids).logits`` is (B, T, V).
        input_ids: (B, T) token ids, no padding.

    Returns:
        A 0-dim tensor equal (up to float round-off) to ``next_token_loss(model(input_ids).logits, input_ids)``.
    """
    ### BEGIN SOLUTION
    ### HINT: for t in 1..T-1: logits = model(input_ids[:, :t]).logits[:, -1]; gather log_softmax at input_ids[:, t].
    T = input_ids.shape[1]
    nll = []
    for t in range(1, T):
        last = model(input_ids[:, :t]).logits[:, -1]  # (B, V): the prediction for position t from x_<t
        nll.append(-last.log_softmax(dim=-1).gather(1, input_ids[:, t:t + 1]).squeeze(1))  # (B,)
    return torch.stack(nll, dim=1).mean()  # mean over (B, T-1)
    ### END SOLUTION

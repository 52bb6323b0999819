"""Turning next-token logits into a token: greedy, temperature, top-k and top-p (nucleus) sampling.

Every function takes logits of shape (B, V) — one row per sequence — and, where it draws random numbers, a
``torch.Generator`` so that a run can be replayed exactly.
"""

from __future__ import annotations

import torch


def top_k_filter(logits: torch.Tensor, k: int) -> torch.Tensor:
    """(B, V) → (B, V): keep the k largest logits of each row, set the others to −∞.

    Ties at the k-th value are all kept (so a row may keep more than k entries only when values tie).
    """
    ### BEGIN SOLUTION
    ### HINT: the k-th largest value per row is torch.topk(logits, k).values[:, -1:]; mask everything below it.
    kth = torch.topk(logits, k, dim=-1).values[:, -1:]  # (B, 1)
    return logits.masked_fill(logits < kth, float("-inf"))
    ### END SOLUTION


def top_p_filter(logits: torch.Tensor, p: float) -> torch.Tensor:
    """(B, V) → (B, V): keep the nucleus — the smallest set of most likely tokens whose probability sums to ≥ p.

    Sort the probabilities in decreasing order; a token is kept if the probability mass of the tokens
    *before* it is < p (so the most likely token is always kept). Everything else becomes −∞.
    """
    ### BEGIN SOLUTION
    ### HINT: sort descending; mass_before = cumsum(probs) - probs; drop where mass_before >= p; scatter the mask back.
    sorted_logits, order = logits.sort(dim=-1, descending=True)  # (B, V)
    probs = sorted_logits.softmax(dim=-1)
    mass_before = probs.cumsum(dim=-1) - probs  # (B, V)
    drop_sorted = mass_before >= p
    drop = torch.zeros_like(drop_sorted).scatter(-1, order, drop_sorted)  # back to vocabulary order
    return logits.masked_fill(drop, float("-inf"))
    ### END SOLUTION


def sample_next_token(logits: torch.Tensor, temperature: float = 1.0, top_k: int | None = None,
                      top_p: float | None = None, generator: torch.Generator | None = None) -> torch.Tensor:
    """Draw one token per row from softmax(logits / temperature), restricted by top-k and/or top-p.

    Args:
        logits:      (B, V) next-token logits.
        temperature: > 0 sharpens (< 1) or flattens (> 1) the distribution; 0 means greedy (argmax).
        top_k, top_p: optional filters, applied after the temperature (top-k first).
        generator:   the source of randomness (CPU generator; the draw happens on the CPU).

    Returns:
        (B,) int64 token ids.
    """
    ### BEGIN SOLUTION
    ### HINT: temperature 0 → argmax; else divide by temperature, filter, softmax, torch.multinomial(probs, 1, generator=generator).
    if temperature == 0:
        return logits.argmax(dim=-1)
    logits = logits / temperature
    if top_k is not None:
        logits = top_k_filter(logits, top_k)
    if top_p is not None:
        logits = top_p_filter(logits, top_p)
    probs = logits.float().softmax(dim=-1).cpu()  # (B, V); draw on the CPU so the generator decides
    return torch.multinomial(probs, 1, generator=generator).squeeze(1).to(logits.device)
    ### END SOLUTION

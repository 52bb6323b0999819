"""Section 2 — Masked autoencoders: the general recipe, and BERT's masking of text.

A plain autoencoder can copy its input; a masked one cannot, because the part it must predict is hidden
from it. The recipe, for a model f_θ and a distance d:

    for each example x:  sample (x̃, y) ~ mask(x)      x̃: what the model sees, y: what it must predict
                         ŷ = f_θ(x̃)
    loss = d(y, ŷ)                                      averaged over the examples (and the targets in them)

For text (BERT), x is a sequence of token ids, mask(x) hides ~15% of the tokens, y are the hidden tokens and
d is the cross-entropy −Σ_j log p_θ(y_j | x̃) over the hidden positions j only. For images (MAE) see ``mae``.

Shapes: B sequences of T token ids, vocabulary of V ids.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F

IGNORE_INDEX = -100  # label of a position the loss skips (PyTorch's and Hugging Face's convention)


def special_positions(input_ids: torch.Tensor, special_ids: Sequence[int] = (),
                      special_mask: torch.Tensor | None = None) -> torch.Tensor:
    """(B, T) bool: True at the positions that are never chosen — ids in ``special_ids`` ([CLS], [SEP],
    [PAD], …) and positions where ``special_mask`` is True. Given (not graded): used by both masking functions."""
    protected = torch.zeros_like(input_ids, dtype=torch.bool)  # (B, T)
    for special in special_ids:  # one comparison per id: no id tensor copied from the host (a CUDA graph cannot)
        protected |= input_ids == special
    if special_mask is not None:
        protected = protected | special_mask.to(device=input_ids.device, dtype=torch.bool)
    return protected


def bert_mask(
    input_ids: torch.Tensor,
    generator: torch.Generator,
    *,
    mask_token_id: int,
    vocab_size: int,
    special_ids: Sequence[int] = (),
    special_mask: torch.Tensor | None = None,
    select_prob: float = 0.15,
    mask_prob: float = 0.8,
    random_prob: float = 0.1,
) -> tuple[torch.Tensor, torch.Tensor]:
    """BERT's mask(x): pick targets among the ordinary tokens and corrupt what the model sees there.

    1. Each position that is not special is *chosen* independently with probability ``select_prob`` (15%).
       Special positions — ids in ``special_ids`` ([CLS], [SEP], [PAD], …) and positions where
       ``special_mask`` is True — are never chosen.
    2. Each chosen position, independently: with probability ``mask_prob`` (80%) its input becomes
       ``mask_token_id``; with probability ``random_prob`` (10%) a token drawn uniformly from
       ``0 … vocab_size − 1``; otherwise (10%) it keeps its own token.
    3. ``labels`` hold the original id at chosen positions and ``IGNORE_INDEX`` everywhere else.

    Every random number comes from ``generator`` (so the same generator state gives the same masking);
    ``input_ids`` is not modified.

    Args:
        input_ids:    (B, T) integer token ids.
        generator:    a ``torch.Generator`` on ``input_ids``' device.
        special_ids:  ids that are never chosen.
        special_mask: (B, T) bool, True at positions that are never chosen (optional).

    Returns:
        ``(inputs, labels)``, both (B, T) with the dtype of ``input_ids``: x̃ and y of the recipe.
    """
    ### BEGIN SOLUTION
    ### HINT: draw torch.rand(input_ids.shape, generator=generator) twice: once to choose, once to decide mask / random / keep.
    protected = special_positions(input_ids, special_ids, special_mask)  # (B, T)
    shape, device = input_ids.shape, input_ids.device
    chosen = (torch.rand(shape, generator=generator, device=device) < select_prob) & ~protected  # (B, T)
    labels = input_ids.masked_fill(~chosen, IGNORE_INDEX)  # (B, T)
    # One uniform draw per position splits the chosen ones 80 / 10 / 10.
    u = torch.rand(shape, generator=generator, device=device)  # (B, T)
    to_mask = chosen & (u < mask_prob)
    to_random = chosen & (u >= mask_prob) & (u < mask_prob + random_prob)
    random_ids = torch.randint(vocab_size, shape, generator=generator, device=device, dtype=input_ids.dtype)
    inputs = input_ids.masked_fill(to_mask, mask_token_id)  # (B, T), a new tensor
    inputs = torch.where(to_random, random_ids, inputs)
    return inputs, labels
    ### END SOLUTION


def span_mask(
    input_ids: torch.Tensor,
    generator: torch.Generator,
    *,
    mask_token_id: int,
    vocab_size: int,
    special_ids: Sequence[int] = (),
    special_mask: torch.Tensor | None = None,
    mask_rate: float = 0.15,
    mean_span: float = 3.0,
    mask_prob: float = 0.8,
    random_prob: float = 0.1,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Span masking (the lecture's "better: mask longer spans"): targets come in runs of neighbouring tokens,
    so a hidden word cannot be read off its own other pieces.

    1. Spans. Walk along each row, left to right, over the ordinary (not special) positions:
       - at the first ordinary position of the row, and at the first one after a special position, a span
         starts with probability ``mask_rate``;
       - at any other ordinary position, if the previous position is in a span, the span goes on with
         probability ``1 − 1/mean_span``; if it is not, a new span starts with probability
         ``mask_rate / (mean_span · (1 − mask_rate))``.
       Special positions (``special_ids``, ``special_mask``: as in :func:`bert_mask`) are never in a span and
       end any span: no span crosses [SEP] or reaches into padding. Rows are independent.
    2. What must hold, as a consequence: every ordinary position is in a span with probability exactly
       ``mask_rate`` (so ≈ ``mask_rate`` of the ordinary tokens are targets, as in BERT); span lengths are
       geometric, P(length = l) = (1/m)(1 − 1/m)^(l−1) with mean m = ``mean_span``, unless a special position
       or the end of the row cuts them short.
    3. Every position in a span is a target, corrupted exactly as in :func:`bert_mask` step 2 (``mask_prob``
       [MASK], ``random_prob`` a uniform random id in ``0 … vocab_size − 1``, otherwise kept); ``labels``
       hold the original id in the spans and ``IGNORE_INDEX`` everywhere else.

    Every random number comes from ``generator``; ``input_ids`` is not modified.

    Args:
        input_ids:    (B, T) integer token ids.
        generator:    a ``torch.Generator`` on ``input_ids``' device.
        special_ids:  ids that are never in a span.
        special_mask: (B, T) bool, True at positions that are never in a span (optional).
        mask_rate:    r in [0, 1), the share of ordinary positions that are targets.
        mean_span:    m ≥ 1, the mean span length (m = 1: spans of one token, never two side by side).

    Returns:
        ``(inputs, labels)``, both (B, T) with the dtype of ``input_ids``.
    """
    if not 0.0 <= mask_rate < 1.0:
        raise ValueError(f"mask_rate must be in [0, 1), got {mask_rate}")
    if not mean_span >= 1.0:
        raise ValueError(f"mean_span must be at least 1, got {mean_span}")
    start_prob = mask_rate / (mean_span * (1.0 - mask_rate))  # a new span after an ordinary non-target
    if start_prob > 1.0:
        raise ValueError(f"mask_rate={mask_rate} cannot be reached with spans of mean length {mean_span}")
    ### BEGIN SOLUTION
    ### HINT: one torch.rand(input_ids.shape, generator=generator) draw, a loop over t comparing u[:, t] with a per-row probability (torch.where), then bert_mask(..., select_prob=1.0, special_mask=~in_span) for step 3.
    protected = special_positions(input_ids, special_ids, special_mask)  # (B, T)
    B, T = input_ids.shape
    u = torch.rand(input_ids.shape, generator=generator, device=input_ids.device)  # (B, T), one draw per position
    in_span = torch.zeros_like(protected)  # (B, T)
    previous = torch.zeros(B, dtype=torch.bool, device=input_ids.device)  # position t − 1 is in a span
    fresh = torch.ones(B, dtype=torch.bool, device=input_ids.device)  # t − 1 is special, or t is the first
    for t in range(T):  # a two-state Markov chain along the row, restarted after each special position
        p = torch.where(fresh, mask_rate, torch.where(previous, 1.0 - 1.0 / mean_span, start_prob))  # (B,)
        in_span[:, t] = (u[:, t] < p) & ~protected[:, t]
        previous, fresh = in_span[:, t], protected[:, t]
    # Step 3 is bert_mask's step 2 on exactly these positions: choose all of them, and nothing else.
    return bert_mask(input_ids, generator, mask_token_id=mask_token_id, vocab_size=vocab_size,
                     special_mask=~in_span, select_prob=1.0, mask_prob=mask_prob, random_prob=random_prob)
    ### END SOLUTION


def masked_cross_entropy(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """The distance d of BERT: mean cross-entropy over the chosen positions only.

    ``loss = −(1/M) Σ_{(b, t): labels[b, t] ≠ IGNORE_INDEX} log softmax(logits[b, t])[labels[b, t]]``, where
    M is the number of chosen positions. Positions labelled ``IGNORE_INDEX`` contribute nothing (and get
    no gradient), whatever their logits.

    Args:
        logits: (B, T, V) scores of every vocabulary id at every position.
        labels: (B, T) target ids, ``IGNORE_INDEX`` where there is no target.

    Returns:
        A 0-dim tensor.
    """
    ### BEGIN SOLUTION
    ### HINT: flatten to (B·T, V) and (B·T,), then F.cross_entropy with ignore_index=IGNORE_INDEX.
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), labels.reshape(-1), ignore_index=IGNORE_INDEX)
    ### END SOLUTION


def mlm_loss(model, input_ids: torch.Tensor, generator: torch.Generator, **mask_kwargs) -> torch.Tensor:
    """The recipe for text, one batch: (x̃, y) = bert_mask(x); ŷ = model(x̃); d(y, ŷ).

    Args:
        model:       a masked language model: ``model(input_ids=x̃).logits`` is (B, T, V), e.g. Hugging
                     Face's ``BertForMaskedLM``.
        input_ids:   (B, T) the clean token ids x.
        generator:   passed to :func:`bert_mask`.
        mask_kwargs: the keyword arguments of :func:`bert_mask` (``mask_token_id``, ``vocab_size``, …).

    Returns:
        A 0-dim tensor: :func:`masked_cross_entropy` of the model's predictions for x̃.
    """
    ### BEGIN SOLUTION
    ### HINT: three lines, one per step of the recipe: bert_mask, then the model, then masked_cross_entropy.
    inputs, labels = bert_mask(input_ids, generator, **mask_kwargs)  # x̃, y: (B, T) each
    logits = model(input_ids=inputs).logits  # ŷ: (B, T, V)
    return masked_cross_entropy(logits, labels)
    ### END SOLUTION

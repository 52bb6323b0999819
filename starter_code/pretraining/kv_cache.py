"""Generation that re-uses the past: the key/value cache.

At step t a causal transformer needs the keys and values of every earlier position, and those never
change: position s < t attends only to positions ≤ s. So we compute them once, keep them in a cache, and
feed the model only the newest token — O(T) work per step instead of re-running the whole O(T²) prefix.

Both loops below take a causal LM with the Hugging Face interface of the pinned transformers version:
``out = model(input_ids, attention_mask=…, position_ids=…, cache=cache, use_cache=True)`` returns
``out.logits`` (B, T, V) and ``out.cache`` (a ``transformers.Cache`` holding every layer's keys and values).
"""

from __future__ import annotations

from typing import Callable

import torch


def greedy(logits: torch.Tensor) -> torch.Tensor:
    """(B, V) → (B,): the most likely next token."""
    return logits.argmax(dim=-1)


def _positions(attention_mask: torch.Tensor) -> torch.Tensor:
    """(B, T) mask → (B, T) position ids that start at 0 at each row's first real token (left padding)."""
    return (attention_mask.long().cumsum(dim=-1) - 1).clamp(min=0)


@torch.no_grad()
def generate_without_cache(model, input_ids: torch.Tensor, max_new_tokens: int,
                           attention_mask: torch.Tensor | None = None,
                           choose: Callable[[torch.Tensor], torch.Tensor] = greedy) -> torch.Tensor:
    """The slow reference: re-run the model on the whole sequence at every step.

    Args:
        input_ids:      (B, T) prompts, left-padded if their lengths differ.
        attention_mask: (B, T) 1 for real tokens, 0 for padding; all ones if omitted.
        choose:         (B, V) logits → (B,) next tokens; greedy by default.

    Returns:
        (B, T + max_new_tokens): the prompts followed by the generated tokens.
    """
    if attention_mask is None:
        attention_mask = torch.ones_like(input_ids)
    for _ in range(max_new_tokens):
        logits = model(input_ids, attention_mask=attention_mask, position_ids=_positions(attention_mask)).logits
        token = choose(logits[:, -1])  # (B,)
        input_ids = torch.cat([input_ids, token[:, None]], dim=1)  # (B, T+1)
        attention_mask = torch.cat([attention_mask, attention_mask.new_ones(len(token), 1)], dim=1)
    return input_ids


@torch.no_grad()
def generate_with_cache(model, input_ids: torch.Tensor, max_new_tokens: int,
                        attention_mask: torch.Tensor | None = None,
                        choose: Callable[[torch.Tensor], torch.Tensor] = greedy) -> torch.Tensor:
    """Same output as :func:`generate_without_cache`, but each step feeds only the newest token.

    Step 0 runs the whole prompt with ``use_cache=True`` and keeps ``out.cache``; every later step calls
    the model on the newest token alone, shape (B, 1), passing the cache, the attention mask extended by one
    column of ones, and that token's position id (one more than the previous position of its row).

    Returns:
        (B, T + max_new_tokens) token ids, identical to the uncached loop under greedy decoding.
    """
    raise NotImplementedError('generate_with_cache is not implemented yet (pretraining/kv_cache.py). Hint: out = model(ids, attention_mask=mask, position_ids=pos, cache=cache, use_cache=True); then cache = out.cache and feed only the new token.')

"""Probes for section 3 (autoregressive models): run inside the worker, return plain data only.

They build a tiny GPT-2 from a seed (same weights in every process), hand it to the student's functions,
and report tokens, losses, or what the model was fed — never the student's objects themselves.
"""

from __future__ import annotations

import importlib

import torch


def tiny_gpt(seed: int, vocab: int = 50):
    from transformers import GPT2Config, GPT2LMHeadModel

    torch.manual_seed(seed)
    # Large initial weights: a default-initialised tiny GPT repeats one token forever, which would let a
    # loop with wrong positions or a wrong mask produce the same tokens by luck.
    config = GPT2Config(vocab_size=vocab, n_embd=32, n_layer=2, n_head=2, n_positions=256, bos_token_id=0,
                        eos_token_id=0, pad_token_id=0, resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0,
                        initializer_range=0.5)
    return GPT2LMHeadModel(config).eval()


def generate(seed: int, input_ids, attention_mask, max_new_tokens: int):
    """The student's cached greedy generation on a tiny seeded GPT-2: (B, T + max_new_tokens) ids."""
    kv_cache = importlib.import_module("pretraining.kv_cache")
    return kv_cache.generate_with_cache(tiny_gpt(seed), input_ids, max_new_tokens, attention_mask=attention_mask)


def fed_lengths(seed: int, input_ids, max_new_tokens: int) -> list[int]:
    """How many positions the model was given at each call of the student's cached loop."""
    kv_cache = importlib.import_module("pretraining.kv_cache")
    model, lengths = tiny_gpt(seed), []
    forward = model.forward

    def recording_forward(*args, **kwargs):
        ids = kwargs.get("input_ids", args[0] if args else None)
        lengths.append(int(ids.shape[1]))
        return forward(*args, **kwargs)

    model.forward = recording_forward
    kv_cache.generate_with_cache(model, input_ids, max_new_tokens)
    return lengths


def ar_losses(seed: int, input_ids) -> dict:
    """The student's two views of the same loss on a tiny seeded GPT-2."""
    ar = importlib.import_module("pretraining.autoregressive")
    model = tiny_gpt(seed)
    with torch.no_grad():
        one_pass = ar.next_token_loss(model(input_ids).logits, input_ids)
    return {"next_token_loss": one_pass, "masked_autoencoder_loss": ar.masked_autoencoder_loss(model, input_ids)}


def loss_gradient(logits, input_ids, attention_mask):
    """d loss / d logits for the student's next_token_loss: zero exactly where nothing should be learned."""
    ar = importlib.import_module("pretraining.autoregressive")
    logits = logits.clone().requires_grad_(True)
    ar.next_token_loss(logits, input_ids, attention_mask).backward()
    return logits.grad


def sample_counts(logits, n: int, seed: int, temperature: float = 1.0, top_k=None, top_p=None) -> list[int]:
    """Draw n tokens from one row of logits (as a batch of n identical rows); return the count per token."""
    sampling = importlib.import_module("pretraining.sampling")
    rows = logits.reshape(1, -1).expand(n, -1).contiguous()  # (n, V)
    generator = torch.Generator().manual_seed(seed)
    tokens = sampling.sample_next_token(rows, temperature=temperature, top_k=top_k, top_p=top_p, generator=generator)
    return torch.bincount(tokens.reshape(-1).long().cpu(), minlength=rows.shape[1]).tolist()


def replay(logits, seed: int, temperature: float, top_k=None, top_p=None) -> list:
    """Two draws with generators seeded alike: a sampler driven by its generator returns the same tokens."""
    sampling = importlib.import_module("pretraining.sampling")
    draws = []
    for _ in range(2):
        generator = torch.Generator().manual_seed(seed)
        draws.append(sampling.sample_next_token(logits, temperature=temperature, top_k=top_k, top_p=top_p,
                                                generator=generator))
    return draws

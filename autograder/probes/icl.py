"""Probes for section 5 (in-context learning): tiny causal LMs and a word-level tokenizer, built from a seed.

The models are section 3's probes' (GPT-2 and Llama layouts, ``autoregressive.tiny_lm``). Each probe is named
after the student function it exercises. ``generate_answers`` is measured on its own: while it runs, the
KV-cache loop it must call is replaced by the given uncached loop (``kv_cache.generate_without_cache``), so a
bug in the student's ``generate_with_cache`` is reported by the KV-cache checks, not here — and the call
itself is recorded (one batch, left-padded, with its attention mask).
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from pathlib import Path

import torch

WORDS = ["[PAD]", "[UNK]", "in", "out", ";", "Task:", "label", "the", "cat", "dog", "red", "blue", "green",
         "yes", "no", "maybe", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
         "sun", "moon", "star", "sky", "sea", "tree", "rock", "wind", "fire", "ice"]


def _sibling(name: str):
    """Another probe module, loaded by path as the worker loads probes (the autograder is not importable)."""
    key = f"_autograder_probe_{name}"
    if key not in sys.modules:
        spec = importlib.util.spec_from_file_location(key, Path(__file__).with_name(f"{name}.py"))
        module = importlib.util.module_from_spec(spec)
        sys.modules[key] = module
        spec.loader.exec_module(module)
    return sys.modules[key]


def tokenizer():
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    core = Tokenizer(models.WordLevel({w: i for i, w in enumerate(WORDS)}, unk_token="[UNK]"))
    core.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    core.decoder = decoders.WordPiece(prefix="##")  # joins words with spaces
    return PreTrainedTokenizerFast(tokenizer_object=core, pad_token="[PAD]", unk_token="[UNK]")


def model(seed: int, layout: str = "gpt2"):
    ar = _sibling("autoregressive")
    return ar.forbid_generate(ar.tiny_lm(seed, layout, vocab=len(WORDS)), "generate_answers")


def _icl():
    return importlib.import_module("pretraining.icl")


def build_prompt(support, query, fmt: dict, max_tokens=None, tokenizer_only: bool = False):
    """The student's build_prompt; with max_tokens (one budget or a list of budgets), the word tokenizer counts
    tokens. A ValueError comes back as data: {"raised": "ValueError", "message": …}."""
    icl = _icl()
    fmt = icl.PromptFormat(**fmt)

    def one(budget):
        try:
            return icl.build_prompt([tuple(s) for s in support], query, fmt,
                                    tokenizer=tokenizer() if budget or tokenizer_only else None, max_tokens=budget)
        except ValueError as exc:
            return {"raised": "ValueError", "message": str(exc)}

    return [one(b) for b in max_tokens] if isinstance(max_tokens, list) else one(max_tokens)


def score_candidates(seed: int, prompts, candidates, one_at_a_time: bool = False, layout: str = "gpt2",
                     report: str = "scores"):
    """The student's score_candidates on a tiny model: batched, or prompt by prompt and stacked.

    report="cost": the (batch, positions) each attention layer received at each call."""
    icl, net, tok = _icl(), model(seed, layout), tokenizer()
    if report == "cost":
        ar = _sibling("autoregressive")
        with ar.record_attention(net) as log:
            icl.score_candidates(net, tok, prompts, candidates)
        return [[list(c) for c in calls] for calls in log]
    if one_at_a_time:
        return torch.cat([icl.score_candidates(net, tok, [p], candidates) for p in prompts])
    return icl.score_candidates(net, tok, prompts, candidates)


def generate_answers(seed: int, prompts, max_new_tokens: int, one_at_a_time: bool = False, layout: str = "gpt2",
                     stop=None) -> dict:
    """The student's generate_answers on a tiny model, with its KV-cache loop replaced by the uncached loop.

    Returns {"answers": [...], "calls": [one record per call of generate_with_cache]}."""
    icl, net, tok = _icl(), model(seed, layout), tokenizer()
    kv_cache = importlib.import_module("pretraining.kv_cache")
    calls = []

    def recorded(model_, input_ids, max_new, attention_mask=None, **kwargs):
        mask = torch.ones_like(input_ids) if attention_mask is None else attention_mask
        # left padding: in every row, once a real token appears, every later position is real
        left = bool((mask.long().cummax(dim=1).values == mask.long()).all())
        calls.append({"batch": int(input_ids.shape[0]), "mask_given": attention_mask is not None,
                      "left_padded": left, "max_new_tokens": int(max_new)})
        return kv_cache.generate_without_cache(model_, input_ids, max_new, attention_mask=attention_mask, **kwargs)

    saved = icl.__dict__.get("generate_with_cache"), kv_cache.generate_with_cache
    icl.generate_with_cache = kv_cache.generate_with_cache = recorded
    try:
        extra = {} if stop is None else {"stop": stop}
        if one_at_a_time:
            answers = [icl.generate_answers(net, tok, [p], max_new_tokens, **extra)[0] for p in prompts]
        else:
            answers = icl.generate_answers(net, tok, prompts, max_new_tokens, **extra)
    finally:
        if saved[0] is not None:
            icl.generate_with_cache = saved[0]
        kv_cache.generate_with_cache = saved[1]
    return {"answers": answers, "calls": calls}

"""Probes for section 5 (in-context learning): a tiny GPT-2 and a word-level tokenizer, built from a seed."""

from __future__ import annotations

import importlib

import torch

WORDS = ["[PAD]", "[UNK]", "in", "out", ";", "Task:", "label", "the", "cat", "dog", "red", "blue", "green",
         "yes", "no", "maybe", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
         "sun", "moon", "star", "sky", "sea", "tree", "rock", "wind", "fire", "ice"]


def tokenizer():
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    core = Tokenizer(models.WordLevel({w: i for i, w in enumerate(WORDS)}, unk_token="[UNK]"))
    core.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    core.decoder = decoders.WordPiece(prefix="##")  # joins words with spaces
    return PreTrainedTokenizerFast(tokenizer_object=core, pad_token="[PAD]", unk_token="[UNK]")


def model(seed: int):
    from transformers import GPT2Config, GPT2LMHeadModel

    torch.manual_seed(seed)
    config = GPT2Config(vocab_size=len(WORDS), n_embd=32, n_layer=2, n_head=2, n_positions=128, bos_token_id=0,
                        eos_token_id=0, pad_token_id=0, resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0,
                        initializer_range=0.5)  # large weights: outputs that depend on every token
    return GPT2LMHeadModel(config).eval()


def _icl():
    return importlib.import_module("pretraining.icl")


def prompt(support, query, fmt: dict, max_tokens=None):
    """The student's build_prompt; with max_tokens, the word tokenizer counts tokens. Errors come back as data."""
    icl = _icl()
    fmt = icl.PromptFormat(**fmt)
    try:
        return icl.build_prompt([tuple(s) for s in support], query, fmt,
                                tokenizer=tokenizer() if max_tokens else None, max_tokens=max_tokens)
    except ValueError as exc:
        return {"raised": "ValueError", "message": str(exc)}


def scores(seed: int, prompts, candidates, one_at_a_time: bool = False):
    """The student's score_candidates on the tiny model: batched, or prompt by prompt and stacked."""
    icl, net, tok = _icl(), model(seed), tokenizer()
    if one_at_a_time:
        return torch.cat([icl.score_candidates(net, tok, [p], candidates) for p in prompts])
    return icl.score_candidates(net, tok, prompts, candidates)


def answers(seed: int, prompts, max_new_tokens: int, one_at_a_time: bool = False):
    """The student's generate_answers on the tiny model: one left-padded batch, or prompt by prompt."""
    icl, net, tok = _icl(), model(seed), tokenizer()
    if one_at_a_time:
        return [icl.generate_answers(net, tok, [p], max_new_tokens)[0] for p in prompts]
    return icl.generate_answers(net, tok, prompts, max_new_tokens)

"""Probes for section 2, BERT masking: run inside the worker, return plain data only.

A check cannot send a ``torch.Generator``: it sends a seed, and these build the generator here. They return
the student's raw outputs; the grader computes every statistic itself from them.
"""

from __future__ import annotations

import importlib

import torch
import torch.nn.functional as F


def _masking():
    return importlib.import_module("pretraining.masking")


def bert_mask(input_ids, seed: int, **kwargs) -> dict:
    """``bert_mask(input_ids, Generator(seed), **kwargs)`` → its two outputs, and whether the input survived."""
    original = input_ids.clone()
    inputs, labels = _masking().bert_mask(input_ids, torch.Generator().manual_seed(seed), **kwargs)
    return {"inputs": inputs, "labels": labels, "input_unchanged": bool(torch.equal(input_ids, original))}


def bert_mask_replays(input_ids, seed: int, **kwargs) -> list:
    """Three maskings: generator seeds (seed, seed, seed + 1), with the global torch seed changed before each.

    A masking driven by its generator alone gives the first two equal, whatever the global seed.
    """
    out = []
    for global_seed, generator_seed in ((1, seed), (2, seed), (3, seed + 1)):
        torch.manual_seed(global_seed)
        inputs, labels = _masking().bert_mask(input_ids.clone(), torch.Generator().manual_seed(generator_seed), **kwargs)
        out.append({"inputs": inputs, "labels": labels})
    return out


def loss_gradient(logits, labels) -> dict:
    """The student's masked_cross_entropy and d loss / d logits."""
    logits = logits.clone().requires_grad_(True)
    loss = _masking().masked_cross_entropy(logits, labels)
    loss.backward()
    return {"loss": loss, "grad": logits.grad}


def tiny_bert(seed: int, vocab: int):
    from transformers import BertConfig, BertForMaskedLM

    torch.manual_seed(seed)
    config = BertConfig(vocab_size=vocab, hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                        intermediate_size=32, max_position_embeddings=64, hidden_dropout_prob=0.0,
                        attention_probs_dropout_prob=0.0, pad_token_id=0)
    return BertForMaskedLM(config).eval()


def mlm_loss(input_ids, seed: int, model_seed: int, **kwargs) -> dict:
    """The student's mlm_loss on a tiny seeded BERT, and the recipe recomputed here from the student's own
    bert_mask with the same generator seed: x̃, y = bert_mask(x); cross-entropy of model(x̃) on y."""
    masking = _masking()
    model = tiny_bert(model_seed, kwargs["vocab_size"])
    with torch.no_grad():
        got = masking.mlm_loss(model, input_ids, torch.Generator().manual_seed(seed), **kwargs)
        inputs, labels = masking.bert_mask(input_ids, torch.Generator().manual_seed(seed), **kwargs)
        logits = model(input_ids=inputs).logits  # (B, T, V)
        expected = F.cross_entropy(logits.flatten(0, 1), labels.flatten().long(), ignore_index=-100)
    return {"got": got, "expected": expected}

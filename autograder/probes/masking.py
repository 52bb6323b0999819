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


def _replays(fn, input_ids, seed: int, **kwargs) -> list:
    """Four maskings: generator seeds (seed, seed, seed + 1), with the global torch seed changed before each,
    then a second call on the last generator (which must give a new masking: fresh numbers on every call)."""
    out = []
    for global_seed, generator_seed in ((1, seed), (2, seed), (3, seed + 1)):
        torch.manual_seed(global_seed)
        generator = torch.Generator().manual_seed(generator_seed)
        inputs, labels = fn(input_ids.clone(), generator, **kwargs)
        out.append({"inputs": inputs, "labels": labels})
    inputs, labels = fn(input_ids.clone(), generator, **kwargs)
    out.append({"inputs": inputs, "labels": labels})
    return out


def bert_mask_replays(input_ids, seed: int, **kwargs) -> list:
    """:func:`_replays` of ``bert_mask``: a masking driven by its generator alone gives the first two equal,
    whatever the global seed, and the last two different."""
    return _replays(_masking().bert_mask, input_ids, seed, **kwargs)


def span_mask(input_ids, seed: int, **kwargs) -> dict:
    """``span_mask(input_ids, Generator(seed), **kwargs)`` → its two outputs, and whether the input survived."""
    original = input_ids.clone()
    inputs, labels = _masking().span_mask(input_ids, torch.Generator().manual_seed(seed), **kwargs)
    return {"inputs": inputs, "labels": labels, "input_unchanged": bool(torch.equal(input_ids, original))}


def span_mask_replays(input_ids, seed: int, **kwargs) -> list:
    """:func:`_replays` of ``span_mask``."""
    return _replays(_masking().span_mask, input_ids, seed, **kwargs)


def loss_gradient(logits, labels) -> dict:
    """The student's masked_cross_entropy and d loss / d logits."""
    logits = logits.clone().requires_grad_(True)
    loss = _masking().masked_cross_entropy(logits, labels)
    loss.backward()
    return {"loss": loss, "grad": logits.grad}


class _Output:
    def __init__(self, logits):
        self.logits = logits


class TinyMaskedLM(torch.nn.Module):
    """A trusted masked language model small enough for a check: ``model(input_ids=x).logits`` is (B, T, V),
    each position's logits depending on its own token and on the mean of the whole row (so on the masking)."""

    def __init__(self, seed: int, vocab: int, dim: int = 8):
        super().__init__()
        g = torch.Generator().manual_seed(seed)
        self.embed = torch.nn.Parameter(torch.randn(vocab, dim, generator=g))
        self.context = torch.nn.Parameter(torch.randn(dim, dim, generator=g) / dim ** 0.5)
        self.out = torch.nn.Parameter(torch.randn(dim, vocab, generator=g) / dim ** 0.5)

    def forward(self, input_ids):
        h = self.embed[input_ids.long()]  # (B, T, dim)
        h = h + h.mean(dim=1, keepdim=True) @ self.context
        return _Output(h @ self.out)  # (B, T, V)


def mlm_loss(input_ids, seed: int, model_seed: int, **kwargs) -> dict:
    """The student's mlm_loss on a small trusted model, and the recipe recomputed here from the student's own
    bert_mask with the same generator seed: x̃, y = bert_mask(x); cross-entropy of model(x̃) on y. Also the
    gradients of both with respect to the model's parameters (the loss must be differentiable)."""
    masking = _masking()
    model = TinyMaskedLM(model_seed, kwargs["vocab_size"])
    got = masking.mlm_loss(model, input_ids, torch.Generator().manual_seed(seed), **kwargs)
    grads = None
    if isinstance(got, torch.Tensor) and got.requires_grad:
        grads = [g.detach().clone() if g is not None else None
                 for g in torch.autograd.grad(got, list(model.parameters()), allow_unused=True)]
    inputs, labels = masking.bert_mask(input_ids, torch.Generator().manual_seed(seed), **kwargs)
    logits = model(input_ids=inputs).logits  # (B, T, V)
    expected = F.cross_entropy(logits.flatten(0, 1), labels.flatten().long(), ignore_index=-100)
    want = [g.detach().clone() for g in torch.autograd.grad(expected, list(model.parameters()))]
    return {"got": got.detach().clone() if isinstance(got, torch.Tensor) else got, "expected": expected.detach(),
            "grads": grads, "expected_grads": want}

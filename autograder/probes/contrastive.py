"""Probes for section 0, contrastive learning (augment, nt_xent_loss, SimCLR.forward, simclr_loss).

They run inside the worker and return plain data: outputs, gradients, and what a trusted model was given.
The same probe runs on the solutions for the reference.
"""

from __future__ import annotations

import importlib
import os

import torch
import torch.nn.functional as F
from torch import nn

# Checks compare numbers: compute them on the CPU on every machine, GPU VMs included.
os.environ["PRETRAINING_DEVICE"] = "cpu"


def _contrastive():
    return importlib.import_module("pretraining.contrastive")


def _grad_or_none(t: torch.Tensor | None):
    return None if t is None else t.detach().clone()


# ----------------------------------------------------------------------------------------------------------
# augment


def augment_seeded(images, seed: int, options: dict) -> dict:
    """``augment(images, generator seeded seed, **options)``; whether ``images`` was modified."""
    original = images.clone()
    view = _contrastive().augment(images, torch.Generator().manual_seed(seed), **options)
    return {"view": view, "input_unchanged": bool(torch.equal(images, original))}


def augment_replays(images, seed: int) -> dict:
    """Two fresh generators with the same seed (the global seed changed in between), one with another seed,
    and two consecutive calls on one generator: which of these views are equal."""
    augment = _contrastive().augment
    torch.manual_seed(1)
    first = augment(images, torch.Generator().manual_seed(seed))
    torch.manual_seed(2)
    again = augment(images, torch.Generator().manual_seed(seed))
    other = augment(images, torch.Generator().manual_seed(seed + 1))
    generator = torch.Generator().manual_seed(seed)
    call1, call2 = augment(images, generator), augment(images, generator)
    rows_differ = [not torch.equal(call1[i], call1[0]) for i in range(1, len(call1))]  # images[i] == images[0]
    return {"same_seed_equal": bool(torch.equal(first, again)), "other_seed_equal": bool(torch.equal(first, other)),
            "consecutive_equal": bool(torch.equal(call1, call2)), "rows_differ": rows_differ,
            "shape": list(first.shape), "dtype": str(first.dtype).removeprefix("torch."),
            "min": float(first.min()), "max": float(first.max())}


# ----------------------------------------------------------------------------------------------------------
# nt_xent_loss


def nt_xent(z, temperature: float) -> dict:
    """The loss and its gradient with respect to z."""
    z = z.detach().clone().requires_grad_(True)
    loss = _contrastive().nt_xent_loss(z, temperature)
    if loss.requires_grad:
        loss.backward()
    return {"loss": loss.detach().clone(), "grad": _grad_or_none(z.grad), "finite": bool(torch.isfinite(loss).all())}


def nt_xent_rearranged(z, temperature: float, perm: list) -> dict:
    """The loss of z, of z with its two halves swapped (view 1 ↔ view 2), of z with the same permutation
    ``perm`` of the N examples applied to both halves (pairs kept), and of z with only the second half
    permuted (pairs broken)."""
    loss = _contrastive().nt_xent_loss
    n = z.shape[0] // 2
    perm = torch.tensor(perm)
    first, second = z[:n], z[n:]
    with torch.no_grad():
        return {"loss": float(loss(z, temperature)),
                "swapped": float(loss(torch.cat([second, first]), temperature)),
                "pairs_permuted": float(loss(torch.cat([first[perm], second[perm]]), temperature)),
                "pairs_broken": float(loss(torch.cat([first, second[perm]]), temperature))}


# ----------------------------------------------------------------------------------------------------------
# SimCLR.forward


def _trusted_encoder(weight, bias) -> nn.Module:
    """flatten → Linear(D, L) → tanh, with the given weights: a small encoder written apart from the student's."""
    linear = nn.Linear(weight.shape[1], weight.shape[0])
    with torch.no_grad():
        linear.weight.copy_(weight)
        linear.bias.copy_(bias)
    return nn.Sequential(nn.Flatten(), linear, nn.Tanh())


def simclr_forward(encoder_weights: list, head_weights: list, x, grad_h, grad_z, sizes: dict) -> dict:
    """The student's SimCLR (given __init__) on a trusted encoder, head weights loaded: (h, z), and the
    gradients of (h·grad_h + z·grad_z).sum() with respect to the encoder's and the head's parameters."""
    encoder = _trusted_encoder(*encoder_weights)
    model = _contrastive().SimCLR(encoder, encoder_weights[0].shape[0], **sizes)
    head = list(model.head.parameters())
    with torch.no_grad():
        for p, w in zip(head, head_weights):
            p.copy_(w)
    out = model(x)
    report = {"returns_pair": isinstance(out, (tuple, list)) and len(out) == 2, "h": None, "z": None,
              "encoder_grads": None, "head_grads": None}
    if not report["returns_pair"]:
        return report
    h, z = out
    report["h"], report["z"] = h.detach().clone(), z.detach().clone()
    if h.shape == grad_h.shape and z.shape == grad_z.shape and (h.requires_grad or z.requires_grad):
        ((h * grad_h).sum() + (z * grad_z).sum()).backward()
    report["encoder_grads"] = [_grad_or_none(p.grad) for p in encoder.parameters()]
    report["head_grads"] = [_grad_or_none(p.grad) for p in head]
    return report


# ----------------------------------------------------------------------------------------------------------
# simclr_loss


class _RecordingModel(nn.Module):
    """(h, z) = (W·flatten(x) + b, tanh(h) V): a trusted model that remembers every batch it was given."""

    def __init__(self, weight, bias, projection):
        super().__init__()
        self.weight, self.bias = nn.Parameter(weight.clone()), nn.Parameter(bias.clone())
        self.projection = nn.Parameter(projection.clone())
        self.inputs: list[torch.Tensor] = []

    def forward(self, x):
        self.inputs.append(x.detach().clone())
        h = F.linear(x.flatten(start_dim=1), self.weight, self.bias)
        return h, torch.tanh(h) @ self.projection


def simclr_loss_report(weight, bias, projection, images, seed: int, temperature: float, options: dict) -> dict:
    """The student's simclr_loss with a trusted recording model: the loss, the gradient of the model's weight,
    how many times the model was called and with what, and whether ``images`` was left unchanged."""
    model = _RecordingModel(weight, bias, projection)
    original = images.clone()
    loss = _contrastive().simclr_loss(model, images, torch.Generator().manual_seed(seed), temperature, **options)
    if loss.requires_grad:
        loss.backward()
    seen = torch.cat(model.inputs) if model.inputs else None
    n = len(images)
    report = {"loss": loss.detach().clone(), "grad_weight": _grad_or_none(model.weight.grad),
              "model_rows": [len(x) for x in model.inputs], "input_unchanged": bool(torch.equal(images, original)),
              "views_identical": None, "views_are_images": None}
    if seen is not None and len(seen) == 2 * n:
        report["views_identical"] = bool(torch.equal(seen[:n], seen[n:]))
        report["views_are_images"] = bool(torch.equal(seen[:n], images) and torch.equal(seen[n:], images))
    return report

"""LoRA: fine-tune "a little bit" by adding a few memories to each linear map.

A linear map is an associative memory, W x = Σ_r v_r (u_rᵀ x): values v_r weighted by how well their keys
u_r match x. Adding a few memories is a low-rank change, so LoRA freezes W_0 and learns

    W = W_0 + (α / r) · A Bᵀ,        A ∈ ℝ^{d_out × r},  B ∈ ℝ^{d_in × r},  r ≪ d_in, d_out.

A starts at zero and B at random, so A Bᵀ = 0 at initialisation (the model is exactly the pre-trained one)
while the gradient with respect to A, (α/r) · g (Bᵀx)ᵀ, is not zero: after one step both factors learn.
Only A and B (r·(d_in + d_out) numbers per layer) are trained and stored.

Merging folds (α/r) · A Bᵀ into the weight, so the fine-tuned model runs at the base model's speed.
"""

from __future__ import annotations

import math

import torch
from torch import nn


class LoRALinear(nn.Module):
    """Wraps an ``nn.Linear`` (weight (d_out, d_in)): ``y = W_0 x + b + (α/r) · A (Bᵀ x)``.

    Attributes: ``base`` (the frozen layer), ``A`` (d_out, r), ``B`` (d_in, r), ``scale`` = α / r,
    ``merged`` (whether A Bᵀ is currently folded into ``base.weight``).
    """

    def __init__(self, base: nn.Linear, r: int, alpha: float):
        super().__init__()
        self.base, self.r, self.scale, self.merged = base, r, alpha / r, False
        d_out, d_in = self.sizes(base)
        raise NotImplementedError("LoRALinear.__init__ is not implemented yet (pretraining/lora.py). Hint: freeze base's parameters (requires_grad_(False)); A = zeros (d_out, r); B random (d_in, r), e.g. kaiming_uniform_ with a=sqrt(5).")

    @staticmethod
    def sizes(base: nn.Module) -> tuple[int, int]:
        """(d_out, d_in) of the wrapped layer."""
        return tuple(base.weight.shape)

    def delta(self) -> torch.Tensor:
        """(d_out, d_in): the low-rank change (α/r) · A Bᵀ in ``nn.Linear``'s weight layout."""
        raise NotImplementedError('LoRALinear.delta is not implemented yet (pretraining/lora.py). Hint: scale * A @ B.T')

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(…, d_in) → (…, d_out). Never forms A Bᵀ: two thin products cost r·(d_in + d_out) per token."""
        raise NotImplementedError('LoRALinear.forward is not implemented yet (pretraining/lora.py). Hint: base(x) + scale * (x @ B) @ A.T — unless merged, when base(x) already includes the change.')

    @torch.no_grad()
    def merge(self) -> None:
        """Fold the change into the base weight: same outputs, one matrix product per call."""
        raise NotImplementedError('LoRALinear.merge is not implemented yet (pretraining/lora.py). Hint: base.weight += delta(), once; remember that it is merged.')

    @torch.no_grad()
    def unmerge(self) -> None:
        """Undo :meth:`merge`: W_0 is back, so A and B can train again."""
        raise NotImplementedError('LoRALinear.unmerge is not implemented yet (pretraining/lora.py). Hint: base.weight -= delta(), once.')


class LoRAConv1D(LoRALinear):
    """Wraps GPT-2's ``Conv1D``, a linear layer whose weight is stored transposed: (d_in, d_out), y = x W + b.

    A and B keep the shapes of :class:`LoRALinear` — A (d_out, r), B (d_in, r) — so only the weight layout
    differs: the change in ``Conv1D``'s layout is ((α/r) · A Bᵀ)ᵀ = (α/r) · B Aᵀ.
    """

    @staticmethod
    def sizes(base: nn.Module) -> tuple[int, int]:
        d_in, d_out = base.weight.shape
        return d_out, d_in

    def delta(self) -> torch.Tensor:
        """(d_in, d_out): the low-rank change in ``Conv1D``'s (transposed) weight layout."""
        raise NotImplementedError("LoRAConv1D.delta is not implemented yet (pretraining/lora.py). Hint: the transpose of LoRALinear's delta: scale * B @ A.T")


def attention_targets(model: nn.Module) -> tuple[str, ...]:
    """The names LoRA usually targets in ``model``'s attention, by layout: GPT-2 ``("c_attn",)`` (one
    ``Conv1D`` computing q, k and v), Llama / SmolLM2 ``("q_proj", "v_proj")`` (``nn.Linear``), BERT
    ``("query", "value")`` (``nn.Linear``)."""
    names = {name.rpartition(".")[2] for name, _ in model.named_modules()}
    for layout in (("c_attn",), ("q_proj", "v_proj"), ("query", "value")):
        if set(layout) <= names:
            return layout
    raise TypeError(f"don't know the attention projections of a {type(model).__name__}")


def add_lora(model: nn.Module, target: str | tuple[str, ...], r: int, alpha: float) -> nn.Module:
    """Replace every ``nn.Linear`` or GPT-2 ``Conv1D`` whose name ends with ``target`` by its LoRA wrapper.

    ``target`` is matched against whole name components (``"v_proj"`` matches ``layers.3.self_attn.v_proj``).

    Returns the model (changed in place). Parameters outside the wrappers are left as they are: freezing
    the rest of the model is :func:`pretraining.finetune.set_trainable`'s job.
    """
    from transformers.pytorch_utils import Conv1D

    targets = (target,) if isinstance(target, str) else tuple(target)
    for name, module in list(model.named_modules()):
        if not any(name == t or name.endswith("." + t) for t in targets):
            continue
        parent, _, child = name.rpartition(".")
        owner = model.get_submodule(parent) if parent else model
        if isinstance(module, Conv1D):
            setattr(owner, child, LoRAConv1D(module, r, alpha))
        elif isinstance(module, nn.Linear):
            setattr(owner, child, LoRALinear(module, r, alpha))
    return model


def lora_layers(model: nn.Module) -> list[LoRALinear]:
    """Every LoRA wrapper in ``model``, in module order."""
    return [m for m in model.modules() if isinstance(m, LoRALinear)]

"""Probes for section 4 (fine-tuning a little bit: freezing, partial fine-tuning, LoRA).

They run inside the worker, build small seeded layers and models, hand them to the student's code, and
return plain data: outputs, parameter names, gradient norms.
"""

from __future__ import annotations

import importlib

import torch
from torch import nn


def _student(module: str):
    return importlib.import_module(f"pretraining.{module}")


def linear(seed: int, d_in: int, d_out: int) -> nn.Linear:
    torch.manual_seed(seed)
    return nn.Linear(d_in, d_out)


def conv1d(seed: int, d_in: int, d_out: int):
    from transformers.pytorch_utils import Conv1D

    torch.manual_seed(seed)
    layer = Conv1D(d_out, d_in)  # weight (d_in, d_out)
    nn.init.normal_(layer.weight)
    nn.init.normal_(layer.bias)
    return layer


def backbone(seed: int, kind: str) -> nn.Module:
    from transformers import BertConfig, BertModel, GPT2Config, GPT2Model

    torch.manual_seed(seed)
    if kind == "gpt2":
        return GPT2Model(GPT2Config(vocab_size=40, n_embd=16, n_layer=3, n_head=2, n_positions=32,
                                    bos_token_id=0, eos_token_id=0, pad_token_id=0))
    return BertModel(BertConfig(vocab_size=40, hidden_size=16, num_hidden_layers=3, num_attention_heads=2,
                                intermediate_size=32, max_position_embeddings=32, pad_token_id=0))


def _wrap(kind: str, seed: int, d_in: int, d_out: int, r: int, alpha: float, A=None, B=None):
    lora = _student("lora")
    wrapper = (lora.LoRALinear(linear(seed, d_in, d_out), r, alpha) if kind == "linear"
               else lora.LoRAConv1D(conv1d(seed, d_in, d_out), r, alpha))
    if A is not None:
        with torch.no_grad():
            wrapper.A.copy_(A)
            wrapper.B.copy_(B)
    return wrapper


def lora_init(seed: int, x, kind: str, r: int, alpha: float) -> dict:
    """A fresh wrapper: its output vs the base layer's, the factors' shapes, and what trains."""
    wrapper = _wrap(kind, seed, x.shape[-1], 6, r, alpha)
    with torch.no_grad():
        out, base_out = wrapper(x), wrapper.base(x)
    return {"residual": out - base_out, "A_shape": list(wrapper.A.shape), "B_shape": list(wrapper.B.shape),
            "trainable": sorted(n for n, p in wrapper.named_parameters() if p.requires_grad),
            "B_nonzero": bool((wrapper.B != 0).any())}


def lora_output(seed: int, x, kind: str, r: int, alpha: float, A, B) -> dict:
    """Output and weight change of a wrapper whose factors are set to A, B."""
    wrapper = _wrap(kind, seed, x.shape[-1], A.shape[0], r, alpha, A, B)
    with torch.no_grad():
        return {"output": wrapper(x), "delta": wrapper.delta()}


def lora_steps(seed: int, x, kind: str, r: int, alpha: float) -> dict:
    """Two SGD steps on a random regression target: gradient norms of A and B at each step, base gradients."""
    wrapper = _wrap(kind, seed, x.shape[-1], 6, r, alpha)
    target = torch.randn(*x.shape[:-1], 6, generator=torch.Generator().manual_seed(seed))
    optimizer = torch.optim.SGD([p for p in wrapper.parameters() if p.requires_grad], lr=0.1)
    norms = []
    for _ in range(2):
        optimizer.zero_grad()
        ((wrapper(x) - target) ** 2).mean().backward()
        norms.append([float(wrapper.A.grad.norm()) if wrapper.A.grad is not None else 0.0,
                      float(wrapper.B.grad.norm()) if wrapper.B.grad is not None else 0.0])
        optimizer.step()
    base_grads = [n for n, p in wrapper.base.named_parameters() if p.grad is not None]
    return {"grad_norms": norms, "base_grads": base_grads}


def lora_merge(seed: int, x, kind: str, r: int, alpha: float, A, B) -> dict:
    """Outputs before, after merge and after unmerge, and how far the base weight moved each time."""
    wrapper = _wrap(kind, seed, x.shape[-1], A.shape[0], r, alpha, A, B)
    w0 = wrapper.base.weight.detach().clone()
    with torch.no_grad():
        before = wrapper(x)
        wrapper.merge()
        merged_weight = wrapper.base.weight.detach().clone()
        merged = wrapper(x)
        wrapper.merge()  # merging twice must not add the change twice
        twice = wrapper(x)
        wrapper.unmerge()
        unmerged = wrapper(x)
    return {"before": before, "merged": merged, "merged_twice": twice, "unmerged": unmerged,
            "weight_change": merged_weight - w0, "restored_error": float((wrapper.base.weight - w0).abs().max())}


def peft_output(seed: int, x, kind: str, r: int, alpha: float, A, B):
    """The ecosystem's reference: peft's LoRA layer with the same base, factors, α and r (reference side only)."""
    from peft import LoraConfig, get_peft_model

    base = linear(seed, x.shape[-1], A.shape[0]) if kind == "linear" else conv1d(seed, x.shape[-1], A.shape[0])
    model = nn.Sequential()
    model.add_module("layer", base)
    config = LoraConfig(r=r, lora_alpha=alpha, target_modules=["layer"], fan_in_fan_out=kind == "conv1d",
                        lora_dropout=0.0)
    wrapped = get_peft_model(model, config)
    layer = wrapped.base_model.model.layer
    with torch.no_grad():
        layer.lora_A["default"].weight.copy_(B.T)  # peft: ΔW = lora_B · lora_A, lora_A (r, d_in), lora_B (d_out, r)
        layer.lora_B["default"].weight.copy_(A)
        return wrapped(x)


def classifier(seed: int, kind: str, mode: str):
    finetune, lora = _student("finetune"), _student("lora")
    net = backbone(seed, kind)
    if mode == "lora":
        lora.add_lora(net, ("c_attn",) if kind == "gpt2" else ("query", "value"), r=2, alpha=4)
    torch.manual_seed(seed)
    model = finetune.Classifier(net, 3, "last" if kind == "gpt2" else "cls")
    finetune.set_trainable(model, mode)
    return model


def trainable(seed: int, kind: str, mode: str) -> dict:
    """The names of the trainable parameters after set_trainable(mode), and count_parameters."""
    finetune = _student("finetune")
    model = classifier(seed, kind, mode)
    names = sorted(n for n, p in model.named_parameters() if p.requires_grad)
    return {"names": names, "count": list(finetune.count_parameters(model))}


def one_step(seed: int, kind: str, mode: str, input_ids, attention_mask, labels) -> dict:
    """One Adam step on a batch: which parameters got a gradient and which changed value."""
    model = classifier(seed, kind, mode)
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.Adam(params, lr=1e-2)
    loss = nn.functional.cross_entropy(model(input_ids, attention_mask), labels)
    loss.backward()
    optimizer.step()
    return {"with_grad": sorted(n for n, p in model.named_parameters() if p.grad is not None),
            "changed": sorted(n for n, p in model.named_parameters() if not torch.equal(p.detach(), before[n]))}


def conv1d_weights(seed: int, d_in: int, d_out: int) -> dict:
    """The seeded Conv1D's weight (d_in, d_out) and bias, for an explicit computation in the grader."""
    layer = conv1d(seed, d_in, d_out)
    return {"weight": layer.weight.detach(), "bias": layer.bias.detach()}

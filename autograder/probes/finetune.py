"""Probes for section 4 (fine-tuning a little bit: freezing, partial fine-tuning, LoRA).

They run inside the worker, build small seeded layers and models, hand them to the student's code, and
return plain data: outputs, parameter names, gradient norms.
"""

from __future__ import annotations

import importlib

import torch
from torch import nn
from torch.overrides import TorchFunctionMode


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


def backbone(seed: int, kind: str, n_layer: int = 3) -> nn.Module:
    from transformers import BertConfig, BertModel, GPT2Config, GPT2Model

    torch.manual_seed(seed)
    if kind == "gpt2":
        return GPT2Model(GPT2Config(vocab_size=40, n_embd=16, n_layer=n_layer, n_head=2, n_positions=32,
                                    bos_token_id=0, eos_token_id=0, pad_token_id=0))
    if kind == "llama":
        from transformers import LlamaConfig, LlamaModel

        return LlamaModel(LlamaConfig(vocab_size=40, hidden_size=16, intermediate_size=32, num_hidden_layers=n_layer,
                                      num_attention_heads=2, num_key_value_heads=1, max_position_embeddings=32,
                                      pad_token_id=0))
    return BertModel(BertConfig(vocab_size=40, hidden_size=16, num_hidden_layers=n_layer, num_attention_heads=2,
                                intermediate_size=32, max_position_embeddings=32, pad_token_id=0))


class Products(TorchFunctionMode):
    """Records, during student code, the shapes of every result computed from the factors A or B, and
    whether A or B were used at all."""

    def __init__(self, factors):
        super().__init__()
        self.derived = [f for f in factors]  # tensors computed from A or B (kept alive, compared by identity)
        self.shapes: list[tuple] = []

    def _from_factors(self, x) -> bool:
        if isinstance(x, torch.Tensor):
            return any(x is d for d in self.derived)
        if isinstance(x, (list, tuple)):
            return any(self._from_factors(v) for v in x)
        return False

    def __torch_function__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        if self._from_factors(list(args) + list((kwargs or {}).values())) and isinstance(out, torch.Tensor):
            self.derived.append(out)
            self.shapes.append(tuple(out.shape))
        return out


def _wrap(kind: str, seed: int, d_in: int, d_out: int, r: int, alpha: float, A=None, B=None):
    lora = _student("lora")
    wrapper = (lora.LoRALinear(linear(seed, d_in, d_out), r, alpha) if kind == "linear"
               else lora.LoRAConv1D(conv1d(seed, d_in, d_out), r, alpha))
    if A is not None:
        with torch.no_grad():
            wrapper.A.copy_(A)
            wrapper.B.copy_(B)
    return wrapper


def new_LoRA_layer(seed: int, x, kind: str, r: int, alpha: float, d_out: int = 6) -> dict:
    """A fresh wrapper: its output vs the base layer's, the factors' shapes, and what trains."""
    wrapper = _wrap(kind, seed, x.shape[-1], d_out, r, alpha)
    with torch.no_grad():
        out, base_out = wrapper(x), wrapper.base(x)
    B = wrapper.B.detach()
    return {"residual": out - base_out, "A_shape": list(wrapper.A.shape), "B_shape": list(wrapper.B.shape),
            "trainable": sorted(n for n, p in wrapper.named_parameters() if p.requires_grad),
            "A_zero": bool((wrapper.A == 0).all()), "B_nonzero": bool((B != 0).any()),
            "B_distinct": int(torch.unique(B).numel()), "merged": wrapper.merged,
            "dtypes": [str(wrapper.A.dtype).removeprefix("torch."), str(wrapper.B.dtype).removeprefix("torch.")]}


def LoRA_forward(seed: int, x, kind: str, r: int, alpha: float, A, B) -> dict:
    """Output and weight change of a wrapper whose factors are set to A, B."""
    wrapper = _wrap(kind, seed, x.shape[-1], A.shape[0], r, alpha, A, B)
    with torch.no_grad():
        with Products([wrapper.A, wrapper.B]) as products:
            output = wrapper(x)
        d_out, d_in = A.shape[0], B.shape[0]
        full = [list(s) for s in products.shapes if sorted(s[-2:]) == sorted((d_in, d_out))]
        return {"output": output, "delta": wrapper.delta(), "full_products": full}


def LoRA_training_steps(seed: int, x, kind: str, r: int, alpha: float) -> dict:
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


def merge_and_unmerge(seed: int, x, kind: str, r: int, alpha: float, A, B) -> dict:
    """Outputs before, after merge and after unmerge, and how far the base weight moved each time."""
    wrapper = _wrap(kind, seed, x.shape[-1], A.shape[0], r, alpha, A, B)
    w0 = wrapper.base.weight.detach().clone()
    error = lambda: float((wrapper.base.weight - w0).abs().max())  # noqa: E731
    flags = [wrapper.merged]
    with torch.no_grad():
        wrapper.unmerge()  # unmerging what was never merged must change nothing
        never_merged_error = error()
        before = wrapper(x)
        wrapper.merge()
        flags.append(wrapper.merged)
        merged_weight = wrapper.base.weight.detach().clone()
        with Products([wrapper.A, wrapper.B]) as products:
            merged = wrapper(x)
        wrapper.merge()  # merging twice must not add the change twice
        twice = wrapper(x)
        twice_change = wrapper.base.weight.detach() - w0
        wrapper.unmerge()
        flags.append(wrapper.merged)
        unmerged = wrapper(x)
        restored = error()
        wrapper.unmerge()  # nor unmerging twice subtract it twice
        unmerged_twice = wrapper(x)
        restored_twice = error()
        wrapper.merge()
        remerged = wrapper(x)
    return {"before": before, "merged": merged, "merged_twice": twice, "unmerged": unmerged,
            "unmerged_twice": unmerged_twice, "remerged": remerged, "flags": flags,
            "weight_change": merged_weight - w0, "weight_change_twice": twice_change,
            "restored_error": restored, "restored_twice_error": restored_twice,
            "never_merged_error": never_merged_error, "merged_forward_uses_factors": bool(products.shapes)}


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


def classifier(seed: int, kind: str, mode: str, n_layer: int = 3, before=None):
    """A classifier on a seeded backbone of ``n_layer`` blocks; ``before`` modes are set first (set_trainable
    must make exactly its own mode's parameters trainable, whatever was trainable before)."""
    finetune, lora = _student("finetune"), _student("lora")
    net = backbone(seed, kind, n_layer)
    if mode == "lora":
        lora.add_lora(net, {"gpt2": ("c_attn",), "llama": ("q_proj", "v_proj")}.get(kind, ("query", "value")), r=2,
                      alpha=4)
    torch.manual_seed(seed)
    model = finetune.Classifier(net, 3, "cls" if kind == "bert" else "last")
    for earlier in before or ():
        finetune.set_trainable(model, earlier)
    finetune.set_trainable(model, mode)
    return model


def set_trainable(seed: int, kind: str, mode: str, n_layer: int = 3, before=None) -> dict:
    """The names of the trainable parameters after set_trainable(mode), and count_parameters."""
    finetune = _student("finetune")
    model = classifier(seed, kind, mode, n_layer, before)
    names = sorted(n for n, p in model.named_parameters() if p.requires_grad)
    return {"names": names, "count": list(finetune.count_parameters(model))}


def training_step(seed: int, kind: str, mode: str, input_ids, attention_mask, labels, n_layer: int = 3) -> dict:
    """One Adam step on a batch: which parameters got a gradient and which changed value."""
    model = classifier(seed, kind, mode, n_layer)
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


class _Tied(nn.Module):
    """A small model with a tied weight (one tensor, two owners), a frozen layer and a buffer."""

    def __init__(self, vocab: int, d: int, frozen: bool):
        super().__init__()
        self.embed = nn.Embedding(vocab, d)
        self.hidden = nn.Linear(d, d)
        self.out = nn.Linear(d, vocab, bias=False)
        self.out.weight = self.embed.weight  # tied: counted once
        self.register_buffer("running", torch.ones(7))  # a buffer is not a parameter
        if frozen:
            self.embed.requires_grad_(False)


def count_parameters(seed: int, vocab: int, d: int, frozen: bool, lm: bool = False) -> list:
    """The student's count_parameters on a model with a tied weight and a buffer (or a tiny tied GPT-2 LM)."""
    finetune = _student("finetune")
    torch.manual_seed(seed)
    if lm:
        from transformers import GPT2Config, GPT2LMHeadModel

        model = GPT2LMHeadModel(GPT2Config(vocab_size=vocab, n_embd=d, n_layer=2, n_head=2, n_positions=16,
                                           tie_word_embeddings=True))
        if frozen:
            model.transformer.h[0].requires_grad_(False)
    else:
        model = _Tied(vocab, d, frozen)
    return list(finetune.count_parameters(model))

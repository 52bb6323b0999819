"""Probes for section 3 (autoregressive models, sampling, the KV cache): run inside the worker, return plain data.

They build tiny causal LMs from a seed (same weights in every process) in two layouts — GPT-2 (``Conv1D``
projections, learned absolute positions) and Llama (``nn.Linear`` q/k/v/o projections, rotary positions) —
hand them to the student's functions and report tokens, losses, or what the model was fed — never the
student's objects themselves.

Behaviour is measured where it happens: a hook on every attention layer records what that layer receives
(so a loop that recomputes the prefix through ``model.base_model`` is seen), and library routines that an
exercise replaces (``model.generate``, ``scaled_dot_product_attention``) raise while the student's code runs.
Each probe is named after the student function it exercises: its name is what a failure message shows.
"""

from __future__ import annotations

import importlib
from contextlib import contextmanager

import torch
from torch.overrides import TorchFunctionMode

LAYOUTS = ("gpt2", "llama")


def _student(module: str):
    return importlib.import_module(f"pretraining.{module}")


def tiny_lm(seed: int, layout: str = "gpt2", vocab: int = 50, layers: int = 2):
    """A tiny random causal LM of the given layout, the same weights in every process."""
    torch.manual_seed(seed)
    # Large initial weights: a default-initialised tiny model repeats one token forever, which would let a
    # loop with wrong positions or a wrong mask produce the same tokens by luck.
    if layout == "gpt2":
        from transformers import GPT2Config, GPT2LMHeadModel

        config = GPT2Config(vocab_size=vocab, n_embd=32, n_layer=layers, n_head=2, n_positions=256, bos_token_id=0,
                            eos_token_id=0, pad_token_id=0, resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0,
                            initializer_range=0.5)
        return GPT2LMHeadModel(config).eval()
    if layout == "llama":
        from transformers import LlamaConfig, LlamaForCausalLM

        config = LlamaConfig(vocab_size=vocab, hidden_size=32, intermediate_size=64, num_hidden_layers=layers,
                             num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=256,
                             initializer_range=0.5, bos_token_id=0, eos_token_id=0, pad_token_id=0,
                             tie_word_embeddings=True)
        return LlamaForCausalLM(config).eval()
    raise ValueError(f"unknown layout {layout!r}")


def attention_layers(model) -> list:
    """Every attention module of a Hugging Face transformer, in order (GPT2Attention, LlamaAttention, …)."""
    return [m for m in model.modules() if type(m).__name__.endswith("Attention")]


@contextmanager
def record_attention(model):
    """Yields [[(batch, query positions) per call] per attention layer]: what each layer was really given."""
    log = [[] for _ in attention_layers(model)]
    handles = []
    for i, layer in enumerate(attention_layers(model)):
        def hook(module, args, kwargs, i=i):
            hidden = args[0] if args else kwargs.get("hidden_states")
            log[i].append((int(hidden.shape[0]), int(hidden.shape[1])))
        handles.append(layer.register_forward_pre_hook(hook, with_kwargs=True))
    try:
        yield log
    finally:
        for h in handles:
            h.remove()


class ForbiddenRoutine(RuntimeError):
    """Raised when student code calls a library routine that its exercise is about replacing."""


def _refuse(what: str, exercise: str):
    def refuse(*args, **kwargs):
        raise ForbiddenRoutine(f"{exercise} called {what}, the library routine this exercise asks you to write "
                               f"yourself")
    return refuse


def forbid_generate(model, exercise: str):
    """Make the model's own decoding loops raise: the exercise is to write the loop."""
    for name in ("generate", "_sample", "greedy_search", "sample", "_greedy_search", "beam_search"):
        setattr(model, name, _refuse(f"model.{name}(…)", exercise))
    return model


class Forbid(TorchFunctionMode):
    """Within this mode, calling one of ``funcs`` raises (however the student imported it)."""

    def __init__(self, funcs: dict, exercise: str):
        super().__init__()
        self.funcs, self.exercise = funcs, exercise

    def __torch_function__(self, func, types, args=(), kwargs=None):
        if func in self.funcs:
            raise ForbiddenRoutine(f"{self.exercise} called {self.funcs[func]}, the library routine this exercise "
                                   f"asks you to write yourself")
        return func(*args, **(kwargs or {}))


# ---------------------------------------------------------------------------------------------------- autoregressive

def causal_attention(q, k, v):
    """The student's causal_attention, with torch's fused attention routines made to raise."""
    ar = _student("autoregressive")
    F = torch.nn.functional
    with Forbid({F.scaled_dot_product_attention: "torch.nn.functional.scaled_dot_product_attention",
                 F.multi_head_attention_forward: "torch.nn.functional.multi_head_attention_forward"},
                "causal_attention"):
        return ar.causal_attention(q, k, v)


def next_token_loss(logits, input_ids, attention_mask=None, gradient: bool = False):
    """The student's loss, or d loss / d logits: zero exactly where nothing should be learned."""
    ar = _student("autoregressive")
    if not gradient:
        return ar.next_token_loss(logits, input_ids, attention_mask)
    logits = logits.clone().requires_grad_(True)
    ar.next_token_loss(logits, input_ids, attention_mask).backward()
    return logits.grad if logits.grad is not None else torch.zeros_like(logits)


def masked_autoencoder_loss(seed: int, input_ids, layout: str = "gpt2") -> dict:
    """The student's two views of the same loss on a tiny seeded model, and the passes the masked one made."""
    ar = _student("autoregressive")
    model = tiny_lm(seed, layout)
    with torch.no_grad():
        one_pass = ar.next_token_loss(model(input_ids).logits, input_ids)
    with record_attention(model) as log:
        loss = ar.masked_autoencoder_loss(model, input_ids)
    return {"next_token_loss": one_pass, "masked_autoencoder_loss": loss, "passes": len(log[0])}


# ---------------------------------------------------------------------------------------------------------- sampling

def sample_next_token(logits, n: int, seed: int, temperature: float = 1.0, top_k=None, top_p=None,
                      report: str = "counts"):
    """Draws from the student's sampler with a seeded generator. ``logits`` is (R, V); each row is repeated
    ``n`` times as one batch of R·n rows.

    report="counts":  (R, V) counts of the tokens drawn for each row.
    report="pairs":   how often two draws agree — neighbouring rows of one call, and the same row in two
                      successive calls with the same generator — and the number of pairs (row 0 only).
    report="replay":  two draws with generators seeded alike (a sampler driven by its generator repeats).
    """
    sampling = _student("sampling")
    R, V = logits.shape
    rows = logits.repeat_interleave(n, dim=0)  # (R·n, V)

    def draw(generator):
        return sampling.sample_next_token(rows, temperature=temperature, top_k=top_k, top_p=top_p,
                                          generator=generator)

    generator = torch.Generator().manual_seed(seed)
    if report == "replay":
        return [draw(torch.Generator().manual_seed(seed)) for _ in range(2)]
    tokens = draw(generator).reshape(-1).long().cpu()
    if report == "counts":
        return torch.stack([torch.bincount(tokens[r * n:(r + 1) * n], minlength=V)[:V] for r in range(R)]).tolist()
    again = draw(generator).reshape(-1).long().cpu()
    first = tokens[:n]
    return {"neighbours": int((first[0::2][: n // 2] == first[1::2][: n // 2]).sum()), "neighbour_pairs": n // 2,
            "calls": int((first == again[:n]).sum()), "call_pairs": n}


def hf_distribution(logits, temperature: float = 1.0, top_k=None, top_p=None):
    """(R, V) float64 probabilities of transformers' own warpers (temperature → top-k → top-p), then softmax.

    The ecosystem's reference for sampling; run on the reference side only."""
    from transformers import TemperatureLogitsWarper, TopKLogitsWarper, TopPLogitsWarper

    scores = logits.double()
    if temperature != 1.0:
        scores = TemperatureLogitsWarper(temperature)(None, scores)
    if top_k is not None:
        scores = TopKLogitsWarper(top_k)(None, scores)
    if top_p is not None:
        scores = TopPLogitsWarper(top_p)(None, scores)
    return scores.softmax(dim=-1)


# ---------------------------------------------------------------------------------------------------------- kv cache

CHOOSERS = {
    "greedy": lambda logits: logits.argmax(dim=-1),
    "second": lambda logits: logits.topk(2, dim=-1).indices[:, 1],  # the runner-up: not what generate() does
}


def generate_with_cache(seed: int, input_ids, attention_mask, max_new_tokens: int, layout: str = "gpt2",
                        choose: str | None = None, report: str = "tokens"):
    """The student's cached generation on a tiny seeded model, whose own ``generate`` raises.

    report="tokens": the (B, T + max_new_tokens) ids it returns.
    report="cost":   what it cost: the positions each attention layer received at each call, the number of
                     positions given to ``model.forward`` at each call, and the shapes ``choose`` received.
    """
    kv_cache = _student("kv_cache")
    model = forbid_generate(tiny_lm(seed, layout), "generate_with_cache")
    seen = []
    kwargs = {} if attention_mask is None else {"attention_mask": attention_mask}
    if choose is not None:
        rule = CHOOSERS[choose]

        def recording_choose(logits):
            seen.append(list(logits.shape))
            return rule(logits)
        kwargs["choose"] = recording_choose
    if report == "tokens":
        return kv_cache.generate_with_cache(model, input_ids, max_new_tokens, **kwargs)
    fed, forward = [], model.forward

    def recording_forward(*args, **kw):
        ids = kw.get("input_ids", args[0] if args else None)
        fed.append(int(ids.shape[1]) if ids is not None else 0)
        return forward(*args, **kw)

    model.forward = recording_forward
    with record_attention(model) as log:
        kv_cache.generate_with_cache(model, input_ids, max_new_tokens, **kwargs)
    return {"layers": [[t for _, t in calls] for calls in log], "model_calls": fed, "choose_shapes": seen}

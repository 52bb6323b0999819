"""Section 2 — BERT masking: public checks (students run these with `python -m autograder check`).

Masking is random, so most checks look at properties of your output rather than at exact values: the
grader sends a seed, a probe builds ``torch.Generator().manual_seed(seed)`` next to your code, and every
statistic is computed here from the arrays your function returned.
"""

import math

import numpy as np
import pytest

from autograder.checks import assert_close, assert_equal, assert_true, tensor

IGNORE = -100
MASK_ID, CLS, SEP, PAD = 3, 1, 2, 0


def token_batch(rng, batch: int, length: int, vocab: int, pad_from=None) -> np.ndarray:
    """(batch, length) ids framed [CLS] … [SEP], ordinary tokens drawn from 4 … vocab − 1; optional padding."""
    ids = rng.integers(4, vocab, size=(batch, length))
    ids[:, 0], ids[:, -1] = CLS, SEP
    if pad_from is not None:
        for row, start in enumerate(pad_from):
            ids[row, start:-1] = PAD
    return ids


def first(flags: np.ndarray):
    """The index of the first True in ``flags`` (as a tuple of ints), or None."""
    hits = np.argwhere(flags)
    return tuple(int(i) for i in hits[0]) if len(hits) else None


def masking_summary(input_ids: np.ndarray, out: dict, protected: np.ndarray, vocab: int) -> dict:
    """Shapes and the consistency of (inputs, labels) with input_ids; counts of what happened where.

    A chosen position is one whose label is not -100. At a chosen position the input is the mask token
    ("mask"), the original token ("same") or another one ("random").
    """
    inputs, labels = out["inputs"], out["labels"]
    name = "bert_mask(input_ids, generator, ...)"
    shape = input_ids.shape
    for what, got in (("inputs", inputs), ("labels", labels)):
        assert_true(hasattr(got, "shape") and got.kind == "tensor",
                    f"{name} should return two torch tensors (inputs, labels); {what} is not a tensor")
        assert_true(got.shape == shape, f"{name}: {what} has the wrong shape: expected {shape}, got {got.shape}")
        assert_true(got.dtype == "int64", f"{name}: {what} should keep the dtype of input_ids, int64; got {got.dtype}")
    x, inp, lab = input_ids, inputs.values, labels.values
    chosen = lab != IGNORE
    wrong_label = chosen & (lab != x)
    assert_true(not wrong_label.any(), f"{name}: at a chosen position the label must be the original id; "
                f"{int(wrong_label.sum())} labels differ from input_ids, first at {first(wrong_label)}")
    changed = ~chosen & (inp != x)
    assert_true(not changed.any(), f"{name}: {int(changed.sum())} positions whose label is -100 (not chosen) had "
                f"their input changed, first at {first(changed)}; only chosen positions change")
    out_of_range = chosen & ((inp < 0) | (inp >= vocab))
    assert_true(not out_of_range.any(), f"{name}: {int(out_of_range.sum())} inputs are not valid ids in 0 … "
                f"{vocab - 1}, first at {first(out_of_range)}")
    return {
        "eligible": int((~protected).sum()),
        "chosen": int(chosen.sum()),
        "chosen_protected": int((chosen & protected).sum()),
        "mask": int((chosen & (inp == MASK_ID)).sum()),
        "same": int((chosen & (inp == x)).sum()),
        "random": int((chosen & (inp != MASK_ID) & (inp != x)).sum()),
        "random_ids": inp[chosen & (inp != MASK_ID) & (inp != x)],
        "chosen_mask": chosen,
    }


def within_binomial(count: int, n: int, p: float, what: str, z: float = 5.0) -> None:
    """``count`` out of ``n`` is within z standard deviations of a Binomial(n, p) mean.

    z = 5 makes a false failure of a correct masking about 1 in 1.7 million per bound, while real mistakes
    (a rate of 0.10 instead of 0.15, a split of 90/10/0) are tens of σ away at these sample sizes.
    """
    sigma = math.sqrt(n * p * (1 - p))
    low, high = n * p - z * sigma, n * p + z * sigma
    assert_true(low <= count <= high, f"{what}: {count} of {n} ({count / n:.2%}); expected {p:.2%} of them, "
                f"i.e. between {math.ceil(low)} and {math.floor(high)} (±{z:g} standard deviations of the binomial)")


def check_split(s: dict, vocab: int, mask_prob: float, random_prob: float, where: str) -> None:
    """The chosen positions split mask / random / same as mask_prob / random_prob / the rest.

    A uniformly drawn random token equals the mask token or the original one with probability 1/vocab each;
    such draws look like "mask" or "same", and the expected shares include them.
    """
    keep_prob = 1 - mask_prob - random_prob
    n = s["chosen"]
    within_binomial(s["mask"], n, mask_prob + random_prob / vocab, f"{where}: chosen positions set to the mask token")
    within_binomial(s["random"], n, random_prob * (1 - 2 / vocab), f"{where}: chosen positions set to a random token")
    within_binomial(s["same"], n, keep_prob + random_prob / vocab, f"{where}: chosen positions left unchanged")


MASK_ARGS = dict(mask_token_id=MASK_ID, special_ids=[CLS, SEP, PAD])


@pytest.mark.check(points=2, timeout=30)
def test_bert_mask_labels_and_inputs(student, rng):
    """masking.bert_mask: labels = original ids at chosen positions, -100 elsewhere; nothing else changes"""
    vocab = 50
    ids = token_batch(rng, 8, 32, vocab)
    out = student.call("probe:masking:bert_mask", tensor(ids), 0, vocab_size=vocab, **MASK_ARGS)
    s = masking_summary(ids, out, np.isin(ids, [CLS, SEP, PAD]), vocab)
    assert_true(s["chosen"] > 0, "bert_mask chose no position at all in 8 sequences of 32 tokens "
                "(expected about 15% of the 240 ordinary tokens)")


@pytest.mark.check(points=2, timeout=30)
def test_bert_mask_never_chooses_special_tokens(student, rng):
    """masking.bert_mask: special ids, padding and positions flagged in special_mask are never chosen"""
    vocab = 50
    ids = token_batch(rng, 16, 24, vocab, pad_from=rng.integers(2, 23, size=16))
    flagged = np.zeros(ids.shape, dtype=bool)
    flagged[:, 1:4] = True  # e.g. a prompt that must stay visible
    out = student.call("probe:masking:bert_mask", tensor(ids), 1, vocab_size=vocab, select_prob=0.5,
                       special_mask=tensor(flagged), **MASK_ARGS)
    protected = np.isin(ids, [CLS, SEP, PAD]) | flagged
    s = masking_summary(ids, out, protected, vocab)
    bad = s["chosen_mask"] & protected
    assert_true(not bad.any(), f"bert_mask chose {int(bad.sum())} special positions ([CLS], [SEP], [PAD] or "
                f"special_mask=True), first at {first(bad)}; they must never "
                f"be chosen")
    assert_true(s["chosen"] > 0, "bert_mask chose no position at all (select_prob=0.5)")


@pytest.mark.check(points=2, timeout=30)
def test_bert_mask_rates(student, rng):
    """masking.bert_mask: about 15% of ordinary tokens chosen; of those 80% [MASK], 10% random, 10% kept"""
    vocab = 1000
    ids = token_batch(rng, 160, 128, vocab)  # 20,160 ordinary tokens → ~3,000 chosen
    out = student.call("probe:masking:bert_mask", tensor(ids), 2, vocab_size=vocab, **MASK_ARGS)
    s = masking_summary(ids, out, np.isin(ids, [CLS, SEP, PAD]), vocab)
    within_binomial(s["chosen"], s["eligible"], 0.15, "ordinary tokens chosen")
    check_split(s, vocab, 0.8, 0.1, "bert_mask")


@pytest.mark.check(points=1, timeout=30)
def test_bert_mask_reproducible(student, rng):
    """masking.bert_mask: the same generator seed gives the same masking; another seed, another one"""
    ids = token_batch(rng, 8, 64, 100)
    first, again, other = student.call("probe:masking:bert_mask_replays", tensor(ids), 5, vocab_size=100, **MASK_ARGS)
    assert_equal(again, first, name="bert_mask with a generator seeded alike (the global torch seed changed in "
                                    "between; draw every random number from `generator`)")
    same = all(np.array_equal(other[k].values, first[k].values) for k in ("inputs", "labels"))
    assert_true(not same, "bert_mask gave the same masking for generators with different seeds: is the "
                "randomness drawn from `generator`?")


@pytest.mark.check(points=2, timeout=30)
def test_masked_cross_entropy_value(student, reference, rng):
    """masking.masked_cross_entropy: mean cross-entropy over the chosen positions only"""
    logits = rng.standard_normal((4, 10, 30)).astype("float32")
    labels = np.where(rng.random((4, 10)) < 0.3, rng.integers(0, 30, size=(4, 10)), IGNORE)
    labels[0, 0] = 7  # at least one target
    args = (tensor(logits), tensor(labels))
    got = student.call("masking.masked_cross_entropy", *args)
    want = reference.call("masking.masked_cross_entropy", *args)
    assert_close(got, want, name="masked_cross_entropy(logits, labels) with logits (4, 10, 30) and 30% of "
                                 "positions labelled", rtol=1e-5)


@pytest.mark.check(points=2, timeout=60)
def test_mlm_loss_follows_the_recipe(student, rng):
    """masking.mlm_loss: bert_mask, then the model on the masked inputs, then masked_cross_entropy"""
    ids = token_batch(rng, 4, 16, 40)
    out = student.call("probe:masking:mlm_loss", tensor(ids), 3, 0, vocab_size=40, **MASK_ARGS)
    assert_close(out["got"], out["expected"], name="mlm_loss(tiny BERT, input_ids, generator) compared with the "
                 "cross-entropy of the model's logits on bert_mask's inputs, at bert_mask's labels (same seed)",
                 rtol=1e-5, check_dtype=False)

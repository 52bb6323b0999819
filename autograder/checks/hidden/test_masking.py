"""Section 2 — BERT masking: hidden checks (never in the student release).

The statistical bounds are ±5 standard deviations of the binomial at the sample size used (see
``within_binomial``): a correct masking fails one of them about once in 1.7 million, while the mistakes
they target sit tens of σ away.
"""

import math

import numpy as np
import pytest

from autograder.checks import assert_close, assert_true, tensor
from autograder.checks.public.test_masking import (CLS, IGNORE, MASK_ARGS, PAD, SEP, check_split, masking_summary,
                                                   token_batch, within_binomial)


def special(ids):
    return np.isin(ids, [CLS, SEP, PAD])


@pytest.mark.check(points=3, timeout=60)
def test_bert_mask_rates_over_200k_tokens(student, rng):
    """masking.bert_mask: selection rate and the 80/10/10 split over 200,000 tokens, within ±5σ"""
    vocab = 1000
    ids = token_batch(rng, 1600, 128, vocab, pad_from=rng.integers(64, 127, size=1600))
    out = student.call("probe:masking:bert_mask", tensor(ids), 11, vocab_size=vocab, **MASK_ARGS)
    s = masking_summary(ids, out, special(ids), vocab)
    assert_true(s["eligible"] >= 100_000, f"grader error: only {s['eligible']} eligible tokens")
    assert_true(s["chosen_protected"] == 0, f"bert_mask chose {s['chosen_protected']} special or padding positions")
    # Selection: Binomial(eligible ≈ 150,000, 0.15): σ ≈ 138 tokens, so ±5σ is ±0.46% of the rate.
    within_binomial(s["chosen"], s["eligible"], 0.15, "ordinary tokens chosen")
    # Split: Binomial(chosen ≈ 22,000, p) per category: ±5σ is ±1.3% for 80%, ±1.0% for 10%.
    check_split(s, vocab, 0.8, 0.1, "bert_mask")


@pytest.mark.check(points=2, timeout=60)
def test_bert_mask_spreads_over_positions_and_rows(student, rng):
    """masking.bert_mask: every position is chosen about 15% of the time, and rows are masked independently"""
    vocab, rows, length = 1000, 4000, 32
    ids = token_batch(rng, rows, length, vocab)
    out = student.call("probe:masking:bert_mask", tensor(ids), 12, vocab_size=vocab, **MASK_ARGS)
    s = masking_summary(ids, out, special(ids), vocab)
    per_position = s["chosen_mask"][:, 1:-1].sum(axis=0)  # (length − 2,) over 4,000 rows each
    # Binomial(4000, 0.15) per position: σ ≈ 22.6, ±5σ = ±2.8% of the rate, for each of the 30 positions.
    for t, count in enumerate(per_position, start=1):
        within_binomial(int(count), rows, 0.15, f"rows in which position {t} was chosen (each position should "
                        "be chosen independently, in every row)")
    distinct = len({row.tobytes() for row in s["chosen_mask"][:200]})
    assert_true(distinct > 150, f"only {distinct} different masks among the first 200 rows: every row needs its "
                "own random draw")


@pytest.mark.check(points=2, timeout=60)
def test_bert_mask_random_tokens_are_uniform(student, rng):
    """masking.bert_mask: the random replacements are drawn uniformly from the whole vocabulary"""
    vocab = 1000
    ids = token_batch(rng, 1000, 128, vocab)
    out = student.call("probe:masking:bert_mask", tensor(ids), 13, vocab_size=vocab, select_prob=0.5,
                       **MASK_ARGS)
    s = masking_summary(ids, out, special(ids), vocab)
    r = s["random_ids"].astype(np.float64)
    assert_true(len(r) > 1000, f"only {len(r)} chosen positions got a random token (expected ~6,300)")
    # Uniform on 0 … V−1: mean (V−1)/2, standard deviation √((V²−1)/12); the sample mean of n draws is within
    # ±5 of its standard errors. (Draws equal to the mask token or the original are counted elsewhere: a
    # negligible bias of ~1/V.)
    mean, se = (vocab - 1) / 2, math.sqrt((vocab**2 - 1) / 12 / len(r))
    assert_true(abs(r.mean() - mean) <= 5 * se, f"the random replacement tokens have mean id {r.mean():.1f}; "
                f"tokens drawn uniformly from 0 … {vocab - 1} have mean {mean:.1f} ± {5 * se:.1f} (5 standard "
                "errors). Draw them with torch.randint(vocab_size, …, generator=generator).")
    top = float((r >= vocab / 2).mean())
    within_binomial(int((r >= vocab / 2).sum()), len(r), 0.5, f"random replacements in the upper half of the "
                    f"vocabulary ({top:.1%})")


@pytest.mark.check(points=2, timeout=60)
def test_bert_mask_uses_its_probabilities(student, rng):
    """masking.bert_mask: select_prob, mask_prob and random_prob are honoured (here 40% / 50% / 30%)"""
    vocab = 1000
    ids = token_batch(rng, 400, 128, vocab)
    out = student.call("probe:masking:bert_mask", tensor(ids), 14, vocab_size=vocab, select_prob=0.4,
                       mask_prob=0.5, random_prob=0.3, **MASK_ARGS)
    s = masking_summary(ids, out, special(ids), vocab)
    within_binomial(s["chosen"], s["eligible"], 0.4, "ordinary tokens chosen with select_prob=0.4")
    check_split(s, vocab, 0.5, 0.3, "bert_mask(mask_prob=0.5, random_prob=0.3)")


@pytest.mark.check(points=1, timeout=30)
def test_bert_mask_leaves_its_input_alone(student, rng):
    """masking.bert_mask: input_ids is not modified in place"""
    ids = token_batch(rng, 8, 64, 100)
    out = student.call("probe:masking:bert_mask", tensor(ids), 15, vocab_size=100, **MASK_ARGS)
    masking_summary(ids, out, special(ids), 100)
    assert_true(out["input_unchanged"], "bert_mask modified input_ids in place: work on a copy (e.g. "
                "input_ids.clone(), or masked_fill / torch.where, which return new tensors)")


@pytest.mark.check(points=1, timeout=30)
def test_bert_mask_all_special_row(student, rng):
    """masking.bert_mask: a row of special tokens only gets no target at all"""
    ids = token_batch(rng, 4, 16, 100, pad_from=[1, 1, 1, 1])  # [CLS] [PAD] … [PAD] [SEP]
    out = student.call("probe:masking:bert_mask", tensor(ids), 16, vocab_size=100, select_prob=0.9, **MASK_ARGS)
    s = masking_summary(ids, out, special(ids), 100)
    assert_true(s["chosen"] == 0, f"bert_mask chose {s['chosen']} positions in rows made only of [CLS], [PAD] "
                "and [SEP]; labels should all be -100")


@pytest.mark.check(points=2, timeout=30)
def test_masked_cross_entropy_ignores_unchosen_positions(student, reference, rng):
    """masking.masked_cross_entropy: ignored positions change neither the loss nor get any gradient"""
    logits = rng.standard_normal((3, 12, 20)).astype("float32")
    labels = np.where(rng.random((3, 12)) < 0.2, rng.integers(0, 20, size=(3, 12)), IGNORE)
    labels[1, 5] = 4
    got = student.call("probe:masking:loss_gradient", tensor(logits), tensor(labels))
    want = reference.call("probe:masking:loss_gradient", tensor(logits), tensor(labels))
    ignored = labels == IGNORE
    leaked = np.abs(got["grad"].values[ignored]).max() if got["grad"] is not None else 0.0
    assert_true(got["grad"] is not None and leaked == 0.0, "masked_cross_entropy: logits at positions labelled "
                f"-100 received a gradient (largest {leaked:.3g}); they must not count")
    shuffled = logits.copy()
    shuffled[ignored] = rng.standard_normal(shuffled[ignored].shape) * 10
    again = student.call("masking.masked_cross_entropy", tensor(shuffled), tensor(labels))
    assert_close(again, got["loss"], name="masked_cross_entropy after changing the logits at ignored positions",
                 rtol=1e-6)
    assert_close(got, want, name="masked_cross_entropy(logits (3, 12, 20), labels) and d loss / d logits",
                 rtol=1e-5, atol=1e-7)

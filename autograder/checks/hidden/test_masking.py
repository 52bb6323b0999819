"""Section 2 — BERT masking and span masking: hidden checks (never in the student release).

The same behaviours as the public checks, on other inputs: larger samples (tighter bounds, derived from the
sample size in the same way), other probabilities, shapes and layouts.
"""

import numpy as np
import pytest

from autograder.checks import assert_close, assert_true, tensor
from autograder.checks.public.test_autoencoder import student  # noqa: F401 (the fixture: errors say "your code")
from autograder.checks.public.test_masking import (MASK_ARGS, PAD, SEP, SPAN_ARGS, bert_masked,
                                                   check_bert_mask_rates, check_masked_cross_entropy,
                                                   check_replacement_ids, check_replays, check_row_counts,
                                                   check_spans, labels_for, masking_summary, protected_of,
                                                   token_batch, within_binomial)


@pytest.mark.check(points=2, timeout=60)
def test_bert_mask_rates_over_100k_tokens(student, rng):
    """masking.bert_mask: selection rate and the 80/10/10 split over 100,000 tokens with padding"""
    vocab = 1000
    ids = token_batch(rng, 800, 128, vocab, pad_from=rng.integers(64, 127, size=800))
    check_bert_mask_rates(student, ids, 11, vocab)


@pytest.mark.check(points=2, timeout=60)
def test_bert_mask_rows_independent_other_sizes(student, rng):
    """masking.bert_mask: per-row binomial counts and per-position rates, 1,000 rows of 21 tokens, select_prob=0.25"""
    vocab, rows, length = 300, 1000, 23
    ids = token_batch(rng, rows, length, vocab)
    s = bert_masked(student, ids, 17, vocab, select_prob=0.25)
    check_row_counts(s["chosen_mask"][:, 1:-1], length - 2, 0.25, "bert_mask(select_prob=0.25)")


@pytest.mark.check(points=2, timeout=60)
def test_bert_mask_other_probabilities_and_vocabulary(student, rng):
    """masking.bert_mask: select_prob 0.6, mask_prob 0.2, random_prob 0.7, mask_token_id 4, a vocabulary of 9 ids"""
    vocab = 9
    ids = token_batch(rng, 200, 50, vocab, pad_from=rng.integers(20, 50, size=200), low=5)
    flagged = np.zeros(ids.shape, dtype=bool)
    flagged[:, 5] = True
    s = bert_masked(student, ids, 13, vocab, flagged, mask_id=4, select_prob=0.6, mask_prob=0.2, random_prob=0.7)
    within_binomial(s["chosen"], s["eligible"], 0.6, "bert_mask(select_prob=0.6): ordinary tokens chosen")
    check_replacement_ids(ids, s, vocab, 0.2, 0.7, f"bert_mask(vocab_size={vocab}, mask_prob=0.2, random_prob=0.7)")


@pytest.mark.check(points=1, timeout=30)
def test_bert_mask_reproducible_other_batch(student, rng):
    """masking.bert_mask: reproducible from the generator alone, fresh on every call (odd shapes, padding)"""
    ids = token_batch(rng, 3, 19, 60, pad_from=[19, 7, 12])
    check_replays(student.call("probe:masking:bert_mask_replays", tensor(ids), 8, vocab_size=60, select_prob=0.5,
                               **MASK_ARGS), "bert_mask")


@pytest.mark.check(points=2, timeout=60)
def test_span_mask_other_rates_and_lengths(student, rng):
    """masking.span_mask: mask_rate 0.25 with mean_span 1.5, and mean_span 1 (single tokens), left padding"""
    vocab = 80
    for seed, (rate, mean) in enumerate(((0.25, 1.5), (0.1, 1.0))):
        ids = token_batch(rng, 400, 37, vocab, pad_left=rng.integers(0, 12, size=400))
        out = student.call("probe:masking:span_mask", tensor(ids), 30 + seed, vocab_size=vocab, mask_rate=rate,
                           mean_span=mean, **SPAN_ARGS)
        check_spans(ids, out, protected_of(ids), vocab, rate, mean, f"span_mask(mask_rate={rate}, mean_span={mean})")


@pytest.mark.check(points=2, timeout=60)
def test_span_mask_long_spans_and_split(student, rng):
    """masking.span_mask: mean_span 8, many [SEP] inside the rows, mask_prob 0.5 / random_prob 0.4, mask_token_id 4"""
    vocab = 10
    ids = token_batch(rng, 300, 60, vocab, low=5)
    ids[:, [13, 14, 33, 47]] = SEP
    ids[::7, 50:59] = PAD
    out = student.call("probe:masking:span_mask", tensor(ids), 33, vocab_size=vocab, mask_rate=0.35, mean_span=8.0,
                       mask_prob=0.5, random_prob=0.4, **dict(SPAN_ARGS, mask_token_id=4))
    s = check_spans(ids, out, protected_of(ids), vocab, 0.35, 8.0, "span_mask(mask_rate=0.35, mean_span=8)", mask_id=4)
    check_replacement_ids(ids, s, vocab, 0.5, 0.4, "span_mask(mask_prob=0.5, random_prob=0.4)")


@pytest.mark.check(points=1, timeout=30)
def test_span_mask_special_rows_and_replays(student, rng):
    """masking.span_mask: rows of special tokens only get no target; reproducible, fresh on every call"""
    ids = token_batch(rng, 4, 16, 100, pad_from=[1, 1, 1, 1])
    out = student.call("probe:masking:span_mask", tensor(ids), 16, vocab_size=100, mask_rate=0.45, **SPAN_ARGS)
    s = masking_summary(ids, out, protected_of(ids), 100, name="span_mask")
    assert_true(s["chosen"] == 0, f"span_mask chose {s['chosen']} positions in rows made only of [CLS], [PAD] and "
                "[SEP]; labels should all be -100")
    ids = token_batch(rng, 2, 33, 40, pad_from=[33, 20])
    check_replays(student.call("probe:masking:span_mask_replays", tensor(ids), 6, vocab_size=40, mean_span=2.0,
                               **SPAN_ARGS), "span_mask")


@pytest.mark.check(points=2, timeout=30)
def test_masked_cross_entropy_other_shapes(student, reference, rng):
    """masking.masked_cross_entropy: long rows, large logits, float64; no gradient at ignored positions"""
    for shape, vocab, dtype in (((2, 50, 7), 7, "float64"), ((6, 3, 64), 64, "float32")):
        logits = (10 * rng.standard_normal(shape)).astype(dtype)
        labels = labels_for(rng, shape[:2], vocab, 0.15)
        check_masked_cross_entropy(student, reference, logits, labels, f"{shape} {dtype}")


@pytest.mark.check(points=1, timeout=60)
def test_mlm_loss_other_arguments(student, rng):
    """masking.mlm_loss: mask_prob, random_prob and special_ids passed on to bert_mask"""
    ids = token_batch(rng, 3, 21, 30, pad_from=[21, 10, 15])
    out = student.call("probe:masking:mlm_loss", tensor(ids), 41, 5, vocab_size=30, select_prob=0.5, mask_prob=0.3,
                       random_prob=0.6, **MASK_ARGS)
    name = "mlm_loss(model, input_ids (3, 21), generator, select_prob=0.5, mask_prob=0.3, random_prob=0.6)"
    assert_close(out["got"], out["expected"], name=name, rtol=1e-5, check_dtype=False)
    assert_true(out["grads"] is not None, f"{name}: the loss carries no gradient")
    assert_close(out["grads"], out["expected_grads"], name=f"the gradients of {name}", rtol=1e-4, atol=1e-6)

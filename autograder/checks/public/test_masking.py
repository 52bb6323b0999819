"""Section 2 — BERT masking and span masking: public checks (students run these with `python -m autograder check`).

Masking is random, so most checks look at properties of your output rather than at exact values: the
grader sends a seed, a probe builds ``torch.Generator().manual_seed(seed)`` next to your code, and every
statistic is computed here from the arrays your function returned. Every statistical bound is derived from
the sample size (``autograder/checks/stats.py``: 5 standard deviations of a binomial count), so a correct
masking fails one about once in a million gradings, while the mistakes they target sit far outside.

The reference semantics are those of Hugging Face's ``DataCollatorForLanguageModeling``: every ordinary token
is chosen independently (15%), a chosen one becomes [MASK] (80%), a uniformly random id of the whole
vocabulary (10%), or stays (10%).
"""

import numpy as np
import pytest

from autograder.checks import assert_close, assert_equal, assert_true, tensor
from autograder.checks.public.test_autoencoder import student  # noqa: F401 (the fixture: errors say "your code")
from autograder.checks.stats import binomial_slack

IGNORE = -100
MASK_ID, CLS, SEP, PAD = 3, 1, 2, 0
SPECIAL = [CLS, SEP, PAD]


def token_batch(rng, batch: int, length: int, vocab: int, pad_from=None, pad_left=None, low: int = 4) -> np.ndarray:
    """(batch, length) ids framed [CLS] … [SEP], ordinary tokens drawn from ``low`` … vocab − 1.

    ``pad_from[row]``: [PAD] from that position up to the [SEP] (right padding, the [SEP] stays last);
    ``pad_left[row]``: that many [PAD] before the [CLS] (left padding)."""
    ids = rng.integers(low, vocab, size=(batch, length))
    ids[:, 0], ids[:, -1] = CLS, SEP
    for row, start in enumerate(pad_from if pad_from is not None else ()):
        ids[row, start:-1] = PAD
    for row, n in enumerate(pad_left if pad_left is not None else ()):
        ids[row, :n] = PAD
        ids[row, n] = CLS
    return ids


def layouts(rng, vocab: int):
    """Batches of several shapes: odd lengths, a single row, right and left padding."""
    yield token_batch(rng, 8, 32, vocab)
    yield token_batch(rng, 3, 17, vocab, pad_from=[17, 9, 2])
    yield token_batch(rng, 1, 9, vocab)
    yield token_batch(rng, 5, 40, vocab, pad_left=[0, 3, 11, 20, 38])


def first(flags: np.ndarray):
    """The index of the first True in ``flags`` (as a tuple of ints), or None."""
    hits = np.argwhere(flags)
    return tuple(int(i) for i in hits[0]) if len(hits) else None


def masking_summary(input_ids: np.ndarray, out: dict, protected: np.ndarray, vocab: int,
                    name: str = "bert_mask", mask_id: int = MASK_ID) -> dict:
    """Shapes and the consistency of (inputs, labels) with input_ids; counts of what happened where.

    A chosen position is one whose label is not -100. At a chosen position the input is the mask token
    ("mask"), the original token ("same") or another one ("random"). Special positions are never chosen, and
    ``input_ids`` must come back unchanged.
    """
    inputs, labels = out["inputs"], out["labels"]
    call = f"{name}(input_ids of shape {input_ids.shape}, generator, ...)"
    shape = input_ids.shape
    for what, got in (("inputs", inputs), ("labels", labels)):
        assert_true(hasattr(got, "shape") and got.kind == "tensor",
                    f"{call} should return two torch tensors (inputs, labels); {what} is not a tensor")
        assert_true(got.shape == shape, f"{call}: {what} has the wrong shape: expected {shape}, got {got.shape}")
        assert_true(got.dtype == "int64", f"{call}: {what} should keep the dtype of input_ids, int64; got {got.dtype}")
    assert_true(out["input_unchanged"], f"{name} modified input_ids in place: work on a copy (e.g. "
                "input_ids.clone(), or masked_fill / torch.where, which return new tensors)")
    x, inp, lab = input_ids, inputs.values, labels.values
    chosen = lab != IGNORE
    wrong_label = chosen & (lab != x)
    assert_true(not wrong_label.any(), f"{call}: at a chosen position the label must be the original id; "
                f"{int(wrong_label.sum())} labels differ from input_ids, first at {first(wrong_label)}")
    changed = ~chosen & (inp != x)
    assert_true(not changed.any(), f"{call}: {int(changed.sum())} positions whose label is -100 (not chosen) had "
                f"their input changed, first at {first(changed)}; only chosen positions change")
    out_of_range = chosen & ((inp < 0) | (inp >= vocab))
    assert_true(not out_of_range.any(), f"{call}: {int(out_of_range.sum())} inputs are not valid ids in 0 … "
                f"{vocab - 1}, first at {first(out_of_range)}")
    bad = chosen & protected
    assert_true(not bad.any(), f"{call} chose {int(bad.sum())} special positions ([CLS], [SEP], [PAD] or "
                f"special_mask=True), first at {first(bad)}; they must never be chosen")
    return {
        "eligible": int((~protected).sum()),
        "chosen": int(chosen.sum()),
        "mask": int((chosen & (inp == mask_id)).sum()),
        "same": int((chosen & (inp == x)).sum()),
        "random": int((chosen & (inp != mask_id) & (inp != x)).sum()),
        "mask_id": mask_id,
        "chosen_mask": chosen,
        "inputs": inp,
    }


def within_binomial(count: int, n: int, p: float, what: str) -> None:
    """``count`` out of ``n`` is within the bound of ``stats.binomial_slack`` around a Binomial(n, p) mean."""
    slack = float(binomial_slack(n, p))
    low, high = n * p - slack, n * p + slack
    assert_true(low <= count <= high, f"{what}: {count} of {n} ({count / max(n, 1):.2%}); expected {p:.2%} of them, "
                f"i.e. between {max(0, int(np.ceil(low)))} and {int(np.floor(high))} (5 standard deviations of the "
                "binomial)")


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


def check_replacement_ids(input_ids: np.ndarray, s: dict, vocab: int, mask_prob: float, random_prob: float,
                          where: str) -> None:
    """The id put at each chosen position, counted per id, against its exact expected count: mask_prob on the
    mask token, 1 − mask_prob − random_prob on the original id, random_prob spread uniformly over 0 … V − 1.

    Each chosen position is an independent draw, so each id's count is a sum of independent Bernoulli draws,
    whose variance is at most that of the binomial with the same mean: the binomial bound is conservative.
    """
    chosen = s["chosen_mask"]
    n = int(chosen.sum())
    keep_prob = 1 - mask_prob - random_prob
    expected = np.full(vocab, n * random_prob / vocab)
    expected[s["mask_id"]] += n * mask_prob
    expected += keep_prob * np.bincount(input_ids[chosen], minlength=vocab)[:vocab]
    counts = np.bincount(np.clip(s["inputs"][chosen], 0, vocab - 1), minlength=vocab)[:vocab]
    excess = np.abs(counts - expected) - binomial_slack(n, expected / n)
    i = int(np.argmax(excess))
    assert_true(excess[i] <= 0, f"{where}: id {i} was put at {int(counts[i])} of the {n} chosen positions, expected "
                f"{expected[i]:.1f} ± {float(binomial_slack(n, expected[i] / n)):.1f} (5 standard deviations): "
                f"mask_prob → the mask token, random_prob → an id drawn uniformly from the whole vocabulary "
                f"0 … {vocab - 1} (torch.randint(vocab_size, …)), the rest unchanged")


def check_row_counts(chosen: np.ndarray, n: int, p: float, where: str) -> None:
    """Rows of n eligible positions each: the number chosen per row follows Binomial(n, p) (a histogram over
    the rows, each bin within its binomial bound), and every column is chosen in about p of the rows."""
    rows = chosen.shape[0]
    per_row = chosen.sum(axis=1)
    pmf = np.array([_binom_pmf(n, k, p) for k in range(n + 1)])
    hist = np.bincount(per_row, minlength=n + 1)[: n + 1]
    excess = np.abs(hist - rows * pmf) - binomial_slack(rows, pmf)
    k = int(np.argmax(excess))
    assert_true(excess[k] <= 0, f"{where}: {int(hist[k])} of {rows} rows have exactly {k} targets among their {n} "
                f"ordinary tokens; with each token chosen independently with probability {p} that happens in "
                f"{rows * pmf[k]:.1f} ± {float(binomial_slack(rows, pmf[k])):.1f} rows (a binomial count per row — "
                "not a fixed number per row)")
    per_column = chosen.sum(axis=0)
    for t, count in enumerate(per_column):
        within_binomial(int(count), rows, p, f"{where}: rows in which ordinary position {t} was chosen (every "
                        "position is chosen independently, in every row)")


def _binom_pmf(n: int, k: int, p: float) -> float:
    from math import comb

    return comb(n, k) * p**k * (1 - p) ** (n - k)


def check_replays(replays: list, name: str) -> None:
    """Same generator seed → same output, whatever the global seed; another seed → another output; a second call
    on the same generator → another output."""
    first_, again, other, next_call = replays
    assert_equal(again, first_, name=f"{name} with a generator seeded alike (the global torch seed changed in "
                                     "between; draw every random number from `generator`)")
    for what, (a, b) in (("for generators with different seeds", (other, first_)),
                         ("for two calls on the same generator", (next_call, other))):
        same = all(np.array_equal(a[k].values, b[k].values) for k in ("inputs", "labels"))
        assert_true(not same, f"{name} gave the same masking {what}: draw fresh random numbers from `generator` "
                    "on every call (never a generator of your own)")


MASK_ARGS = dict(mask_token_id=MASK_ID, special_ids=SPECIAL)
DEFAULTS = dict(select_prob=0.15, mask_prob=0.8, random_prob=0.1)  # Hugging Face's, and bert_mask's


def protected_of(ids, flagged=None):
    return np.isin(ids, SPECIAL) | (flagged if flagged is not None else False)


def bert_masked(student, ids: np.ndarray, seed: int, vocab: int, flagged=None, mask_id: int = MASK_ID,
                **options) -> dict:
    """Your ``bert_mask`` on ``ids`` (generator seeded with ``seed``), checked and summarised by ``masking_summary``.

    ``flagged``: the (batch, length) bool ``special_mask`` to pass (None: none passed); ``options``: select_prob,
    mask_prob, random_prob. The special ids are always [CLS], [SEP], [PAD]; the mask id is ``mask_id``."""
    if flagged is not None:
        options["special_mask"] = tensor(flagged)
    out = student.call("probe:masking:bert_mask", tensor(ids), seed, vocab_size=vocab, **options,
                       **dict(MASK_ARGS, mask_token_id=mask_id))
    return masking_summary(ids, out, protected_of(ids, flagged), vocab, mask_id=mask_id)


def check_bert_mask_rates(student, ids: np.ndarray, seed: int, vocab: int, mask_id: int = MASK_ID, **options) -> dict:
    """``bert_masked``, then the share of ordinary tokens chosen (select_prob) and the mask / random / same split.

    An option left out is not passed, so your function's default is what is checked (15%, 80%, 10%)."""
    s = bert_masked(student, ids, seed, vocab, mask_id=mask_id, **options)
    select_prob, mask_prob, random_prob = (options.get(k, d) for k, d in DEFAULTS.items())
    chosen_by = f"(select_prob={select_prob})" if "select_prob" in options else ""
    split_by = f"(mask_prob={mask_prob}, random_prob={random_prob})" if options.keys() - {"select_prob"} else ""
    within_binomial(s["chosen"], s["eligible"], select_prob, f"bert_mask{chosen_by}: ordinary tokens chosen")
    check_split(s, vocab, mask_prob, random_prob, f"bert_mask{split_by}")
    return s


# ----------------------------------------------------------------------------------------------------------
# bert_mask


@pytest.mark.check(points=2, timeout=30)
def test_bert_mask_labels_and_inputs(student, rng):
    """masking.bert_mask: labels = original ids at chosen positions, -100 elsewhere; nothing else changes"""
    vocab = 50
    for i, ids in enumerate(layouts(rng, vocab)):
        bert_masked(student, ids, i, vocab, select_prob=0.5)
    ids = token_batch(rng, 8, 32, vocab)
    s = bert_masked(student, ids, 9, vocab)
    assert_true(s["chosen"] > 0, "bert_mask chose no position at all in 8 sequences of 32 tokens "
                "(expected about 15% of the 240 ordinary tokens)")


@pytest.mark.check(points=2, timeout=30)
def test_bert_mask_never_chooses_special_tokens(student, rng):
    """masking.bert_mask: special ids, padding and positions flagged in special_mask are never chosen"""
    vocab = 50
    ids = token_batch(rng, 16, 24, vocab, pad_from=rng.integers(2, 23, size=16))
    ids[3] = token_batch(rng, 1, 24, vocab, pad_from=[1])[0]  # a row of special tokens only
    flagged = np.zeros(ids.shape, dtype=bool)
    flagged[:, 1:4] = True  # e.g. a prompt that must stay visible
    s = bert_masked(student, ids, 1, vocab, flagged, select_prob=0.9)
    assert_true(s["chosen"] > 0, "bert_mask chose no position at all (select_prob=0.9)")


@pytest.mark.check(points=2, timeout=30)
def test_bert_mask_rates(student, rng):
    """masking.bert_mask: about 15% of ordinary tokens chosen; of those 80% [MASK], 10% random, 10% kept"""
    vocab = 1000
    ids = token_batch(rng, 160, 128, vocab)  # 20,160 ordinary tokens → ~3,000 chosen
    check_bert_mask_rates(student, ids, 2, vocab)


@pytest.mark.check(points=2, timeout=30)
def test_bert_mask_rows_are_independent(student, rng):
    """masking.bert_mask: per row, the number of targets is binomial; every position is chosen ~15% of the time"""
    vocab, rows, length = 200, 400, 64
    ids = token_batch(rng, rows, length, vocab)
    s = bert_masked(student, ids, 12, vocab)
    check_row_counts(s["chosen_mask"][:, 1:-1], length - 2, 0.15, "bert_mask")


@pytest.mark.check(points=2, timeout=30)
def test_bert_mask_uses_its_probabilities(student, rng):
    """masking.bert_mask: select_prob, mask_prob, random_prob and mask_token_id honoured; random ids uniform over 0 … V − 1"""
    vocab = 12  # small, so that every id's count can be checked
    ids = token_batch(rng, 300, 64, vocab, low=5)
    s = check_bert_mask_rates(student, ids, 14, vocab, mask_id=4, select_prob=0.4, mask_prob=0.5, random_prob=0.3)
    check_replacement_ids(ids, s, vocab, 0.5, 0.3, f"bert_mask(vocab_size={vocab}, mask_prob=0.5, random_prob=0.3)")


@pytest.mark.check(points=1, timeout=30)
def test_bert_mask_reproducible(student, rng):
    """masking.bert_mask: the same generator seed gives the same masking; another seed or another call, another one"""
    ids = token_batch(rng, 8, 64, 100)
    replays = student.call("probe:masking:bert_mask_replays", tensor(ids), 5, vocab_size=100, **MASK_ARGS)
    check_replays(replays, "bert_mask")


# ----------------------------------------------------------------------------------------------------------
# span_mask


def span_transitions(chosen: np.ndarray, protected: np.ndarray) -> dict:
    """Counts along the rows: (from a target, ordinary → ordinary: how many go on), (from an ordinary non-target:
    how many start a span), and (first ordinary position of a row or after a special one: how many are targets)."""
    ordinary = ~protected
    pair = ordinary[:, :-1] & ordinary[:, 1:]
    prev, nxt = chosen[:, :-1], chosen[:, 1:]
    fresh = ordinary & np.concatenate([np.ones((len(chosen), 1), bool), protected[:, :-1]], axis=1)
    # Across one special position: ordinary, special, ordinary, the first one a target.
    across = ordinary[:, :-2] & protected[:, 1:-1] & ordinary[:, 2:] & chosen[:, :-2]
    return {"in_span": int((pair & prev).sum()), "goes_on": int((pair & prev & nxt).sum()),
            "outside": int((pair & ~prev).sum()), "starts": int((pair & ~prev & nxt).sum()),
            "fresh": int(fresh.sum()), "fresh_chosen": int((fresh & chosen).sum()),
            "across": int(across.sum()), "across_chosen": int((across & chosen[:, 2:]).sum())}


def check_spans(ids, out, protected, vocab: int, mask_rate: float, mean_span: float, where: str,
                mask_id: int = MASK_ID) -> dict:
    """Everything span_mask's docstring says must hold, on one batch: consistency (as bert_mask), the rate at
    every position (across rows: an exact binomial count per column), and each step of the chain."""
    s = masking_summary(ids, out, protected, vocab, name="span_mask", mask_id=mask_id)
    chosen, rows = s["chosen_mask"], len(ids)
    ordinary = ~protected
    for t in range(ids.shape[1]):
        n = int(ordinary[:, t].sum())
        if n >= 50:
            within_binomial(int((chosen[:, t] & ordinary[:, t]).sum()), n, mask_rate, f"{where}: rows in which "
                            f"ordinary position {t} is in a span (every ordinary position is, with probability "
                            f"mask_rate = {mask_rate}, right after a special token too)")
    c = span_transitions(chosen, protected)
    within_binomial(c["goes_on"], c["in_span"], 1 - 1 / mean_span, f"{where}: spans that go on to the next ordinary "
                    f"position (probability 1 − 1/mean_span = {1 - 1 / mean_span:.3f}, so that lengths are "
                    f"geometric with mean {mean_span})")
    start = mask_rate / (mean_span * (1 - mask_rate))
    within_binomial(c["starts"], c["outside"], start, f"{where}: new spans after an ordinary non-target (probability "
                    f"mask_rate / (mean_span · (1 − mask_rate)) = {start:.4f})")
    within_binomial(c["fresh_chosen"], c["fresh"], mask_rate, f"{where}: spans at the first ordinary position of a row "
                    f"or right after a special one (a fresh start, probability mask_rate = {mask_rate}: a span never "
                    "runs on through a special token)")
    within_binomial(c["across_chosen"], c["across"], mask_rate, f"{where}: targets right after a special token that "
                    "follows a target (a special position ends the span: what comes after it starts afresh, with "
                    f"probability mask_rate = {mask_rate}, whatever came before)")
    assert_true(rows == 1 or len({row.tobytes() for row in chosen[:100]}) > min(50, rows // 2),
                f"{where}: the rows got (nearly) the same spans: every row needs its own random draws")
    return s


SPAN_ARGS = dict(mask_token_id=MASK_ID, special_ids=SPECIAL)


@pytest.mark.check(points=2, timeout=30)
def test_span_mask_labels_and_inputs(student, rng):
    """masking.span_mask: labels = original ids in the spans, -100 elsewhere; specials never in a span; reproducible"""
    vocab = 50
    for i, ids in enumerate(layouts(rng, vocab)):
        flagged = np.zeros(ids.shape, dtype=bool)
        flagged[:, 2:4] = True
        out = student.call("probe:masking:span_mask", tensor(ids), i, vocab_size=vocab, mask_rate=0.4,
                           special_mask=tensor(flagged), **SPAN_ARGS)
        masking_summary(ids, out, protected_of(ids, flagged), vocab, name="span_mask")
    ids = token_batch(rng, 8, 64, 100)
    check_replays(student.call("probe:masking:span_mask_replays", tensor(ids), 5, vocab_size=100, **SPAN_ARGS),
                  "span_mask")


@pytest.mark.check(points=2, timeout=30)
def test_span_mask_rate_and_split(student, rng):
    """masking.span_mask: every ordinary position is a target with probability mask_rate; 80/10/10 as bert_mask"""
    vocab = 1000
    ids = token_batch(rng, 400, 48, vocab, pad_from=np.where(rng.random(400) < 0.5, 48, 30))
    out = student.call("probe:masking:span_mask", tensor(ids), 21, vocab_size=vocab, **SPAN_ARGS)
    s = check_spans(ids, out, protected_of(ids), vocab, 0.15, 3.0, "span_mask")
    check_split(s, vocab, 0.8, 0.1, "span_mask")


@pytest.mark.check(points=2, timeout=30)
def test_span_mask_spans(student, rng):
    """masking.span_mask: geometric span lengths (mean mean_span), cut at special tokens; mask_rate, mean_span honoured"""
    vocab = 100
    ids = token_batch(rng, 300, 40, vocab)
    ids[:, 20] = SEP  # two segments per row: no span may cross the middle [SEP]
    flagged = np.zeros(ids.shape, dtype=bool)
    flagged[:, 30] = True
    out = student.call("probe:masking:span_mask", tensor(ids), 22, vocab_size=vocab, mask_rate=0.3, mean_span=5.0,
                       special_mask=tensor(flagged), **SPAN_ARGS)
    check_spans(ids, out, protected_of(ids, flagged), vocab, 0.3, 5.0, "span_mask(mask_rate=0.3, mean_span=5)")


# ----------------------------------------------------------------------------------------------------------
# masked_cross_entropy, mlm_loss


def labels_for(rng, shape, vocab, rate):
    labels = np.where(rng.random(shape) < rate, rng.integers(0, vocab, size=shape), IGNORE)
    labels[0, 0] = 7 % vocab  # at least one target
    labels[-1, :] = IGNORE  # a row without any (rows hold different numbers of targets)
    labels[-1, -1] = 1
    return labels


def check_masked_cross_entropy(student, reference, logits: np.ndarray, labels: np.ndarray, what: str) -> None:
    """Your masked_cross_entropy(logits, labels) and d loss / d logits against the reference's, and no gradient at
    all at the positions labelled -100. ``what`` describes the logits in the messages (their shape, dtype)."""
    got = student.call("probe:masking:loss_gradient", tensor(logits), tensor(labels))
    want = reference.call("probe:masking:loss_gradient", tensor(logits), tensor(labels))
    ignored = labels == IGNORE
    leaked = np.abs(got["grad"].values[ignored]).max() if got["grad"] is not None else 0.0
    name = f"masked_cross_entropy(logits {what}, labels with {int((~ignored).sum())} targets)"
    assert_true(got["grad"] is not None and leaked == 0.0, f"{name}: logits at positions labelled -100 received "
                f"a gradient (largest {leaked:.3g}), or none got one; they must not count")
    assert_close(got["loss"], want["loss"], name=name, rtol=1e-5)
    assert_close(got["grad"], want["grad"], name=f"d {name} / d logits", rtol=1e-5, atol=1e-7)


@pytest.mark.check(points=2, timeout=30)
def test_masked_cross_entropy_value(student, reference, rng):
    """masking.masked_cross_entropy: mean cross-entropy over the chosen positions only; no gradient at the others"""
    for shape, vocab in (((4, 10, 30), 30), ((1, 7, 11), 11), ((3, 5, 40), 40)):
        logits = (3 * rng.standard_normal(shape)).astype("float32")
        labels = labels_for(rng, shape[:2], vocab, 0.3)
        check_masked_cross_entropy(student, reference, logits, labels, f"{shape}")


@pytest.mark.check(points=2, timeout=60)
def test_mlm_loss_follows_the_recipe(student, rng):
    """masking.mlm_loss: bert_mask (every keyword passed on), the model on the masked inputs, masked_cross_entropy"""
    for i, (batch, length, vocab) in enumerate(((4, 16, 40), (2, 11, 25))):
        ids = token_batch(rng, batch, length, vocab)
        flagged = np.zeros(ids.shape, dtype=bool)
        flagged[:, 1] = True
        out = student.call("probe:masking:mlm_loss", tensor(ids), 3 + i, i, vocab_size=vocab, select_prob=0.4,
                           special_mask=tensor(flagged), **MASK_ARGS)
        name = (f"mlm_loss(model, input_ids {ids.shape}, generator, select_prob=0.4, special_mask=…) compared with "
                "the cross-entropy of the model's logits on bert_mask's inputs, at bert_mask's labels (same seed)")
        assert_close(out["got"], out["expected"], name=name, rtol=1e-5, check_dtype=False)
        assert_true(out["grads"] is not None, f"{name}: the loss carries no gradient; the model must learn from it")
        assert_close(out["grads"], out["expected_grads"], name=f"the gradients of {name}", rtol=1e-4, atol=1e-6)

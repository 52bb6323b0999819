"""Section 5 — in-context learning: hidden checks (label words, errors, batching and padding)."""

import pytest

from autograder.checks import assert_close, assert_equal, assert_true

SUPPORT = [["cat", 1], ["dog", 0], ["sun", 1]]
PROMPTS = ["in cat out", "Task: label ; in dog out yes ; in sun out", "in red blue green out", "sky"]


@pytest.mark.check(points=1, timeout=60)
def test_label_words(student, reference):
    """icl.build_prompt: labels are written with the format's label words"""
    fmt = {"input_prefix": "in ", "output_prefix": " out ", "separator": " ; ", "label_words": {"0": "no", "1": "yes"}}
    support = [[x, str(y)] for x, y in SUPPORT]
    assert_equal(student.call("probe:icl:prompt", support, "moon", fmt),
                 reference.call("probe:icl:prompt", support, "moon", fmt), name="build_prompt with label_words")


@pytest.mark.check(points=1, timeout=60)
def test_query_too_long(student):
    """icl.build_prompt: a query that cannot fit raises ValueError instead of being cut"""
    got = student.call("probe:icl:prompt", [["cat", "yes"]], "red blue green sky sea", {}, 3)
    assert_true(isinstance(got, dict) and got.get("raised") == "ValueError",
                f"build_prompt(..., max_tokens=3) with a 5-token query should raise ValueError, returned {got!r}")


@pytest.mark.check(points=2, timeout=90)
def test_batched_scoring_equals_one_at_a_time(student, reference):
    """icl.score_candidates: the batched scores equal scoring each prompt alone (padding handled)"""
    candidates = ["yes", "no", "one two three", "maybe"]
    batched = student.call("probe:icl:scores", 2, PROMPTS, candidates)
    assert_close(batched, student.call("probe:icl:scores", 2, PROMPTS, candidates, True),
                 name="score_candidates(batch) vs one prompt at a time", rtol=1e-4, atol=1e-4)
    assert_close(batched, reference.call("probe:icl:scores", 2, PROMPTS, candidates),
                 name="score_candidates(4 prompts of different lengths)", rtol=1e-4, atol=1e-4)


@pytest.mark.check(points=2, timeout=90)
def test_generate_answers_left_padding(student, reference):
    """icl.generate_answers: a left-padded batch answers like each prompt alone"""
    got = student.call("probe:icl:answers", 1, PROMPTS, 5)
    assert_equal(got, reference.call("probe:icl:answers", 1, PROMPTS, 5), name="generate_answers(4 prompts, 5 tokens)")
    assert_equal(got, student.call("probe:icl:answers", 1, PROMPTS, 5, True),
                 name="generate_answers(batch) vs one prompt at a time")

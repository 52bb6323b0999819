"""Section 5 — in-context learning: hidden checks (the public behaviours on other prompts, formats and models)."""

import pytest

from autograder.checks import assert_close, assert_equal, assert_true

SUPPORT = [["cat", 1], ["dog", 0], ["sun", 1]]
PROMPTS = ["in cat out", "Task: label ; in dog out yes ; in sun out", "in red blue green out", "sky"]


@pytest.mark.check(points=1, timeout=60)
def test_other_formats(student, reference):
    """icl.build_prompt: other formats, label words and budgets"""
    fmt = {"instruction": "label ; ", "output_prefix": " ; ", "separator": " ", "label_words": {"0": "no", "1": "yes"}}
    support = [[x, str(y)] for x, y in SUPPORT]
    budgets = list(range(2, 16))
    assert_equal(student.call("probe:icl:build_prompt", support, "moon star", fmt, budgets),
                 reference.call("probe:icl:build_prompt", support, "moon star", fmt, budgets),
                 name="build_prompt with label_words and budgets 2 … 15")


@pytest.mark.check(points=2, timeout=90)
@pytest.mark.parametrize("layout", ["gpt2", "llama"])
def test_batched_scoring_equals_one_at_a_time(student, reference, layout):
    """icl.score_candidates: the batched scores equal scoring each prompt alone (padding handled)"""
    candidates = ["yes", "no", "one two three", "maybe"]
    batched = student.call("probe:icl:score_candidates", 2, PROMPTS, candidates, False, layout)
    assert_close(batched, student.call("probe:icl:score_candidates", 2, PROMPTS, candidates, True, layout),
                 name="score_candidates(batch) vs one prompt at a time", rtol=1e-4, atol=1e-4)
    assert_close(batched, reference.call("probe:icl:score_candidates", 2, PROMPTS, candidates, False, layout),
                 name=f"score_candidates(tiny {layout}, 4 prompts of different lengths)", rtol=1e-4, atol=1e-4)


@pytest.mark.check(points=2, timeout=90)
@pytest.mark.parametrize("layout", ["gpt2", "llama"])
def test_generate_answers_left_padding(student, reference, layout):
    """icl.generate_answers: a left-padded batch answers like each prompt alone"""
    got = student.call("probe:icl:generate_answers", 1, PROMPTS, 5, False, layout)
    assert_equal(got["answers"], reference.call("probe:icl:generate_answers", 1, PROMPTS, 5, False, layout)["answers"],
                 name=f"generate_answers(tiny {layout}, 4 prompts, 5 tokens)")
    assert_equal(got["answers"], student.call("probe:icl:generate_answers", 1, PROMPTS, 5, True, layout)["answers"],
                 name="generate_answers(batch) vs one prompt at a time")

"""Section 5 — in-context learning: prompts and label scoring (public checks)."""

import pytest

from autograder.checks import assert_close, assert_equal

SUPPORT = [["cat", "yes"], ["dog", "no"], ["sun", "yes"], ["sea", "no"]]
FORMAT = {"instruction": "Task: label ; ", "input_prefix": "in ", "output_prefix": " out ", "separator": " ; "}
PROMPTS = ["in cat out", "Task: label ; in dog out yes ; in sun out", "in red blue green out"]


@pytest.mark.check(points=1, timeout=60)
def test_build_prompt(student, reference):
    """icl.build_prompt: instruction, the examples in order, then the open query"""
    for fmt in ({}, FORMAT, {**FORMAT, "label_words": None}):
        assert_equal(student.call("probe:icl:prompt", SUPPORT, "moon", fmt),
                     reference.call("probe:icl:prompt", SUPPORT, "moon", fmt),
                     name=f"build_prompt(4 examples, 'moon', PromptFormat(**{fmt}))")


@pytest.mark.check(points=2, timeout=60)
def test_build_prompt_truncation(student, reference):
    """icl.build_prompt: too long → the earliest examples are dropped, never the query"""
    for budget in (30, 20, 12):
        assert_equal(student.call("probe:icl:prompt", SUPPORT, "moon", FORMAT, budget),
                     reference.call("probe:icl:prompt", SUPPORT, "moon", FORMAT, budget),
                     name=f"build_prompt(..., max_tokens={budget})")


@pytest.mark.check(points=2, timeout=90)
def test_score_candidates(student, reference):
    """icl.score_candidates: log p(candidate | prompt) for every prompt and candidate (tiny GPT-2)"""
    candidates = ["yes", "no", "one two", "maybe"]
    assert_close(student.call("probe:icl:scores", 0, PROMPTS, candidates),
                 reference.call("probe:icl:scores", 0, PROMPTS, candidates),
                 name="score_candidates(3 prompts, 4 candidates)", rtol=1e-4, atol=1e-4)


@pytest.mark.check(points=1, timeout=90)
def test_generate_answers(student, reference):
    """icl.generate_answers: greedy answers equal the reference (tiny GPT-2, prompts of different lengths)"""
    assert_equal(student.call("probe:icl:answers", 3, PROMPTS, 4), reference.call("probe:icl:answers", 3, PROMPTS, 4),
                 name="generate_answers(3 prompts, 4 new tokens)")

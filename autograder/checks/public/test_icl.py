"""Section 5 — in-context learning: prompts, label scoring and generated answers (public checks).

generate_answers is checked on its own: while it runs, the KV-cache loop it calls is replaced by the given
uncached loop (so a KV-cache bug is reported by the KV-cache checks), and that call is recorded.
"""

import pytest

from autograder.checks import assert_close, assert_equal, assert_true

SUPPORT = [["cat", "yes"], ["dog", "no"], ["sun", "yes"], ["sea", "no"]]
FORMAT = {"instruction": "Task: label ; ", "input_prefix": "in ", "output_prefix": " out ", "separator": " ; "}
PROMPTS = ["in cat out", "Task: label ; in dog out yes ; in sun out", "in red blue green out"]
LAYOUTS = ["gpt2", "llama"]


@pytest.mark.check(points=1, timeout=60)
def test_build_prompt(student, reference):
    """icl.build_prompt: instruction, the examples in order, then the open query"""
    for support, fmt in [(SUPPORT, {}), (SUPPORT, FORMAT), (SUPPORT, {**FORMAT, "label_words": None}),
                         ([], FORMAT), (SUPPORT[:1], {"input_prefix": "Q: ", "output_prefix": " A:"})]:
        assert_equal(student.call("probe:icl:build_prompt", support, "moon", fmt),
                     reference.call("probe:icl:build_prompt", support, "moon", fmt),
                     name=f"build_prompt({len(support)} examples, 'moon', PromptFormat(**{fmt}))")


@pytest.mark.check(points=1, timeout=60)
def test_label_words(student, reference):
    """icl.build_prompt: labels are written with the format's label words"""
    fmt = {"input_prefix": "in ", "output_prefix": " out ", "separator": " ; ", "label_words": {"0": "no", "1": "yes"}}
    support = [["cat", "1"], ["dog", "0"], ["sun", "1"]]
    assert_equal(student.call("probe:icl:build_prompt", support, "moon", fmt),
                 reference.call("probe:icl:build_prompt", support, "moon", fmt), name="build_prompt with label_words")


@pytest.mark.check(points=2, timeout=60)
def test_build_prompt_truncation(student, reference):
    """icl.build_prompt: longer than max_tokens → the earliest examples go, never the query or instruction"""
    budgets = list(range(7, 36))  # every boundary: a prompt of exactly max_tokens tokens fits
    got = student.call("probe:icl:build_prompt", SUPPORT, "moon", FORMAT, budgets)
    want = reference.call("probe:icl:build_prompt", SUPPORT, "moon", FORMAT, budgets)
    for budget, g, w in zip(budgets, got, want):
        assert_equal(g, w, name=f"build_prompt(4 examples, 'moon', max_tokens={budget})")
    assert_equal(student.call("probe:icl:build_prompt", SUPPORT, "moon", FORMAT, None, True),
                 reference.call("probe:icl:build_prompt", SUPPORT, "moon", FORMAT, None, True),
                 name="build_prompt(..., tokenizer=…, max_tokens=None): no budget, nothing dropped")


@pytest.mark.check(points=1, timeout=60)
def test_query_too_long(student):
    """icl.build_prompt: a query that cannot fit raises ValueError instead of being cut"""
    for budget in (3, 5):
        got = student.call("probe:icl:build_prompt", [["cat", "yes"]], "red blue green sky sea", {"output_prefix": " out"},
                           budget)
        assert_true(isinstance(got, dict) and got.get("raised") == "ValueError",
                    f"build_prompt(..., max_tokens={budget}) with a query of 6 tokens should raise ValueError, "
                    f"returned {got!r}")


@pytest.mark.check(points=2, timeout=90)
@pytest.mark.parametrize("layout", LAYOUTS)
def test_score_candidates(student, reference, layout):
    """icl.score_candidates: log p(candidate | prompt) for every prompt and candidate (tiny GPT-2 and Llama)"""
    candidates = ["yes", "no", "one two", "maybe"]
    assert_close(student.call("probe:icl:score_candidates", 0, PROMPTS, candidates, False, layout),
                 reference.call("probe:icl:score_candidates", 0, PROMPTS, candidates, False, layout),
                 name=f"score_candidates(tiny {layout}, 3 prompts, 4 candidates)", rtol=1e-4, atol=1e-4)


@pytest.mark.check(points=1, timeout=90)
def test_score_candidates_in_one_pass(student, reference):
    """icl.score_candidates: all N·C sequences go through the model in one batched forward pass"""
    candidates = ["yes", "no", "one two three"]
    got = student.call("probe:icl:score_candidates", 0, PROMPTS, candidates, report="cost")
    want = reference.call("probe:icl:score_candidates", 0, PROMPTS, candidates, report="cost")
    batches = [b for b, _ in got[0]]
    assert_true(batches == [b for b, _ in want[0]],
                f"score_candidates(3 prompts, 3 candidates) ran the model {len(batches)} time(s) with batches of "
                f"{batches}; it should run ONE batched pass over all 3·3 = 9 right-padded sequences")


@pytest.mark.check(points=2, timeout=90)
@pytest.mark.parametrize("layout", LAYOUTS)
def test_generate_answers(student, reference, layout):
    """icl.generate_answers: one left-padded batch through the KV-cache loop; answers equal the reference"""
    got = student.call("probe:icl:generate_answers", 3, PROMPTS, 4, False, layout)
    want = reference.call("probe:icl:generate_answers", 3, PROMPTS, 4, False, layout)
    assert_equal(len(got["calls"]), 1, name="number of calls of generate_with_cache for one batch of 3 prompts")
    call = got["calls"][0]
    assert_true(call["batch"] == 3 and call["mask_given"] and call["left_padded"],
                f"generate_answers should call generate_with_cache once on all 3 prompts, LEFT-padded, with their "
                f"attention_mask; it was called with a batch of {call['batch']}, "
                f"{'an' if call['mask_given'] else 'no'} attention_mask, "
                f"{'left' if call['left_padded'] else 'not left'} padding")
    assert_equal(got["answers"], want["answers"], name=f"generate_answers(tiny {layout}, 3 prompts, 4 new tokens)")


@pytest.mark.check(points=1, timeout=90)
def test_generate_answers_stop(student, reference):
    """icl.generate_answers: each answer is cut at `stop`"""
    plain = reference.call("probe:icl:generate_answers", 1, PROMPTS, 8, False, "gpt2")["answers"]
    # stop strings that do occur after the start of an answer, so that cutting changes something
    stops = sorted({w for a in plain for w in a.split()[1:]})[:2]
    for stop in stops:
        got = student.call("probe:icl:generate_answers", 1, PROMPTS, 8, False, "gpt2", stop)
        want = reference.call("probe:icl:generate_answers", 1, PROMPTS, 8, False, "gpt2", stop)
        assert_equal(got["answers"], want["answers"], name=f"generate_answers(3 prompts, 8 new tokens, stop={stop!r})")

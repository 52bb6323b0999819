"""Section 5's probes measure what they claim (the mistakes' gradings are in tests/mutants/icl.py, run by
tests/test_mutants.py): generate_answers is measured on its own, through the uncached loop, and its call of
the KV-cache loop is recorded. And the given fit_prompt is build_prompt, faster."""

import sys

import numpy as np
import pytest

from conftest import REPO, load_probe

sys.path.insert(0, str(REPO / "solutions"))


def test_generate_answers_probe_records_one_left_padded_call():
    icl_probe = load_probe("icl")
    import pretraining.icl as icl
    import pretraining.kv_cache as kv_cache

    original = kv_cache.generate_with_cache
    got = icl_probe.generate_answers(0, ["in cat out", "sky"], 3)
    assert got["calls"] == [{"batch": 2, "mask_given": True, "left_padded": True, "max_new_tokens": 3}]
    assert len(got["answers"]) == 2
    assert kv_cache.generate_with_cache is original and icl.generate_with_cache is original  # put back


def test_fit_prompt_gives_build_prompts_prompt_for_the_whole_support():
    """fit_prompt (given, used by notebook 05 for the course GPT's 128-token context) asks build_prompt of the
    last 1, 2, 4, … examples only: its prompt must be build_prompt's for the whole support whether one, about
    half, all or none of the examples fit, on real articles with the shipped tokenizer."""
    import pretraining.icl as icl
    from pretraining.pretrained import load_tokenizer
    from pretraining.topics import load_topics

    tok = load_tokenizer()
    fmt = icl.PromptFormat(instruction="Classify:\n\n", input_prefix="Article: ", output_prefix="\nTopic:",
                           separator="\n\n", label_words={0: " A", 1: " B", 2: " C", 3: " D"})
    articles = load_topics("train", ["Geography", "History"]).texts
    rng = np.random.default_rng(0)
    long_support = [(articles[i][:200], int(i % 4)) for i in rng.choice(len(articles), 100, replace=False)]
    short_support = [(f"w{i}", i % 4) for i in range(40)]
    cases = [(long_support, q[:200], 124) for q in articles[:10]]  # one or two articles fit
    cases += [(short_support, "w99", 124), (short_support, "w99", 125), (short_support[:7], "w9", 60)]  # some
    cases += [(short_support, "w99", 10_000), ([], "w99", 124), (long_support[:1], "w9", 124)]  # all, none
    kept = set()
    for support, query, max_tokens in cases:
        whole = icl.build_prompt(support, query, fmt, tokenizer=tok, max_tokens=max_tokens)
        assert icl.fit_prompt(support, query, fmt, tok, max_tokens) == whole, (len(support), query, max_tokens)
        kept.add(whole.count(fmt.output_prefix) - 1)
    assert {0, 1, 40}.issubset(kept) and any(1 < n < 40 for n in kept), kept  # the cases cover what they claim
    with pytest.raises(ValueError):  # the query alone does not fit: build_prompt's own error
        icl.fit_prompt(short_support, "w " * 200, fmt, tok, 124)


@pytest.mark.parametrize("candidates", [[" A", " B", " C"], [" Biology and health", " History of", " A"]])
def test_scores_after_a_cached_prefix_are_the_scores_of_each_whole_prompt(candidates):
    """score_after_prefix (given, notebook 05's scoring of SmolLM2) packs several rows into one sequence after
    the prefix's cache: each row must get what its whole prompt gets alone — queries of different lengths,
    one- and several-token candidates, packs that split the rows unevenly (batch sizes 1, 3 and all)."""
    import torch

    import pretraining.icl as icl
    from pretraining.pretrained import load_gpt, load_tokenizer

    tok, model = load_tokenizer("gpt"), load_gpt("gpt", device="cpu")
    prefix = "Classify each article.\n\nArticle: a cat\nTopic: A\n\nArticle: the war\nTopic: B\n\n"
    queries = [f"Article: {q}\nTopic:" for q in ("a dog and a bird", "kings", "the old map of the sea")]
    whole = icl.score_candidates(model, tok, [prefix + q for q in queries], candidates)  # (N, C)
    for batch_size in (1, 3, 64):
        packed = icl.score_after_prefix(model, tok, prefix, queries, candidates, batch_size=batch_size)
        torch.testing.assert_close(packed, whole, atol=1e-4, rtol=1e-4)

"""Section 5's probes measure what they claim (the mistakes' gradings are in tests/mutants/icl.py, run by
tests/test_mutants.py): generate_answers is measured on its own, through the uncached loop, and its call of
the KV-cache loop is recorded."""

from conftest import load_probe


def test_generate_answers_probe_records_one_left_padded_call():
    icl_probe = load_probe("icl")
    import pretraining.icl as icl
    import pretraining.kv_cache as kv_cache

    original = kv_cache.generate_with_cache
    got = icl_probe.generate_answers(0, ["in cat out", "sky"], 3)
    assert got["calls"] == [{"batch": 2, "mask_given": True, "left_padded": True, "max_new_tokens": 3}]
    assert len(got["answers"]) == 2
    assert kv_cache.generate_with_cache is original and icl.generate_with_cache is original  # put back

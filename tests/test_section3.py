"""Section 3's probes measure what they claim (their mistakes' gradings are in tests/mutants/autoregressive.py,
sampling.py and kv_cache.py, run by tests/test_mutants.py): the two references of sampling agree, and the
routines an exercise replaces raise however they are called."""

import pytest
import torch

from conftest import load_probe as probe


def test_transformers_warpers_agree_with_the_reference_filters():
    ar = probe("autoregressive")  # puts solutions/ on the path
    from pretraining import sampling

    logits = torch.randn(6, 30, generator=torch.Generator().manual_seed(0)) * 2
    for temperature, k, p in [(0.7, 5, None), (1.3, None, 0.8), (1.0, 8, 0.6)]:
        x = logits / temperature
        if k is not None:
            x = sampling.top_k_filter(x, k)
        if p is not None:
            x = sampling.top_p_filter(x, p)
        torch.testing.assert_close(ar.hf_distribution(logits, temperature, k, p), x.double().softmax(-1))


def test_forbidden_routines_raise_however_imported():
    ar = probe("autoregressive")
    from torch.nn.functional import scaled_dot_product_attention as sdpa  # imported by name: still seen

    q = torch.randn(1, 1, 3, 2)
    with pytest.raises(ar.ForbiddenRoutine, match="scaled_dot_product_attention"):
        with ar.Forbid({torch.nn.functional.scaled_dot_product_attention: "scaled_dot_product_attention"}, "x"):
            sdpa(q, q, q, is_causal=True)
    model = ar.forbid_generate(ar.tiny_lm(0, "llama"), "generate_with_cache")
    with pytest.raises(ar.ForbiddenRoutine, match="model.generate"):
        model.generate(torch.ones(1, 2, dtype=torch.long), max_new_tokens=1)


def test_attention_hooks_see_a_recomputed_prefix():
    ar = probe("autoregressive")
    for layout in ar.LAYOUTS:
        model = ar.tiny_lm(1, layout)
        with ar.record_attention(model) as log, torch.no_grad():
            model.base_model(torch.ones(2, 5, dtype=torch.long))
            model(torch.ones(2, 1, dtype=torch.long))
        assert log == [[(2, 5), (2, 1)]] * 2, (layout, log)

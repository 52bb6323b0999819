"""Section 4's probes measure what they claim (the mistakes' gradings are in tests/mutants/lora.py and
finetune.py, run by tests/test_mutants.py): peft's layer equals the reference LoRA, and the product recorder
sees a full A Bᵀ being formed."""

import torch

from conftest import load_probe as probe


def test_peft_equals_the_reference_lora_and_the_recorder_sees_full_products():
    ft = probe("finetune")
    g = torch.Generator().manual_seed(0)
    x, A, B = torch.randn(2, 5, 8, generator=g), torch.randn(6, 4, generator=g), torch.randn(8, 4, generator=g)
    for kind in ("linear", "conv1d"):
        ours = ft.LoRA_forward(4, x, kind, 4, 16.0, A, B)
        torch.testing.assert_close(ours["output"], ft.peft_output(4, x, kind, 4, 16.0, A, B), rtol=1e-4, atol=1e-4)
        assert ours["full_products"] == []
    with ft.Products([A, B]) as products:
        (A @ B.T).sum()
    assert products.shapes[:2] == [(4, 8), (6, 8)]

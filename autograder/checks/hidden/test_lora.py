"""Section 4 — LoRA layers: hidden checks (the public behaviours on other sizes, ranks and scales)."""

import numpy as np
import pytest

from autograder.checks import assert_close, assert_true, tensor
from autograder.checks.public.test_lora import KINDS, both, factors, lora_inputs


@pytest.mark.check(points=2, timeout=90)
@pytest.mark.parametrize("kind", KINDS)
def test_lora_other_sizes(student, reference, rng, kind):
    """lora: output, delta, merge and unmerge with other sizes (r = d_in, wide layers) and α"""
    for (d_in, d_out, r), alpha in [((4, 11, 4), 1.0), ((12, 3, 2), 32.0)]:
        x, A, B = lora_inputs(rng, (7,), d_in, d_out, r)
        got = student.call("probe:finetune:LoRA_forward", 7, x, kind, r, alpha, A, B)
        assert_close(got["output"], reference.call("probe:finetune:peft_output", 7, x, kind, r, alpha, A, B),
                     name=f"your LoRA on {kind} (d_in={d_in}, d_out={d_out}, r={r}) vs peft", rtol=1e-4, atol=1e-4)
        merged, want = both(student, reference, "probe:finetune:merge_and_unmerge", 7, x, kind, r, alpha, A, B)
        assert_true(merged["never_merged_error"] < 1e-6, f"unmerge() before any merge() changed the base weight by "
                                                         f"{merged['never_merged_error']:.3g}")
        assert_close(merged["weight_change"], want["weight_change"], name="base.weight after merge() − W₀",
                     rtol=1e-4, atol=1e-4)
        assert_close(merged["unmerged_twice"], want["before"], name="output after unmerge() twice", rtol=1e-4,
                     atol=1e-4)


@pytest.mark.check(points=2, timeout=60)
def test_conv1d_wrapper_transposed_layout(student, reference, rng):
    """lora.LoRAConv1D: equals x (W + (α/r)·B Aᵀ) + b computed explicitly in Conv1D's (d_in, d_out) layout"""
    x = rng.standard_normal((5, 8)).astype("float32")
    A, B = factors(rng, r=2)
    got = student.call("probe:finetune:LoRA_forward", 5, tensor(x), "conv1d", 2, 3.0, A, B)
    base = reference.call("probe:finetune:conv1d_weights", 5, 8, 6)
    delta = 1.5 * B.values @ A.values.T  # (d_in, d_out)
    expected = x @ (base["weight"].values + delta) + base["bias"].values
    assert_close(got["delta"].values.tolist(), delta.tolist(), name="LoRAConv1D.delta() (d_in, d_out)",
                 rtol=1e-4, atol=1e-5)
    assert_true(np.allclose(got["output"].values, expected, rtol=1e-4, atol=1e-4),
                "LoRAConv1D's output differs from x @ (W + (α/r)·B Aᵀ) + b: Conv1D stores W as (d_in, d_out)")

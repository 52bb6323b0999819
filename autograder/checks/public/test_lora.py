"""Section 4 — LoRA layers (public checks)."""

import pytest

from autograder.checks import assert_close, assert_equal, assert_true, tensor


def factors(rng, d_in=8, d_out=6, r=3):
    return tensor(rng.standard_normal((d_out, r)), "float32"), tensor(rng.standard_normal((d_in, r)), "float32")


@pytest.mark.check(points=2, timeout=60)
def test_lora_starts_as_the_base_layer(student, rng):
    """lora.LoRALinear: A (d_out, r) and B (d_in, r) train, the base is frozen, and A Bᵀ = 0 at first"""
    x = tensor(rng.standard_normal((4, 8)), "float32")
    got = student.call("probe:finetune:lora_init", 0, x, "linear", 3, 6.0)
    assert_equal(got["A_shape"], [6, 3], name="LoRALinear(nn.Linear(8, 6), r=3).A.shape")
    assert_equal(got["B_shape"], [8, 3], name="LoRALinear(nn.Linear(8, 6), r=3).B.shape")
    assert_equal(got["trainable"], ["A", "B"], name="names of the parameters that require a gradient")
    assert_true(got["B_nonzero"], "B is all zeros: with A zero too, no gradient could ever reach either factor")
    assert_true(abs(got["residual"].values).max() == 0, "at initialisation the wrapper's output must equal the base "
                "layer's exactly (A Bᵀ = 0), but it differs by up to "
                f"{abs(got['residual'].values).max():.3g}")


@pytest.mark.check(points=2, timeout=60)
def test_lora_output(student, reference, rng):
    """lora.LoRALinear: W₀x + b + (α/r)·A Bᵀx with given A, B"""
    x = tensor(rng.standard_normal((5, 8)), "float32")
    A, B = factors(rng)
    assert_close(student.call("probe:finetune:lora_output", 1, x, "linear", 3, 6.0, A, B),
                 reference.call("probe:finetune:lora_output", 1, x, "linear", 3, 6.0, A, B),
                 name="LoRALinear(r=3, alpha=6) with A, B set", rtol=1e-4, atol=1e-5)


@pytest.mark.check(points=2, timeout=60)
def test_lora_merge_and_unmerge(student, rng):
    """lora.LoRALinear.merge/unmerge: same outputs merged, and W₀ restored by unmerge"""
    x = tensor(rng.standard_normal((5, 8)), "float32")
    A, B = factors(rng)
    got = student.call("probe:finetune:lora_merge", 2, x, "linear", 3, 6.0, A, B)
    assert_close(got["merged"], got["before"], name="output after merge() vs before", rtol=1e-4, atol=1e-5)
    assert_close(got["merged_twice"], got["before"], name="output after calling merge() twice", rtol=1e-4, atol=1e-5)
    assert_close(got["unmerged"], got["before"], name="output after unmerge()", rtol=1e-4, atol=1e-5)
    assert_true(got["restored_error"] < 1e-5, f"unmerge() left the base weight {got['restored_error']:.3g} away from W₀")

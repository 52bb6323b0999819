"""Section 4 — LoRA layers: hidden checks, including equivalence with peft's LoRA."""

import numpy as np
import pytest

from autograder.checks import assert_close, assert_equal, assert_true, tensor


def factors(rng, d_in=8, d_out=6, r=3):
    return tensor(rng.standard_normal((d_out, r)), "float32"), tensor(rng.standard_normal((d_in, r)), "float32")


@pytest.mark.check(points=2, timeout=60)
def test_lora_gradients(student, rng):
    """lora.LoRALinear: A gets a gradient at the first step, both factors after one step, the base never"""
    x = tensor(rng.standard_normal((16, 8)), "float32")
    got = student.call("probe:finetune:lora_steps", 3, x, "linear", 2, 4.0)
    (a0, b0), (a1, b1) = got["grad_norms"]
    assert_true(a0 > 0, "no gradient reached A at the first step: is A Bᵀ x in the output, with B random?")
    assert_true(a1 > 0 and b1 > 0, f"after one step both factors must get gradients (|∇A| = {a1:.3g}, |∇B| = {b1:.3g})")
    assert_equal(got["base_grads"], [], name="base parameters that received a gradient")


@pytest.mark.check(points=2, timeout=90)
@pytest.mark.parametrize("kind", ["linear", "conv1d"])
def test_lora_equals_peft(student, reference, rng, kind):
    """lora: outputs equal peft's LoRA with the same W₀, A, B, α and r (nn.Linear and GPT-2's Conv1D)"""
    x = tensor(rng.standard_normal((2, 5, 8)), "float32")
    A, B = factors(rng, r=4)
    got = student.call("probe:finetune:lora_output", 4, x, kind, 4, 16.0, A, B)["output"]
    assert_close(got, reference.call("probe:finetune:peft_output", 4, x, kind, 4, 16.0, A, B),
                 name=f"your LoRA on {kind} vs peft (r=4, lora_alpha=16)", rtol=1e-4, atol=1e-4)


@pytest.mark.check(points=2, timeout=60)
def test_conv1d_wrapper_transposed_layout(student, reference, rng):
    """lora.LoRAConv1D: equals x (W + (α/r)·B Aᵀ) + b computed explicitly in Conv1D's (d_in, d_out) layout"""
    x = rng.standard_normal((5, 8)).astype("float32")
    A, B = factors(rng, r=2)
    got = student.call("probe:finetune:lora_output", 5, tensor(x), "conv1d", 2, 3.0, A, B)
    base = reference.call("probe:finetune:conv1d_weights", 5, 8, 6)
    delta = 1.5 * B.values @ A.values.T  # (d_in, d_out)
    expected = x @ (base["weight"].values + delta) + base["bias"].values
    assert_close(got["delta"].values.tolist(), delta.tolist(), name="LoRAConv1D.delta() (d_in, d_out)",
                 rtol=1e-4, atol=1e-5)
    assert_true(np.allclose(got["output"].values, expected, rtol=1e-4, atol=1e-4),
                "LoRAConv1D's output differs from x @ (W + (α/r)·B Aᵀ) + b: Conv1D stores W as (d_in, d_out)")


@pytest.mark.check(points=1, timeout=60)
def test_conv1d_merge(student, reference, rng):
    """lora.LoRAConv1D.merge: the base weight moves by exactly the change, in Conv1D's layout"""
    x = tensor(rng.standard_normal((3, 8)), "float32")
    A, B = factors(rng, r=2)
    got = student.call("probe:finetune:lora_merge", 6, x, "conv1d", 2, 3.0, A, B)
    want = reference.call("probe:finetune:lora_merge", 6, x, "conv1d", 2, 3.0, A, B)
    assert_close(got["weight_change"], want["weight_change"], name="base.weight after merge() − W₀",
                 rtol=1e-4, atol=1e-5)
    assert_close(got["merged"], want["before"], name="output after merge()", rtol=1e-4, atol=1e-4)

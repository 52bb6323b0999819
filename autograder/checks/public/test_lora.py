"""Section 4 — LoRA layers (public checks): nn.Linear and GPT-2's Conv1D, several sizes and ranks."""

import numpy as np
import pytest

from autograder.checks import assert_close, assert_equal, assert_true, tensor

SIZES = [(8, 6, 3), (5, 9, 1)]  # (d_in, d_out, r)
KINDS = ["linear", "conv1d"]


def factors(rng, d_in=8, d_out=6, r=3):
    """Random LoRA factors A (d_out, r) and B (d_in, r), float32 tensors."""
    return tensor(rng.standard_normal((d_out, r)), "float32"), tensor(rng.standard_normal((d_in, r)), "float32")


def lora_inputs(rng, lead: tuple, d_in: int, d_out: int, r: int):
    """Random inputs x (*lead, d_in) and factors A (d_out, r), B (d_in, r), float32 tensors."""
    x = tensor(rng.standard_normal((*lead, d_in)), "float32")
    return (x, *factors(rng, d_in, d_out, r))


def both(student, reference, probe: str, *args):
    """What ``probe`` returns with your code and with the reference, given the same arguments."""
    return student.call(probe, *args), reference.call(probe, *args)


@pytest.mark.check(points=2, timeout=60)
@pytest.mark.parametrize("kind", KINDS)
def test_lora_starts_as_the_base_layer(student, rng, kind):
    """lora.LoRALinear: A (d_out, r) = 0 and B (d_in, r) random train, the base is frozen, output = base's"""
    for d_in, d_out, r in SIZES:
        x = tensor(rng.standard_normal((4, d_in)), "float32")
        got = student.call("probe:finetune:new_LoRA_layer", 0, x, kind, r, 2.0 * r, d_out)
        what = f"{'LoRALinear(nn.Linear' if kind == 'linear' else 'LoRAConv1D(Conv1D'}({d_in} → {d_out}), r={r})"
        assert_equal(got["A_shape"], [d_out, r], name=f"{what}.A.shape")
        assert_equal(got["B_shape"], [d_in, r], name=f"{what}.B.shape")
        assert_equal(got["trainable"], ["A", "B"], name=f"names of {what}'s parameters that require a gradient")
        assert_true(got["A_zero"], f"{what}: A must start at zero, so that A Bᵀ = 0 and the model starts as the "
                                   "pre-trained one")
        assert_true(got["B_nonzero"] and got["B_distinct"] > 1, f"{what}: B must start random (it is "
                    f"{'all zeros' if not got['B_nonzero'] else 'one repeated value'}): with A = 0, the gradient "
                    "of A is (α/r)·g (Bᵀx)ᵀ, which needs a random B")
        assert_true(abs(got["residual"].values).max() == 0, f"{what}: at initialisation the wrapper's output must "
                    f"equal the base layer's exactly, but differs by up to {abs(got['residual'].values).max():.3g}")
        assert_true(got["merged"] is False, f"{what}.merged should be False before merge() is called")


@pytest.mark.check(points=2, timeout=60)
@pytest.mark.parametrize("kind", KINDS)
def test_lora_output(student, reference, rng, kind):
    """lora.LoRALinear.forward: W₀x + b + (α/r)·A(Bᵀx) with given A, B, by two thin products"""
    for (d_in, d_out, r), alpha, lead in [((8, 6, 3), 6.0, (5,)), ((5, 9, 1), 3.0, (2, 3))]:
        x, A, B = lora_inputs(rng, lead, d_in, d_out, r)
        got, want = both(student, reference, "probe:finetune:LoRA_forward", 1, x, kind, r, alpha, A, B)
        what = f"{kind} wrapper (d_in={d_in}, d_out={d_out}, r={r}, alpha={alpha:g}), x {(*lead, d_in)}"
        assert_close(got["output"], want["output"], name=f"output of the {what}", rtol=1e-4, atol=1e-5)
        assert_true(got["full_products"] == [], f"the forward pass of the {what} formed a full {d_out}×{d_in} "
                    "matrix from A and B: compute (x B) Aᵀ — two thin products, r·(d_in + d_out) per token")


@pytest.mark.check(points=1, timeout=60)
@pytest.mark.parametrize("kind", KINDS)
def test_lora_delta(student, reference, rng, kind):
    """lora.LoRALinear.delta and LoRAConv1D.delta: (α/r)·A Bᵀ in each layer's own weight layout"""
    for d_in, d_out, r in SIZES:
        x, A, B = lora_inputs(rng, (2,), d_in, d_out, r)
        got, want = both(student, reference, "probe:finetune:LoRA_forward", 2, x, kind, r, 4.0, A, B)
        layout = "(d_out, d_in), nn.Linear's layout" if kind == "linear" else "(d_in, d_out), Conv1D's layout"
        assert_close(got["delta"], want["delta"], name=f"delta() of the {kind} wrapper, {layout}", rtol=1e-5, atol=1e-6)


@pytest.mark.check(points=2, timeout=60)
@pytest.mark.parametrize("kind", KINDS)
def test_lora_merge_and_unmerge(student, reference, rng, kind):
    """lora.LoRALinear.merge/unmerge: the weight moves by delta once, same outputs; unmerge restores W₀ once"""
    for d_in, d_out, r in SIZES:
        x, A, B = lora_inputs(rng, (5,), d_in, d_out, r)
        got, want = both(student, reference, "probe:finetune:merge_and_unmerge", 2, x, kind, r, 6.0, A, B)
        at = f" ({kind}, d_in={d_in}, d_out={d_out}, r={r})"
        assert_true(got["never_merged_error"] < 1e-6, f"unmerge() before any merge() changed the base weight by "
                                                      f"{got['never_merged_error']:.3g}{at}")
        assert_close(got["weight_change"], want["weight_change"], name=f"base.weight after merge() − W₀{at}",
                     rtol=1e-4, atol=1e-5)
        assert_close(got["merged"], got["before"], name=f"output after merge() vs before{at}", rtol=1e-4, atol=1e-5)
        assert_true(not got["merged_forward_uses_factors"], f"after merge() the forward pass still used A and B{at}: "
                    "merged, the change is in base.weight and one matrix product suffices")
        assert_close(got["weight_change_twice"], want["weight_change"],
                     name=f"base.weight after calling merge() twice − W₀ (merging twice must add the change once){at}",
                     rtol=1e-4, atol=1e-5)
        assert_close(got["merged_twice"], got["before"], name=f"output after calling merge() twice{at}",
                     rtol=1e-4, atol=1e-5)
        assert_equal(got["flags"], [False, True, False], name=f"merged before, after merge(), after unmerge(){at}")
        assert_close(got["unmerged"], got["before"], name=f"output after unmerge(){at}", rtol=1e-4, atol=1e-5)
        assert_true(got["restored_error"] < 1e-5, f"unmerge() left the base weight {got['restored_error']:.3g} away "
                                                  f"from W₀{at}")
        assert_true(got["restored_twice_error"] < 1e-5, f"calling unmerge() twice moved the base weight "
                    f"{got['restored_twice_error']:.3g} away from W₀ (it must subtract the change once){at}")
        assert_close(got["unmerged_twice"], got["before"], name=f"output after calling unmerge() twice{at}",
                     rtol=1e-4, atol=1e-5)
        assert_close(got["remerged"], got["before"], name=f"output after merge(), unmerge(), merge(){at}",
                     rtol=1e-4, atol=1e-5)


@pytest.mark.check(points=2, timeout=90)
@pytest.mark.parametrize("kind", KINDS)
def test_lora_equals_peft(student, reference, rng, kind):
    """lora: outputs equal peft's LoRA with the same W₀, A, B, α and r (nn.Linear and GPT-2's Conv1D)"""
    x = tensor(rng.standard_normal((2, 5, 8)), "float32")
    A, B = factors(rng, r=4)
    got = student.call("probe:finetune:LoRA_forward", 4, x, kind, 4, 16.0, A, B)["output"]
    assert_close(got, reference.call("probe:finetune:peft_output", 4, x, kind, 4, 16.0, A, B),
                 name=f"your LoRA on {kind} vs peft (r=4, lora_alpha=16)", rtol=1e-4, atol=1e-4)


@pytest.mark.check(points=1, timeout=60)
def test_lora_gradients(student, rng):
    """lora.LoRALinear: A gets a gradient at the first step, both factors after one step, the base never"""
    x = tensor(rng.standard_normal((16, 8)), "float32")
    got = student.call("probe:finetune:LoRA_training_steps", 3, x, "linear", 2, 4.0)
    (a0, b0), (a1, b1) = got["grad_norms"]
    assert_true(a0 > 0, "no gradient reached A at the first step: is A Bᵀ x in the output, with B random?")
    assert_true(a1 > 0 and b1 > 0, f"after one step both factors must get gradients (|∇A| = {a1:.3g}, |∇B| = {b1:.3g})")
    assert_equal(got["base_grads"], [], name="base parameters that received a gradient")

"""Section 4 — choosing what to fine-tune: hidden checks (other depths, orders of modes, frozen means frozen)."""

import numpy as np
import pytest

from autograder.checks import assert_close, assert_equal, attention_mask, tensor

MODES = ["all", "head", "first", "middle", "last", "lora"]


@pytest.mark.check(points=2, timeout=120)
@pytest.mark.parametrize("kind", ["gpt2", "bert", "llama"])
def test_every_mode(student, reference, kind):
    """finetune.set_trainable and count_parameters: every mode on backbones of 3 and 5 blocks, modes in a row"""
    for blocks, before in [(3, None), (5, ["lora", "first"])]:
        for mode in MODES:
            got, want = (side.call("probe:finetune:set_trainable", 1, kind, mode, blocks, before)
                         for side in (student, reference))
            assert_equal(got["names"], want["names"],
                         name=f"trainable parameters of the {kind} classifier ({blocks} blocks), mode {mode!r}")
            assert_equal(got["count"], want["count"], name=f"count_parameters, {kind}, mode {mode!r}")


@pytest.mark.check(points=1, timeout=30)
def test_pool_other_batches(student, reference, rng):
    """finetune.pool: other batches, both sides of padding"""
    for side in ("left", "right"):
        hidden = tensor(rng.standard_normal((5, 7, 2)), "float32")
        mask = tensor(attention_mask(rng, 5, 7, side), "int64")
        for how in ("last", "mean"):
            assert_close(student.call("finetune.pool", hidden, mask, how),
                         reference.call("finetune.pool", hidden, mask, how),
                         name=f"pool(hidden, attention_mask with {side} padding, {how!r})", rtol=1e-6, atol=1e-7)


@pytest.mark.check(points=2, timeout=120)
@pytest.mark.parametrize("mode", ["middle", "lora"])
def test_frozen_means_frozen(student, reference, rng, mode):
    """finetune.set_trainable: after a training step, only the mode's parameters have gradients or changed"""
    ids = tensor(rng.integers(1, 40, (4, 7)), "int64")
    mask = tensor(np.ones((4, 7)), "int64")
    labels = tensor(rng.integers(0, 3, 4), "int64")
    got = student.call("probe:finetune:training_step", 2, "gpt2", mode, ids, mask, labels, 4)
    want = reference.call("probe:finetune:training_step", 2, "gpt2", mode, ids, mask, labels, 4)
    assert_equal(got["with_grad"], want["with_grad"], name=f"parameters with a gradient after backward (mode {mode!r})")
    assert_equal(got["changed"], want["changed"], name=f"parameters changed by one Adam step (mode {mode!r})")

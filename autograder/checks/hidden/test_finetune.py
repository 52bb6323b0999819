"""Section 4 — choosing what to fine-tune: hidden checks (every mode, two architectures, frozen means frozen)."""

import numpy as np
import pytest

from autograder.checks import assert_close, assert_equal, tensor

MODES = ["all", "head", "first", "middle", "last", "lora"]


@pytest.mark.check(points=3, timeout=120)
@pytest.mark.parametrize("kind", ["gpt2", "bert"])
def test_every_mode(student, reference, kind):
    """finetune.set_trainable and count_parameters: every mode, GPT-2 and BERT backbones"""
    for mode in MODES:
        got, want = (side.call("probe:finetune:trainable", 1, kind, mode) for side in (student, reference))
        assert_equal(got["names"], want["names"], name=f"trainable parameters of the {kind} classifier, mode {mode!r}")
        assert_equal(got["count"], want["count"], name=f"count_parameters, {kind}, mode {mode!r}")


@pytest.mark.check(points=1, timeout=30)
def test_pool_last_with_left_padding(student, reference, rng):
    """finetune.pool: "last" with left padding is the final position"""
    hidden = tensor(rng.standard_normal((3, 5, 4)), "float32")
    mask = tensor(np.array([[0, 0, 1, 1, 1], [1, 1, 1, 1, 1], [0, 0, 0, 0, 1]]), "int64")
    assert_close(student.call("finetune.pool", hidden, mask, "last"), reference.call("finetune.pool", hidden, mask, "last"),
                 name="pool(hidden, attention_mask with left padding, 'last')", rtol=0, atol=0)


@pytest.mark.check(points=2, timeout=120)
@pytest.mark.parametrize("mode", ["middle", "lora"])
def test_frozen_means_frozen(student, reference, rng, mode):
    """finetune.set_trainable: after a training step, only the mode's parameters have gradients or changed"""
    ids = tensor(rng.integers(1, 40, (4, 7)), "int64")
    mask = tensor(np.ones((4, 7)), "int64")
    labels = tensor(rng.integers(0, 3, 4), "int64")
    got = student.call("probe:finetune:one_step", 2, "gpt2", mode, ids, mask, labels)
    want = reference.call("probe:finetune:one_step", 2, "gpt2", mode, ids, mask, labels)
    assert_equal(got["with_grad"], want["with_grad"], name=f"parameters with a gradient after backward (mode {mode!r})")
    assert_equal(got["changed"], want["changed"], name=f"parameters changed by one Adam step (mode {mode!r})")

"""Section 4 — choosing what to fine-tune (public checks)."""

import numpy as np
import pytest

from autograder.checks import assert_close, assert_equal, tensor


@pytest.mark.check(points=2, timeout=30)
def test_pool_cls_and_last(student, reference, rng):
    """finetune.pool: [CLS] is position 0; "last" is each row's last real token (right padding)"""
    hidden = tensor(rng.standard_normal((3, 6, 4)), "float32")
    mask = tensor(np.array([[1, 1, 1, 1, 1, 1], [1, 1, 1, 0, 0, 0], [1, 0, 0, 0, 0, 0]]), "int64")
    for how in ("cls", "last"):
        assert_close(student.call("finetune.pool", hidden, mask, how), reference.call("finetune.pool", hidden, mask, how),
                     name=f"pool(hidden (3, 6, 4), attention_mask, {how!r})", rtol=0, atol=0)


@pytest.mark.check(points=2, timeout=90)
@pytest.mark.parametrize("mode", ["head", "last"])
def test_set_trainable(student, reference, mode):
    """finetune.set_trainable: exactly the mode's parameters train (tiny GPT-2 classifier)"""
    got, want = (side.call("probe:finetune:trainable", 0, "gpt2", mode) for side in (student, reference))
    assert_equal(got["names"], want["names"], name=f"trainable parameters after set_trainable(model, {mode!r})")
    assert_equal(got["count"], want["count"], name="count_parameters(model) → (trainable, total)")

"""Section 4 — choosing what to fine-tune (public checks): pooling, every mode on backbones of 2 and 4 blocks,
and counting parameters (a tied weight counted once, buffers not at all)."""

import numpy as np
import pytest

from autograder.checks import assert_close, assert_equal, attention_mask, tensor

MODES = ["all", "head", "first", "middle", "last", "lora"]


@pytest.mark.check(points=2, timeout=30)
@pytest.mark.parametrize("side", ["right", "left"])
def test_pool(student, reference, rng, side):
    """finetune.pool: "cls" is position 0; "last" each row's last real token; "mean" the mean of its real tokens"""
    for B, T, D in [(3, 6, 4), (4, 5, 3), (2, 1, 5)]:
        hidden = tensor(rng.standard_normal((B, T, D)), "float32")
        mask = tensor(attention_mask(rng, B, T, side), "int64")
        for how in ("cls", "last", "mean"):
            assert_close(student.call("finetune.pool", hidden, mask, how),
                         reference.call("finetune.pool", hidden, mask, how),
                         name=f"pool(hidden {(B, T, D)}, attention_mask with {side} padding, {how!r})",
                         rtol=1e-6 if how == "mean" else 0, atol=1e-7 if how == "mean" else 0)


@pytest.mark.check(points=1, timeout=120)
@pytest.mark.parametrize("mode", MODES)
def test_set_trainable(student, reference, mode):
    """finetune.set_trainable: exactly the mode's parameters train (GPT-2 of 4 blocks, BERT of 2, set twice)"""
    for kind, blocks, before in [("gpt2", 4, None), ("bert", 2, None), ("gpt2", 2, ["all"])]:
        got, want = (side.call("probe:finetune:set_trainable", 0, kind, mode, blocks, before)
                     for side in (student, reference))
        after = f", after set_trainable(model, {before[0]!r})" if before else ""
        assert_equal(got["names"], want["names"],
                     name=f"trainable parameters after set_trainable(model, {mode!r}) ({kind}, {blocks} blocks{after})")
        assert_equal(got["count"], want["count"], name=f"count_parameters(model) → (trainable, total) ({kind}, "
                                                       f"{blocks} blocks, mode {mode!r})")


@pytest.mark.check(points=1, timeout=60)
def test_count_parameters(student, reference):
    """finetune.count_parameters: (trainable, total), a shared tensor counted once, buffers not counted"""
    for args in [(0, 11, 4, False), (1, 13, 6, True), (2, 17, 8, True, True)]:
        what = "a tiny GPT-2 LM (tied embeddings)" if len(args) > 4 else "a model with a tied weight and a buffer"
        assert_equal(student.call("probe:finetune:count_parameters", *args),
                     reference.call("probe:finetune:count_parameters", *args),
                     name=f"count_parameters({what}{', part frozen' if args[3] else ''})")

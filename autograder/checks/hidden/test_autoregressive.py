"""Section 3 — autoregressive models: hidden checks."""

import numpy as np
import pytest

from autograder.checks import assert_close, assert_true, tensor


def padded_batch(rng, B=4, T=9, V=13):
    logits = tensor(rng.standard_normal((B, T, V)), "float32")
    ids = rng.integers(1, V, (B, T))
    mask = np.ones((B, T), dtype=np.int64)
    for b, length in enumerate([9, 6, 3, 2][:B]):  # right padding of different lengths
        mask[b, length:] = 0
        ids[b, length:] = 0
    return logits, tensor(ids, "int64"), tensor(mask, "int64")


@pytest.mark.check(points=2, timeout=30)
def test_next_token_loss_ignores_padding(student, reference, rng):
    """autoregressive.next_token_loss: padding is never a target (attention_mask given)"""
    logits, ids, mask = padded_batch(rng)
    assert_close(student.call("autoregressive.next_token_loss", logits, ids, mask),
                 reference.call("autoregressive.next_token_loss", logits, ids, mask),
                 name="next_token_loss(logits, input_ids, attention_mask) with right padding", rtol=1e-5)


@pytest.mark.check(points=2, timeout=30)
def test_next_token_loss_gradient(student, reference, rng):
    """autoregressive.next_token_loss: no gradient reaches the last position or positions before padding"""
    logits, ids, mask = padded_batch(rng)
    got = student.call("probe:autoregressive:loss_gradient", logits, ids, mask)
    want = reference.call("probe:autoregressive:loss_gradient", logits, ids, mask)
    silent = np.abs(want.values).sum(-1) == 0  # (B, T): positions whose prediction is not a target
    assert_true(np.abs(got.values).sum(-1)[silent].max() == 0,
                "next_token_loss sends gradient to positions that predict nothing: the last position of a row "
                "(no next token) or positions whose next token is padding")
    assert_close(got, want, name="d next_token_loss / d logits", rtol=1e-4, atol=1e-7)


@pytest.mark.check(points=2, timeout=120)
def test_autoregressive_is_a_masked_autoencoder(student, reference, rng):
    """autoregressive.masked_autoencoder_loss: equals the one-pass next-token loss on a tiny GPT-2"""
    ids = tensor(rng.integers(1, 50, (2, 10)), "int64")
    got = student.call("probe:autoregressive:ar_losses", 3, ids)
    want = reference.call("probe:autoregressive:ar_losses", 3, ids)
    assert_close(got["masked_autoencoder_loss"], want["masked_autoencoder_loss"],
                 name="masked_autoencoder_loss(tiny GPT-2, input_ids (2, 10))", rtol=1e-4)
    assert_close(got["masked_autoencoder_loss"], got["next_token_loss"],
                 name="masked_autoencoder_loss vs your next_token_loss on the same model", rtol=1e-4)

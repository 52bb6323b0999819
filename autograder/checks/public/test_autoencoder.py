"""Section 1 — autoencoders: public checks (students run these with `python -m autograder check`)."""

import pytest

from autograder.checks import assert_close, tensor


@pytest.mark.check(points=2, timeout=30)
def test_reconstruction_loss_mean(student, reference, rng):
    """autoencoder.reconstruction_loss: mean over a batch of flattened images"""
    x = tensor(rng.random((16, 64), dtype="float32"))
    x_hat = tensor(rng.random((16, 64), dtype="float32"))
    got = student.call("autoencoder.reconstruction_loss", x, x_hat)
    want = reference.call("autoencoder.reconstruction_loss", x, x_hat)
    assert_close(got, want, name="reconstruction_loss(x, x_hat) with x of shape (16, 64)", rtol=1e-5)

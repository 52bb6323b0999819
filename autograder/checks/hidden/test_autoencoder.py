"""Section 1 — autoencoders: hidden checks (never in the student release)."""

import pytest

from autograder.checks import assert_close, tensor


@pytest.mark.check(points=2, timeout=30)
def test_reconstruction_loss_per_example_images(student, reference, rng):
    """autoencoder.reconstruction_loss: per-example sums over (C, H, W) images, reduction='none'"""
    x = tensor(rng.standard_normal((5, 1, 8, 8)).astype("float64"))
    x_hat = tensor(rng.standard_normal((5, 1, 8, 8)).astype("float64"))
    got = student.call("autoencoder.reconstruction_loss", x, x_hat, reduction="none")
    want = reference.call("autoencoder.reconstruction_loss", x, x_hat, reduction="none")
    assert_close(got, want, name="reconstruction_loss(x, x_hat, reduction='none') with x of shape (5, 1, 8, 8)",
                 rtol=1e-7)

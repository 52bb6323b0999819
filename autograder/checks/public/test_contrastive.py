"""Section 0 — contrastive learning: public checks (students run these with `python -m autograder check`)."""

import numpy as np
import pytest

from autograder.checks import assert_close, assert_true, digits_like, tensor, weights


def orthonormal_pairs(rng, n, d, dtype="float64"):
    """(2N, D): N random orthonormal rows (up to a random positive scale each), then the same rows again."""
    q, _ = np.linalg.qr(rng.standard_normal((d, n)))  # (D, N), orthonormal columns
    e = q.T * rng.uniform(0.5, 3.0, size=(n, 1))
    return np.concatenate([e, e * rng.uniform(0.5, 3.0, size=(n, 1))]).astype(dtype)


# ----------------------------------------------------------------------------------------------------------
# augment


@pytest.mark.check(points=2, timeout=30)
def test_contrastive_augment_values(student, reference, rng):
    """contrastive.augment: the views of a seeded generator (shape, dtype, values); the input unchanged"""
    x = digits_like(rng, (12, 1, 8, 8))
    got, want = (side.call("probe:contrastive:augment_seeded", x, 7, {}) for side in (student, reference))
    assert_true(got["input_unchanged"], "augment modified its input images in place; build a new tensor instead "
                                        "(e.g. warped + noise_std * eps, not images.add_(…))")
    assert_close(got["view"], want["view"], name="augment(x, generator seeded 7) with x of shape (12, 1, 8, 8), "
                 "default strengths (draw angle, s, shift, eps in the docstring's order)", rtol=1e-4, atol=1e-5)


@pytest.mark.check(points=2, timeout=30)
def test_contrastive_augment_random_and_repeatable(student, rng):
    """contrastive.augment: same seed → same views; new draws on every call and for every image; pixels in [0, 1]"""
    one = np.clip(1.4 * rng.random((1, 1, 8, 8)) - 0.2, 0, 1)
    x = tensor(np.repeat(one, 6, axis=0), "float32")  # six copies of one image
    got = student.call("probe:contrastive:augment_replays", x, 3)
    assert_true(got["shape"] == [6, 1, 8, 8] and got["dtype"] == "float32",
                f"augment(x) with x float32 of shape (6, 1, 8, 8) returned {got['dtype']} of shape {got['shape']}")
    assert_true(got["same_seed_equal"], "two generators with the same seed gave different views: draw every random "
                                        "number from `generator` (torch.rand(…, generator=generator)), none from "
                                        "torch's global random state")
    assert_true(not got["other_seed_equal"], "generators with different seeds gave the same views: the views must "
                                             "come from the generator's random numbers")
    assert_true(not got["consecutive_equal"], "two calls of augment with the same generator gave the same views; each "
                                              "call must draw new numbers (the two views of SimCLR must differ)")
    assert_true(all(got["rows_differ"]), "six copies of one image got identical views: draw one angle, zoom and shift "
                                         "per image (shape (B,) and (B, 2)), not one for the whole batch")
    assert_true(0 <= got["min"] and got["max"] <= 1, f"augment's views have pixels in [{got['min']:.3f}, "
                                                     f"{got['max']:.3f}]; clamp them to [0, 1]")


# ----------------------------------------------------------------------------------------------------------
# nt_xent_loss


@pytest.mark.check(points=3, timeout=30)
def test_contrastive_nt_xent_values_and_gradient(student, reference, rng):
    """contrastive.nt_xent_loss: value and gradient for random z of shape (2·8, 16), τ = 0.5"""
    z = tensor(rng.standard_normal((16, 16)), "float32")
    got, want = (side.call("probe:contrastive:nt_xent", z, 0.5) for side in (student, reference))
    name = "nt_xent_loss(z, 0.5) with z of shape (16, 16)"
    assert_close(got["loss"], want["loss"], name=name, rtol=1e-5, atol=1e-6)
    assert_true(got["grad"] is not None, f"{name}: no gradient reached z; compute the loss from z itself")
    assert_close(got["grad"], want["grad"], name=f"the gradient of {name} with respect to z", rtol=1e-4, atol=1e-6)


@pytest.mark.check(points=2, timeout=30)
def test_contrastive_nt_xent_positive_pair_is_row_i_plus_n(student, rng):
    """contrastive.nt_xent_loss: perfectly aligned pairs (rows i, i + N) against orthogonal negatives give the
    closed-form minimum log(1 + (2N − 2)·e^(−1/τ))"""
    n, d, tau = 5, 12, 0.2
    z = orthonormal_pairs(rng, n, d)
    got = student.call("probe:contrastive:nt_xent", tensor(z), tau)
    want = np.log1p((2 * n - 2) * np.exp(-1 / tau))
    assert_close(float(got["loss"].values), float(want),
                 name=f"nt_xent_loss(z, {tau}) where row i + N is row i rescaled and all other rows are orthogonal "
                      f"(N = {n}): row i's positive is row (i + N) mod 2N, its negatives the other 2N − 2 rows "
                      "(not itself), rows are normalised first", rtol=1e-6, atol=1e-9)


@pytest.mark.check(points=2, timeout=30)
def test_contrastive_nt_xent_symmetric_and_pairs_matter(student, rng):
    """contrastive.nt_xent_loss: swapping the two views or reordering whole pairs changes nothing; breaking
    the pairs raises the loss"""
    n = 6
    base = rng.standard_normal((n, 8))
    z = np.concatenate([base, base + 0.3 * rng.standard_normal((n, 8))])  # pairs close together
    perm = [int(i) for i in np.roll(np.arange(n), 2)]
    got = student.call("probe:contrastive:nt_xent_rearranged", tensor(z, "float64"), 0.5, perm)
    for key, what in (("swapped", "with its two halves swapped (view 1 ↔ view 2)"),
                      ("pairs_permuted", "with the same permutation of the N examples applied to both halves")):
        assert_close(got[key], got["loss"], name=f"nt_xent_loss of z {what}, against nt_xent_loss(z) — use both "
                     "directions of every pair, averaged over all 2N rows", rtol=1e-9, atol=1e-12)
    assert_true(got["pairs_broken"] > got["loss"] + 0.1,
                f"breaking the positive pairs (second half reordered) changed the loss from {got['loss']:.4f} to "
                f"{got['pairs_broken']:.4f}; it should rise: row i's positive is row i + N")


@pytest.mark.check(points=2, timeout=30)
def test_contrastive_nt_xent_small_temperature_stable(student, reference, rng):
    """contrastive.nt_xent_loss: τ = 0.01 on large float32 embeddings stays finite and matches float64"""
    z = 1e3 * rng.standard_normal((20, 8))
    z[10:] = z[:10] + 50 * rng.standard_normal((10, 8))  # similar pairs: logits near 1/τ = 100
    got = student.call("probe:contrastive:nt_xent", tensor(z, "float32"), 0.01)
    want = reference.call("probe:contrastive:nt_xent", tensor(z, "float64"), 0.01)
    name = "nt_xent_loss(z, 0.01) with float32 z of shape (20, 8) and norms near 1000"
    assert_true(got["finite"], f"{name} is not finite: exp(100) overflows float32. Subtract each row's maximum "
                               "before exponentiating (log-sum-exp), or use F.cross_entropy / torch.logsumexp")
    assert_close(float(got["loss"].values), float(want["loss"].values), name=f"{name}, against float64",
                 rtol=1e-3, atol=1e-3)


# ----------------------------------------------------------------------------------------------------------
# SimCLR.forward and simclr_loss


@pytest.mark.check(points=2, timeout=30)
def test_contrastive_simclr_forward_h_and_z(student, reference, rng):
    """contrastive.SimCLR.forward: (h, z) = (encoder(x), head(h)); gradients of z reach the encoder"""
    enc = weights(rng, [(12, 64), (12,)], scale=0.2)
    head = weights(rng, [(16, 12), (16,), (6, 16), (6,)])
    x = digits_like(rng, (5, 1, 8, 8))
    gh, gz = tensor(rng.standard_normal((5, 12)), "float32"), tensor(rng.standard_normal((5, 6)), "float32")
    sizes = {"projection_dim": 6, "hidden_dim": 16}
    got, want = (side.call("probe:contrastive:simclr_forward", enc, head, x, gh, gz, sizes)
                 for side in (student, reference))
    assert_true(got["returns_pair"], "SimCLR.forward should return a pair (h, z)")
    name = "SimCLR(encoder, 12, projection_dim=6, hidden_dim=16)"
    assert_close(got["h"], want["h"], name=f"h of {name}(x): the encoder's output, before the head", rtol=1e-5,
                 atol=1e-6)
    assert_close(got["z"], want["z"], name=f"z of {name}(x): self.head(h)", rtol=1e-5, atol=1e-6)
    assert_true(got["encoder_grads"][0] is not None, "no gradient reached the encoder through SimCLR.forward: "
                                                     "do not detach h, and compute z from the same h")
    assert_close(got["encoder_grads"], want["encoder_grads"], name=f"the encoder's gradients through {name}",
                 rtol=1e-4, atol=1e-6)


@pytest.mark.check(points=2, timeout=30)
def test_contrastive_simclr_loss_values(student, reference, rng):
    """contrastive.simclr_loss: two views, first all first views then all second views, one model call, NT-Xent on z"""
    w, b, v = weights(rng, [(10, 64), (10,), (10, 8)], scale=0.3)
    x = digits_like(rng, (6, 1, 8, 8))
    args = (w, b, v, x, 11, 0.5, {})
    got, want = (side.call("probe:contrastive:simclr_loss_report", *args) for side in (student, reference))
    assert_true(got["input_unchanged"], "simclr_loss modified the images it was given")
    assert_true(got["views_are_images"] is not True, "simclr_loss gave the model the images themselves: "
                                                     "give it two augmented views, augment(images, generator) twice")
    assert_true(got["views_identical"] is not True, "both halves of the model's batch are the same view: call "
                                                    "augment twice, so that the second view is a new draw")
    name = "simclr_loss(trusted model, x (6, 1, 8, 8), generator seeded 11, τ = 0.5)"
    assert_close(got["loss"], want["loss"], name=name, rtol=1e-4, atol=1e-6)
    assert_true(got["grad_weight"] is not None, f"{name}: no gradient reached the model's parameters")
    assert_close(got["grad_weight"], want["grad_weight"], name=f"the gradient of {name}", rtol=1e-3, atol=1e-6)

"""Section 0 (contrastive learning): the given plumbing of solutions/pretraining/contrastive.py.

The student functions are graded by the checks (and their mutants, tests/mutants/contrastive.py); these tests
cover what is given: bad input gets a clear error, pre-training learns, the probe sees h or z as asked.
"""

import sys

import pytest
import torch
from torch import nn

from conftest import REPO

sys.path.insert(0, str(REPO / "solutions"))
from pretraining import contrastive  # noqa: E402


@pytest.mark.parametrize("shape,tau,message", [((5, 4), 0.5, "2N"), ((4,), 0.5, "2N"), ((4, 3), 0.0, "temperature")])
def test_nt_xent_loss_rejects_bad_input(shape, tau, message):
    with pytest.raises(ValueError, match=message):
        contrastive.nt_xent_loss(torch.randn(shape), tau)


def small_model(latent=8):
    torch.manual_seed(0)
    encoder = nn.Sequential(nn.Flatten(), nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, latent))
    return contrastive.SimCLR(encoder, latent, projection_dim=4, hidden_dim=16)


def test_pretrain_simclr_learns_and_is_repeatable():
    images = torch.rand(96, 1, 8, 8, generator=torch.Generator().manual_seed(0))
    curves = [contrastive.pretrain_simclr(small_model(), images, epochs=8, batch_size=32, seed=3, progress=False)
              for _ in range(2)]
    assert len(curves[0]) == 8 * 3
    assert curves[0] == curves[1], "same seed, same model: the same loss curve"
    assert sum(curves[0][-3:]) < sum(curves[0][:3]), curves[0]


def test_representations_before_and_after_the_head():
    model = small_model().train()
    images = torch.rand(10, 1, 8, 8)
    h, z = contrastive.representations(model, images, "h", batch_size=4), contrastive.representations(model, images, "z")
    assert h.shape == (10, 8) and z.shape == (10, 4)
    with torch.no_grad():
        assert torch.allclose(model.head(h), z, atol=1e-6)
    assert model.training, "representations restores the model's mode"
    with pytest.raises(ValueError, match="where"):
        contrastive.representations(model, images, "r")


def test_pretrain_simclr_seeds_matches_one_seed_at_a_time():
    """Seeds trained together (one ensemble) give what ``pretrain_simclr`` gives for each seed alone: the same
    initial weights and batch order per seed. The views are drawn differently (for all seeds at once), so they
    are switched off here, which leaves everything else deterministic."""
    images = torch.rand(40, 1, 8, 8, generator=torch.Generator().manual_seed(0))
    no_views = dict(max_angle=0.0, scale=(1.0, 1.0), max_shift=0.0, noise_std=0.0)
    seeds = (3, 5)
    models, curves = contrastive.pretrain_simclr_seeds(images, seeds, epochs=3, batch_size=16, latent_dim=8,
                                                       progress=False, **no_views)
    assert curves.shape == (2, 3 * 3) and len(models) == 2 and not any(m.training for m in models)
    for seed, model, curve in zip(seeds, models, curves):
        alone = contrastive.mlp_simclr(64, 8, seed)
        alone_curve = contrastive.pretrain_simclr(alone, images, epochs=3, batch_size=16, seed=seed, progress=False,
                                                  **no_views)
        torch.testing.assert_close(curve, torch.tensor(alone_curve), rtol=1e-4, atol=1e-5)
        for p, q in zip(model.parameters(), alone.parameters()):
            torch.testing.assert_close(p, q, rtol=1e-4, atol=1e-5)
    assert not torch.allclose(models[0].head[0].weight, models[1].head[0].weight), "each seed its own model"


def test_pretrain_simclr_seeds_falls_back_to_one_seed_at_a_time(monkeypatch):
    """Correct code that vmap cannot batch (writing batched values into a fresh tensor) still trains: one
    warning, then the models one after another, each exactly what pretrain_simclr gives (views switched off,
    so that the comparison is exact)."""
    reference = contrastive.augment

    def augment_in_place(images, generator, **options):
        view = reference(images, generator, **options)
        out = torch.zeros(view.shape, dtype=view.dtype)
        out[:] = view  # fine alone, refused under vmap
        return out

    monkeypatch.setattr(contrastive, "augment", augment_in_place)
    images = torch.rand(40, 1, 8, 8, generator=torch.Generator().manual_seed(0))
    no_views = dict(max_angle=0.0, scale=(1.0, 1.0), max_shift=0.0, noise_std=0.0)
    with pytest.warns(UserWarning, match="one after another"):
        models, curves = contrastive.pretrain_simclr_seeds(images, (3, 5), epochs=2, batch_size=16, latent_dim=8,
                                                           progress=False, **no_views)
    assert curves.shape == (2, 2 * 3)
    for seed, model, curve in zip((3, 5), models, curves):
        alone = contrastive.mlp_simclr(64, 8, seed)
        alone_curve = contrastive.pretrain_simclr(alone, images, epochs=2, batch_size=16, seed=seed, progress=False,
                                                  **no_views)
        torch.testing.assert_close(curve, torch.tensor(alone_curve), rtol=1e-4, atol=1e-5)
        for p, q in zip(model.parameters(), alone.parameters()):
            torch.testing.assert_close(p, q, rtol=1e-4, atol=1e-5)
"""solutions/pretraining/training.py's ``cuda_graph=True``: a step replayed from a CUDA graph is the step itself.

The same initial weights, batches and random draws must give the same losses and trained weights with and
without the graph, up to float rounding — for a plain model with a learning-rate schedule and a partial last
batch (which runs outside the graph), for an ensemble of MAEs that draw their masks from a CUDA generator at
every step (a frozen draw would show), and for a loss the graph cannot record (it falls back, with a warning,
and torch's random generator, which a failed recording leaves marked as recording, works again), and for a loop
with checks between its steps (``after_step``: one recording serves them all). The GPU tests
run on a CUDA machine only; on a CPU, cuda_graph is ignored.
"""

import sys
import warnings

import pytest
import torch
from torch import nn

from conftest import REPO

sys.path.insert(0, str(REPO / "solutions"))
from pretraining.data import Batches  # noqa: E402
from pretraining.ensembles import Ensemble, EnsembleBatches, train_ensemble  # noqa: E402
from pretraining.mae import MaskedAutoencoder  # noqa: E402
from pretraining.training import train  # noqa: E402

gpu = pytest.mark.skipif(not torch.cuda.is_available(), reason="CUDA graphs need a CUDA GPU")
X = torch.rand(70, 16, generator=torch.Generator().manual_seed(0))  # 70 rows in batches of 16: the last holds 6


def mlp() -> nn.Module:
    torch.manual_seed(1)
    return nn.Sequential(nn.Linear(16, 32), nn.GELU(), nn.Linear(32, 16))


def recorded(fn):
    """fn()'s result, asserting that no step fell back to plain launches (the graph was recorded and replayed)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = fn()
    fallbacks = [str(w.message) for w in caught if "could not be recorded as a CUDA graph" in str(w.message)]
    assert not fallbacks, fallbacks
    return result


def train_mlp(device: str, cuda_graph: bool, loss=None):
    model = mlp().to(device)
    x = X.to(device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=0.05)
    epochs = 6
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=3e-3, total_steps=epochs * 5, pct_start=0.2)
    loss = loss or (lambda batch: (model(batch[0]) - batch[0]).pow(2).mean())
    curve = train(model, loss, Batches(x, batch_size=16, generator=torch.Generator().manual_seed(2)), epochs=epochs,
                  optimizer=optimizer, scheduler=schedule, progress=False, device=device, cuda_graph=cuda_graph)
    return torch.tensor(curve), torch.cat([p.detach().flatten().cpu() for p in model.parameters()])


def test_ignored_on_a_cpu():
    curve, weights = train_mlp("cpu", cuda_graph=True)
    curve_plain, weights_plain = train_mlp("cpu", cuda_graph=False)
    assert torch.equal(curve, curve_plain) and torch.equal(weights, weights_plain)


@gpu
def test_a_graphed_step_is_the_step_itself():
    curve, weights = recorded(lambda: train_mlp("cuda", cuda_graph=True))
    curve_plain, weights_plain = train_mlp("cuda", cuda_graph=False)
    assert curve.shape == curve_plain.shape == (30,)
    assert torch.allclose(curve, curve_plain, rtol=1e-4, atol=1e-6), (curve - curve_plain).abs().max()
    assert torch.allclose(weights, weights_plain, rtol=1e-4, atol=1e-5), (weights - weights_plain).abs().max()


@gpu
def test_an_ensemble_drawing_masks_from_a_cuda_generator_gets_fresh_masks_at_every_replay():
    images = torch.rand(40, 1, 8, 8, generator=torch.Generator().manual_seed(3)).cuda()

    def run(cuda_graph: bool):
        models = []
        for seed in (0, 1):
            torch.manual_seed(seed)
            models.append(MaskedAutoencoder(image_size=8, patch_size=2, dim=16, depth=1, heads=2, decoder_dim=16,
                                            decoder_depth=1, decoder_heads=2))
        ensemble = Ensemble(models).cuda()
        masks = torch.Generator("cuda").manual_seed(4)
        batches = EnsembleBatches(images, batch_size=16, generators=[torch.Generator().manual_seed(s) for s in (0, 1)])
        return train_ensemble(ensemble, lambda model, x: model(x, 0.75, masks)[0], batches, epochs=4, lr=1e-3,
                              progress=False, device="cuda", cuda_graph=cuda_graph, generators=[masks])  # (2, 12)

    graphed, plain = recorded(lambda: run(True)), run(False)
    assert graphed.shape == plain.shape == (2, 12)
    assert torch.allclose(graphed, plain, rtol=1e-4, atol=1e-6), (graphed - plain).abs().max()


@gpu
def test_a_loss_the_graph_cannot_record_runs_as_usual_with_a_warning_and_random_draws_still_work():
    model_holder = {}

    def loss_with_item(batch):
        model = model_holder["model"]
        value = (torch.nn.functional.dropout(model(batch[0]), 0.2) - batch[0]).pow(2).mean()
        value.item()  # a host synchronisation: not allowed while recording
        return value

    def run(cuda_graph):
        model = mlp().cuda()
        torch.cuda.manual_seed(5)  # the dropout masks: the same draws either way, from torch's default generator
        model_holder["model"] = model
        curve = train(model, loss_with_item, Batches(X.cuda(), batch_size=16, generator=torch.Generator().manual_seed(2)),
                      epochs=3, progress=False, device="cuda", cuda_graph=cuda_graph)
        return torch.tensor(curve)

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        graphed = run(True)
    assert any("could not be recorded as a CUDA graph" in str(w.message) for w in caught), [str(w.message) for w in caught]
    assert torch.allclose(graphed, run(False), rtol=1e-5, atol=1e-7)


def train_with_checks(device: str, cuda_graph: bool):
    """train_mlp's model with dropout, and an ``after_step`` that every 4 steps evaluates it (evaluation mode, a
    forward pass, a host read), as finetune_runs' validation checks do, then puts it back in training mode."""
    torch.manual_seed(1)
    model = nn.Sequential(nn.Linear(16, 32), nn.GELU(), nn.Dropout(0.2), nn.Linear(32, 16)).to(device)
    x, checks, calls = X.to(device), [], []

    def after_step(done: int) -> None:
        calls.append(done)
        if done % 4 == 0:
            model.eval()
            with torch.no_grad():
                checks.append((model(x) - x).pow(2).mean().item())
            model.train()

    if device == "cuda":
        torch.cuda.manual_seed(5)  # the dropout masks: the same draws with and without the graph
    curve = train(model, lambda batch: (model(batch[0]) - batch[0]).pow(2).mean(),
                  Batches(x[:64], batch_size=16, generator=torch.Generator().manual_seed(2)), steps=16, lr=3e-3,
                  progress=False, device=device, cuda_graph=cuda_graph, after_step=after_step)
    return torch.tensor(curve), torch.tensor(checks), calls


def test_after_step_is_called_after_every_step_with_the_number_of_steps_done():
    curve, checks, calls = train_with_checks("cpu", cuda_graph=False)
    assert calls == list(range(1, 17)) and len(checks) == 4
    assert checks[-1] < checks[0]  # it saw the model being trained


@gpu
def test_checks_between_steps_keep_the_recorded_graph_and_change_nothing():
    """One recording serves the whole loop across the checks (finetune_runs validates this way), and losses
    and checks are those of training without the graph."""
    from pretraining.training import GraphedStep

    recordings = []
    record = GraphedStep._record
    GraphedStep._record = lambda self, batch: (recordings.append(1), record(self, batch))[1]
    try:
        curve, checks, _ = recorded(lambda: train_with_checks("cuda", cuda_graph=True))
    finally:
        GraphedStep._record = record
    curve_plain, checks_plain, _ = train_with_checks("cuda", cuda_graph=False)
    assert len(recordings) == 1
    assert torch.allclose(curve, curve_plain, rtol=1e-4, atol=1e-6), (curve - curve_plain).abs().max()
    assert torch.allclose(checks, checks_plain, rtol=1e-4, atol=1e-6), (checks - checks_plain).abs().max()

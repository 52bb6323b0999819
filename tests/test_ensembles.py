"""solutions/pretraining/ensembles.py: M models trained together give what M models trained one at a time give.

Same initial weights and the same batches ⇒ the same trained weights and loss curves, up to float rounding — and
the comparison is sharp enough to fail when the ensemble is broken: models sharing one batch order, or a step
that couples the models (one gradient norm clipped over all of them).
"""

import sys

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from conftest import REPO

sys.path.insert(0, str(REPO / "solutions"))
from pretraining.data import Batches  # noqa: E402
from pretraining.ensembles import Ensemble, EnsembleBatches, crop_into, pad_into, train_ensemble  # noqa: E402
from pretraining.mae import MaskedAutoencoder, patchify  # noqa: E402
from pretraining.training import train  # noqa: E402

SEEDS = (0, 1, 2)
X = torch.rand(50, 16, generator=torch.Generator().manual_seed(123))  # 50 rows: the last batch of 16 is partial


def mlp(seed: int) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(16, 8), nn.ReLU(), nn.Linear(8, 4), nn.Linear(4, 16))


def reconstruction(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    return (model(x) - x).pow(2).sum(dim=1).mean()


def one_at_a_time(make, loss, epochs=4, **kwargs):
    """The reference: each model trained alone, with its own batch order (generator seeded by its seed)."""
    models, curves = [], []
    for seed in SEEDS:
        model = make(seed)
        curves.append(train(model, lambda batch: loss(model, batch[0]), epochs=epochs, progress=False, **kwargs,
                            batches=Batches(X, batch_size=16, generator=torch.Generator().manual_seed(seed))))
        models.append(model)
    return models, torch.tensor(curves)


def together(make, loss, epochs=4, seeds=SEEDS, **kwargs):
    ensemble = Ensemble([make(seed) for seed in SEEDS])
    batches = EnsembleBatches(X, batch_size=16, generators=[torch.Generator().manual_seed(s) for s in seeds])
    curves = train_ensemble(ensemble, loss, batches, epochs=epochs, progress=False, **kwargs)
    return ensemble.unstack(), curves


def max_difference(models_a, models_b) -> float:
    return max((p - q).abs().max().item() for a, b in zip(models_a, models_b)
               for p, q in zip(a.state_dict().values(), b.state_dict().values()))


def test_same_weights_and_curves_as_one_at_a_time():
    alone, alone_curves = one_at_a_time(mlp, reconstruction, lr=1e-2)
    batched, curves = together(mlp, reconstruction, lr=1e-2)
    assert curves.shape == (len(SEEDS), 4 * 4)
    torch.testing.assert_close(curves, alone_curves, rtol=1e-4, atol=1e-5)
    assert max_difference(batched, alone) < 1e-4
    assert max_difference(alone[:1], alone[1:2]) > 1e-2  # the seeds differ: the agreement above means something


def test_transformer_with_adamw_and_schedule_matches():
    """The MAE's ViT (nn.TransformerEncoderLayer, sine-cosine buffers) under vmap, AdamW and a OneCycle schedule."""
    def vit(seed):
        torch.manual_seed(seed)
        return MaskedAutoencoder(image_size=4, patch_size=2, dim=8, depth=1, heads=2, decoder_dim=8)

    def loss(model, x):  # deterministic: every patch encoded and decoded
        images = x.view(-1, 1, 4, 4)
        return F.mse_loss(model.decoder_pred(model.decoder_embed(model.features(images))), patchify(images, 2))

    def schedule(params):
        # eps larger than the default 1e-8: the key bias of attention has a gradient of exactly 0 in exact
        # arithmetic (softmax ignores a shift common to all keys), so what it gets is rounding noise of
        # ~1e-10, which Adam with a tiny eps would turn into full-size steps of random sign.
        optimizer = torch.optim.AdamW(params, lr=3e-3, weight_decay=0.05, eps=1e-6)
        return dict(optimizer=optimizer, scheduler=torch.optim.lr_scheduler.OneCycleLR(
            optimizer, max_lr=3e-3, total_steps=8, pct_start=0.25))

    alone = []
    for seed in SEEDS:
        model = vit(seed)
        train(model, lambda batch: loss(model, batch[0]), Batches(X, batch_size=16,
              generator=torch.Generator().manual_seed(seed)), epochs=2, progress=False, **schedule(model.parameters()))
        alone.append(model)
    ensemble = Ensemble([vit(seed) for seed in SEEDS])
    batches = EnsembleBatches(X, batch_size=16, generators=[torch.Generator().manual_seed(s) for s in SEEDS])
    train_ensemble(ensemble, loss, batches, epochs=2, progress=False, **schedule(ensemble.parameters()))
    assert max_difference(ensemble.unstack(), alone) < 1e-4


def test_a_shared_batch_order_is_caught():
    """Every model reading seed 0's order (the mistake of one Batches for all) no longer matches."""
    alone, _ = one_at_a_time(mlp, reconstruction, lr=1e-2)
    batched, _ = together(mlp, reconstruction, lr=1e-2, seeds=(0, 0, 0))
    assert max_difference(batched[:1], alone[:1]) < 1e-4  # model 0 did get its own order …
    assert max_difference(batched[1:], alone[1:]) > 1e-3  # … the others did not, and the comparison sees it
    with pytest.raises(ValueError, match="own generator"):  # one generator object for all: refused outright
        EnsembleBatches(X, batch_size=16, generators=[torch.Generator()] * 3)


def test_coupled_models_are_caught():
    """Clipping the gradient norm over the whole ensemble couples the models: refused, and detectably wrong."""
    alone, _ = one_at_a_time(mlp, reconstruction, lr=1e-2, max_grad_norm=0.5)
    with pytest.raises(ValueError, match="couple"):
        together(mlp, reconstruction, lr=1e-2, max_grad_norm=0.5)
    ensemble = Ensemble([mlp(seed) for seed in SEEDS])  # the mistake done by hand: train() clips Σ over models
    batches = EnsembleBatches(X, batch_size=16, generators=[torch.Generator().manual_seed(s) for s in SEEDS])
    train(ensemble, lambda batch: ensemble.map(reconstruction, batch[0]).sum(), batches, epochs=4, lr=1e-2,
          max_grad_norm=0.5, progress=False)
    assert max_difference(ensemble.unstack(), alone) > 1e-3


def test_map_shares_or_splits_arguments_and_draws_independent_noise():
    ensemble = Ensemble([mlp(seed) for seed in SEEDS])
    models = [mlp(seed) for seed in SEEDS]
    with torch.no_grad():
        shared = ensemble(X, in_dims=None)  # one input for every model
        split = ensemble(X.expand(3, -1, -1).flip(0), in_dims=0)
        for m, model in enumerate(models):
            torch.testing.assert_close(shared[m], model(X))
            torch.testing.assert_close(split[m], model(X))
        generator = torch.Generator().manual_seed(0)
        noise = ensemble.map(lambda model, x: torch.randn(x.shape, generator=generator), X, in_dims=None)
    assert noise.shape == (3, *X.shape) and not torch.allclose(noise[0], noise[1])


def test_unstack_returns_the_models_in_the_ensembles_mode():
    models = [mlp(seed) for seed in SEEDS]
    ensemble = Ensemble(models).eval()
    assert len(ensemble) == 3 and sum(p.numel() for p in ensemble.parameters()) == 3 * sum(
        p.numel() for p in models[0].parameters())
    out = ensemble.unstack()
    assert out == models and not any(m.training for m in out)


def test_one_model_trains_as_it_is():
    """M = 1 skips the stacking; it still gives what train() gives, and curves of shape (1, steps)."""
    alone, alone_curves = one_at_a_time(mlp, reconstruction, lr=1e-2)
    ensemble = Ensemble([mlp(0)])
    curves = train_ensemble(ensemble, reconstruction, EnsembleBatches(X, batch_size=16, generators=[
        torch.Generator().manual_seed(0)]), epochs=4, lr=1e-2, progress=False)
    torch.testing.assert_close(curves, alone_curves[:1])
    assert max_difference(ensemble.unstack(), alone[:1]) < 1e-6


def test_models_of_different_widths_padded_into_one_ensemble_train_as_alone():
    """A bottleneck of 2 and one of 4, zero-padded to 6 and stacked with a 6: each trains as it would alone."""
    def sized(width, seed=0):
        torch.manual_seed(seed)
        return nn.Sequential(nn.Linear(16, 8), nn.ReLU(), nn.Linear(8, width), nn.Linear(width, 16))

    widths = (2, 4, 6)
    alone = []
    for seed, width in zip(SEEDS, widths):
        model = sized(width, seed)
        train(model, lambda batch: reconstruction(model, batch[0]), Batches(X, batch_size=16,
              generator=torch.Generator().manual_seed(seed)), epochs=4, lr=1e-2, progress=False)
        alone.append(model)
    small = [sized(width, seed) for seed, width in zip(SEEDS, widths)]
    ensemble = Ensemble([pad_into(m, sized(6)) for m in small])
    batches = EnsembleBatches(X, batch_size=16, generators=[torch.Generator().manual_seed(s) for s in SEEDS])
    train_ensemble(ensemble, reconstruction, batches, epochs=4, lr=1e-2, progress=False)
    padded = ensemble.unstack()
    assert padded[0][2].weight[2:].abs().max() == 0 and padded[0][3].weight[:, 2:].abs().max() == 0  # still 0
    assert max_difference([crop_into(p, s) for p, s in zip(padded, small)], alone) < 1e-4
    with pytest.raises(ValueError, match="cannot fit"):
        pad_into(sized(6), sized(2))


def test_code_that_vmap_cannot_batch_trains_one_model_after_another_with_the_same_result():
    """A right loss that vmap refuses (.item() in an `if`, as a student may write) warns once, kindly, then gives
    exactly what one-at-a-time training gives; a loss that vmap runs stays batched (no warning)."""
    def picky(model, x):  # right, but data-dependent control flow: vmap cannot batch it
        loss = reconstruction(model, x)
        return loss if loss.item() >= 0 else -loss

    alone, alone_curves = one_at_a_time(mlp, reconstruction, lr=1e-2)
    with pytest.warns(UserWarning, match="one after another") as caught:
        batched, curves = together(mlp, picky, lr=1e-2)
    assert len([w for w in caught if "one after another" in str(w.message)]) == 1
    torch.testing.assert_close(curves, alone_curves, rtol=1e-4, atol=1e-5)
    assert max_difference(batched, alone) < 1e-4
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        together(mlp, reconstruction, lr=1e-2)


def test_running_out_of_memory_is_raised_not_taken_for_vmap_refusing_the_code():
    """Out of GPU memory is no reason to run the models one after another (their parameters and optimizer states
    take the same memory either way): the error reaches the caller, who can train fewer models at once."""
    calls = []

    def greedy(model, x):  # the models together (the first call, vmap's) run out of memory; one alone would not
        calls.append(1)
        if len(calls) == 1:
            raise torch.OutOfMemoryError("CUDA out of memory (pretend)")
        return reconstruction(model, x)

    with pytest.raises(torch.OutOfMemoryError):  # seen failing when it fell back to one model after another
        together(mlp, greedy, lr=1e-2)


def test_one_learning_rate_per_model_matches_adams_with_those_rates():
    """train_ensemble(lrs=…): model m trained as by Adam(lr=lrs[m]) alone — and not as by one shared rate."""
    lrs = [3e-3, 1e-2, 3e-2]
    alone = []
    for seed, lr in zip(SEEDS, lrs):
        model = mlp(seed)
        train(model, lambda batch: reconstruction(model, batch[0]), Batches(X, batch_size=16,
              generator=torch.Generator().manual_seed(seed)), epochs=4, lr=lr, progress=False)
        alone.append(model)
    batched, _ = together(mlp, reconstruction, lrs=lrs)
    assert max_difference(batched, alone) < 1e-4
    shared, _ = together(mlp, reconstruction, lr=1e-2)  # the mistake of one rate for all: seen
    assert max_difference(shared[:1], alone[:1]) > 1e-3 and max_difference(shared[2:], alone[2:]) > 1e-3
    with pytest.raises(ValueError, match="one learning rate per model"):
        together(mlp, reconstruction, lrs=lrs[:2])


def test_hugging_face_classifiers_run_together_with_each_models_own_losses_and_gradients():
    """Three Llama classifiers (the layout of SmolLM2, tiny) as one Ensemble: the Classifier gives its backbone
    the 4-D mask, so the losses and gradients are batched (vmap, no fall-back warning) and equal those of each
    model alone — what notebooks 04 and 05 compute; padded rows included."""
    import copy
    import warnings

    from transformers import LlamaConfig, LlamaModel

    from pretraining import finetune

    torch.manual_seed(0)
    backbone = LlamaModel(LlamaConfig(vocab_size=50, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                                      num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=32))
    models = [finetune.Classifier(copy.deepcopy(backbone), 4, "last") for _ in range(3)]
    for m, model in enumerate(models):
        torch.manual_seed(m)
        nn.init.normal_(model.head.weight)
        with torch.no_grad():
            model.backbone.layers[0].mlp.up_proj.weight.mul_(1 + m)  # three different backbones
    ids, labels = torch.randint(0, 50, (3, 6, 10)), torch.randint(0, 4, (3, 6))
    mask = torch.ones(3, 6, 10, dtype=torch.long)
    mask[:, ::2, 6:] = 0  # every other row padded after 6 tokens

    alone = torch.stack([finetune.classification_loss(model, ids[m], mask[m], labels[m])
                         for m, model in enumerate(models)])
    ensemble = Ensemble(models)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the fall-back to one model after another warns: it must not happen
        together = ensemble.map(finetune.classification_loss, ids, mask, labels)
    torch.testing.assert_close(together, alone, rtol=1e-5, atol=1e-6)
    together.sum().backward()
    alone.sum().backward()
    stacked = ensemble.stacked_parameters()
    for m, model in enumerate(models):
        for name, p in model.named_parameters():
            torch.testing.assert_close(stacked[name].grad[m], p.grad, rtol=1e-4, atol=1e-6)

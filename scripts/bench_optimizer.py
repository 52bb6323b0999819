"""Adam's update as one fused kernel per step, against torch's default (``foreach``), on the small models the
notebooks train as ensembles.

A training step of notebook 02's ViT (its ``FULL`` MAE, 5 seeds as one ``Ensemble``) is a few hundred tiny
kernels: the GPU waits on their launches, not on arithmetic. Adam's update is a dozen of them per parameter
group with ``foreach`` (torch's default on a GPU), one with ``fused=True``. Three ways, side by side in one run
(medians of interleaved rounds of ``--steps`` steps each):

- ``foreach``:  AdamW(foreach=True), torch's default on CUDA;
- ``fused``:    AdamW(fused=True);
- ``no update``: forward and backward only, the floor that no optimizer can go below.

    python scripts/bench_optimizer.py                 # on the current device (PRETRAINING_DEVICE=cpu forces the CPU)
    python scripts/bench_optimizer.py --seeds 1 --steps 50 --repeats 7

Prints JSON: the configuration, the seconds per step of each way, and the ratios.

Measured on one H200 (2026-12-02, torch 2.11+cu130): foreach 20.6 ms, fused 20.7 ms per step for 5 seeds
(1 seed: 11.8 vs 10.9 ms); the update is 6.5% of a step. The course therefore keeps torch's default: a
negative result, kept so that the question need not be asked again.
"""

from __future__ import annotations

import argparse

from benchmark import get_device, interleaved_medians, report, torch
from pretraining.ensembles import Ensemble  # noqa: E402
from pretraining.mae import MaskedAutoencoder  # noqa: E402
from pretraining.seeding import seed_everything  # noqa: E402

# Notebook 02's MAE under FULL: 16 × 16 digits in 4 × 4 patches, a 4 × 64 encoder and a 1 × 32 decoder.
CONFIG = dict(image_size=16, patch_size=4, dim=64, depth=4, heads=4, decoder_dim=32, decoder_depth=1,
              normalize_target=True)


def mae_arguments(doc: str, steps: int) -> argparse.Namespace:
    """The command line of a benchmark on notebook 02's MAE ensemble: --seeds, --batch, --steps, --repeats."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5, help="models trained together (notebook 02: 5)")
    parser.add_argument("--batch", type=int, default=64, help="images per model per step (notebook 02: 64)")
    parser.add_argument("--steps", type=int, default=steps, help="training steps per timed round")
    parser.add_argument("--repeats", type=int, default=5)
    return parser.parse_args()


def mae_ensemble(seeds: int, device: torch.device) -> Ensemble:
    """``seeds`` MaskedAutoencoder(**CONFIG), seeded 0, 1, …, as one Ensemble on ``device``."""
    models = []
    for seed in range(seeds):
        seed_everything(seed)
        models.append(MaskedAutoencoder(**CONFIG))
    return Ensemble(models).to(device)


def main() -> None:
    args = mae_arguments(__doc__, steps=20)
    device = get_device()
    if device.type == "cpu":
        torch.set_num_threads(1)  # as setup() does on a CPU
    images = torch.rand(args.seeds, args.batch, 1, 16, 16, device=device)  # (M, B, 1, H, W)
    masks = torch.Generator(device).manual_seed(0)

    def make(way: str):
        ensemble = mae_ensemble(args.seeds, device)
        params = list(ensemble.parameters())
        optimizer = None if way == "no update" else torch.optim.AdamW(
            params, lr=3e-3, weight_decay=0.05, **({"fused": True} if way == "fused" else {"foreach": True}))

        def steps():
            for _ in range(args.steps):
                loss = ensemble.map(lambda model, x: model(x, 0.75, masks)[0], images).sum()
                for p in params:
                    p.grad = None
                loss.backward()
                if optimizer is not None:
                    optimizer.step()
        return steps

    ways = ("foreach", "fused", "no update")
    times = interleaved_medians({way: make(way) for way in ways}, device, args.repeats)
    per_step = {way: times[way]["median_s"] / args.steps for way in ways}
    report("optimizer", device, {
        "model": CONFIG, "seeds": args.seeds, "batch": args.batch, "steps_per_round": args.steps,
        "seconds_per_step": {way: round(s, 6) for way, s in per_step.items()},
        "foreach_over_fused": round(per_step["foreach"] / per_step["fused"], 2),
        "update_share_foreach": round(1 - per_step["no update"] / per_step["foreach"], 3),
        "update_share_fused": round(1 - per_step["no update"] / per_step["fused"], 3),
        "times": times})


if __name__ == "__main__":
    main()

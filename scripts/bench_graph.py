"""A training step replayed from a CUDA graph (``train(..., cuda_graph=True)``) against the same step launched
kernel by kernel, on the small models the notebooks train as ensembles.

A step of notebook 02's ViT (its ``FULL`` MAE, 5 seeds as one ``Ensemble``) is a few hundred tiny kernels,
each launched from Python through vmap's batching rules: the GPU waits on the launches. Recorded once as a
graph, the forward and backward pass are one launch; the optimizer and the schedule still run as usual. Each
timed round is one whole ``train_ensemble`` call of ``--steps`` steps (AdamW and the one-cycle schedule of
notebook 02), the graph's warm-up and recording included; medians of interleaved rounds.

    python scripts/bench_graph.py                    # needs a CUDA GPU
    python scripts/bench_graph.py --seeds 1 --steps 360 --repeats 5

Prints JSON: the configuration, the seconds per step each way, and their ratio.
"""

from __future__ import annotations

from benchmark import get_device, interleaved_medians, report, torch
from bench_optimizer import CONFIG, mae_arguments, mae_ensemble  # notebook 02's MAE under FULL, as timed there
from pretraining.ensembles import train_ensemble  # noqa: E402


def main() -> None:
    args = mae_arguments(__doc__, steps=100)
    device = get_device()
    if device.type != "cuda":
        raise SystemExit("bench_graph.py compares CUDA graphs with plain launches: it needs a CUDA GPU")
    images = torch.rand(args.seeds, args.batch, 1, 16, 16, device=device)  # (M, B, 1, H, W)
    masks = torch.Generator(device).manual_seed(0)

    def make(cuda_graph: bool):
        def run():
            ensemble = mae_ensemble(args.seeds, device)
            optimizer = torch.optim.AdamW(ensemble.parameters(), lr=3e-3, weight_decay=0.05)
            schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=3e-3, total_steps=args.steps)
            train_ensemble(ensemble, lambda model, x: model(x, 0.75, masks)[0], lambda: images, steps=args.steps,
                           optimizer=optimizer, scheduler=schedule, progress=False, cuda_graph=cuda_graph,
                           generators=[masks])
        return run

    ways = {"launched": make(False), "graph": make(True)}
    times = interleaved_medians(ways, device, args.repeats)
    per_step = {way: times[way]["median_s"] / args.steps for way in ways}
    report("graph", device, {
        "model": CONFIG, "seeds": args.seeds, "batch": args.batch, "steps_per_round": args.steps,
        "seconds_per_step": {way: round(s, 6) for way, s in per_step.items()},
        "launched_over_graph": round(per_step["launched"] / per_step["graph"], 2),
        "times": times})


if __name__ == "__main__":
    main()

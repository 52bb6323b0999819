"""Fine-tuning benchmark: M seeds of a Llama classifier one after another vs the same M as one vmap ensemble.

    python scripts/bench_seeds.py                 # CPU: a 2-layer Llama; CUDA: SmolLM2-135M's shapes (30 layers)
    python scripts/bench_seeds.py --seeds 5 --mode lora

Why: notebooks 04 and 05 spend most of their FULL time fine-tuning SmolLM2 once per (mode, k, seed), and on a
GPU each of those steps is launch-bound. ``pretraining.ensembles`` stacks M models into one, and
``finetune.Classifier`` gives its backbone the 4-D attention mask (``finetune.attention_mask_4d``), with which
transformers' Llama runs under ``torch.func.vmap`` (from a 2-D mask its mask builder branches on the mask's
values). This script measures what stacking buys, on randomly initialised weights of the real shapes (speed
does not depend on the values), and checks that the ensemble's losses equal the one-at-a-time losses.
``finetune.finetune_runs`` is what the notebooks call; this times its optimiser step alone, without its
validation checks.

Prints JSON: median seconds per optimiser step of all M models (one at a time: the sum of M steps), the ratio,
and the largest loss difference between the two.
"""

from __future__ import annotations

import argparse
import copy

from benchmark import get_device, interleaved_medians, report, synchronize, torch

from pretraining import finetune, lora  # noqa: E402
from pretraining.ensembles import Ensemble  # noqa: E402
from pretraining.finetune import classification_loss  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--mode", default="all", choices=("all", "lora", "last"))
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()

    from torch.nn.attention import SDPBackend, sdpa_kernel
    from transformers import LlamaConfig, LlamaModel

    device = get_device()
    small = device.type == "cpu"
    shapes = (dict(hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
                   vocab_size=1000) if small else  # SmolLM2-135M's configuration
              dict(hidden_size=576, intermediate_size=1536, num_hidden_layers=30, num_attention_heads=9,
                   num_key_value_heads=3, vocab_size=49152, tie_word_embeddings=True))
    torch.manual_seed(0)
    backbone = LlamaModel(LlamaConfig(max_position_embeddings=256, **shapes))
    M, B, T = args.seeds, 16, 64  # notebook 04's batches of 16, notebook 05's 64-token articles

    def classifier(seed: int) -> finetune.Classifier:
        torch.manual_seed(seed)
        b = copy.deepcopy(backbone)
        if args.mode == "lora":
            lora.add_lora(b, lora.attention_targets(b), r=4, alpha=8)
        model = finetune.Classifier(b, 4, "last")
        finetune.set_trainable(model, args.mode)
        return model.to(device).train()

    ids = torch.randint(0, shapes["vocab_size"], (M, B, T), device=device)  # (M, B, T)
    mask = torch.ones(M, B, T, dtype=torch.long, device=device)
    mask[:, ::2, T // 2:] = 0  # half the rows padded: the padding path is the one the notebooks take
    labels = torch.randint(0, 4, (M, B), device=device)

    models = [classifier(s) for s in range(M)]
    optimizers = [torch.optim.AdamW([p for p in m.parameters() if p.requires_grad], lr=1e-5) for m in models]

    def one_at_a_time():
        losses = []
        for m, (model, opt) in enumerate(zip(models, optimizers)):
            loss = classification_loss(model, ids[m], mask[m], labels[m])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            losses.append(loss.detach())
        return torch.stack(losses)

    ensemble = Ensemble([classifier(s) for s in range(M)]).to(device)
    ens_opt = torch.optim.AdamW([p for p in ensemble.parameters() if p.requires_grad], lr=1e-5)

    def together():
        losses = ensemble.map(classification_loss, ids, mask, labels)  # (M,)
        ens_opt.zero_grad(set_to_none=True)
        losses.sum().backward()
        ens_opt.step()
        return losses.detach()

    # The first step of each, from the same initial weights and batches, must give the same M losses.
    with sdpa_kernel([SDPBackend.MATH]):
        difference = (one_at_a_time() - together()).abs().max().item()
    synchronize(device)
    rows = interleaved_medians({"one_at_a_time": one_at_a_time, "ensemble": together}, device,
                               repeats=args.repeats, warmup=2)
    report("finetune_seeds", device, {
        "model": {"layers": shapes["num_hidden_layers"], "hidden": shapes["hidden_size"],
                  "parameters": sum(p.numel() for p in backbone.parameters()), "mode": args.mode},
        "seeds": M, "batch": [B, T], "vmap_ran": not ensemble._one_by_one, "first_step_max_loss_difference": difference,
        **rows, "speedup": rows["one_at_a_time"]["median_s"] / rows["ensemble"]["median_s"]})


if __name__ == "__main__":
    main()

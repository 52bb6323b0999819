"""Fine-tuning benchmark: M seeds of a Llama classifier one after another vs the same M as one vmap ensemble.

    python scripts/bench_seeds.py                 # CPU: a 2-layer Llama; CUDA: SmolLM2-135M's shapes (30 layers)
    python scripts/bench_seeds.py --seeds 5 --mode lora

Why: notebooks 04 and 05 spend most of their FULL time fine-tuning SmolLM2 once per (mode, k, seed), and on a
GPU each of those steps is launch-bound. ``pretraining.ensembles`` stacks M models into one, but transformers'
Llama cannot run under ``torch.func.vmap`` with a 2-D padding mask: its mask builder asks whether the mask is
all ones (``_ignore_causal_mask_sdpa``), an ``if`` on a tensor's value. Given the 4-D mask itself — causal and
key-padding, (B, 1, T, T) booleans — it uses it as it is, and vmap runs. This script measures what that buys,
on randomly initialised weights of the real shapes (speed does not depend on the values), and checks that the
ensemble's losses equal the one-at-a-time losses.

Prints JSON: median seconds per optimiser step of all M models (one at a time: the sum of M steps), the ratio,
and the largest loss difference between the two.
"""

from __future__ import annotations

import argparse
import copy

from benchmark import get_device, interleaved_medians, report, synchronize, torch

import torch.nn.functional as F  # noqa: E402

from pretraining import finetune, lora  # noqa: E402
from pretraining.ensembles import Ensemble, causal_padding_mask  # noqa: E402


def loss_of(model: finetune.Classifier, ids: torch.Tensor, mask: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """The classifier's cross-entropy, its backbone given the 4-D mask (what vmap can run)."""
    hidden = model.backbone(input_ids=ids, attention_mask=causal_padding_mask(mask)).last_hidden_state  # (B, T, D)
    return F.cross_entropy(model.head(finetune.pool(hidden, mask, model.pooling)), labels)


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
            loss = loss_of(model, ids[m], mask[m], labels[m])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            losses.append(loss.detach())
        return torch.stack(losses)

    ensemble = Ensemble([classifier(s) for s in range(M)]).to(device)
    ens_opt = torch.optim.AdamW([p for p in ensemble.parameters() if p.requires_grad], lr=1e-5)

    def together():
        losses = ensemble.map(loss_of, ids, mask, labels)  # (M,)
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

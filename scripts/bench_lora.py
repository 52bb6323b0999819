"""LoRA benchmark: one AdamW training step with our LoRA vs peft's LoRA vs full fine-tuning, same model and batch.

    python scripts/bench_lora.py                # CPU: a small GPT-2, batch 4 × 128; CUDA: GPT-2 small, 16 × 512
    python scripts/bench_lora.py --rank 16
    python scripts/bench_lora.py --model smollm2 # the real model (Llama layout: q_proj, v_proj), batch 8 × 64 on a CPU

Prints JSON: median seconds per step, peak memory on CUDA, trainable parameters, and the ratios.
"""

from __future__ import annotations

import argparse
import copy

from benchmark import get_device, median_seconds, report, synchronize, torch

from pretraining.lora import add_lora, attention_targets


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rank", type=int, default=16)
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--model", default=None,
                        help="a model name for pretraining.pretrained.load_gpt, e.g. smollm2 (default: a GPT-2 config)")
    args = parser.parse_args()

    from peft import LoraConfig, get_peft_model
    from transformers import GPT2Config, GPT2LMHeadModel

    device = get_device()
    small = device.type == "cpu"
    torch.manual_seed(0)
    if args.model:
        from pretraining.pretrained import load_gpt

        base = load_gpt(args.model, device="cpu")
        batch, length = (8, 64) if small else (16, 512)
    else:
        config = GPT2Config(n_layer=4, n_embd=256, n_head=4) if small else GPT2Config()
        config.update({"resid_pdrop": 0.0, "embd_pdrop": 0.0, "attn_pdrop": 0.0})
        base = GPT2LMHeadModel(config)
        batch, length = (4, 128) if small else (16, 512)
    config, targets = base.config, attention_targets(base)
    conv1d = targets == ("c_attn",)  # GPT-2's Conv1D stores its weight transposed: peft must be told
    ids = torch.randint(0, config.vocab_size, (batch, length), device=device)

    def variant(name):
        model = copy.deepcopy(base)
        if name == "ours":
            model.requires_grad_(False)
            add_lora(model, targets, r=args.rank, alpha=2 * args.rank)
        elif name == "peft":
            model = get_peft_model(model, LoraConfig(r=args.rank, lora_alpha=2 * args.rank, target_modules=list(targets),
                                                     fan_in_fan_out=conv1d, lora_dropout=0.0))
        return model.to(device).train()

    rows = {}
    for name in ("full", "peft", "ours"):
        model = variant(name)
        params = [p for p in model.parameters() if p.requires_grad]
        optimizer = torch.optim.AdamW(params, lr=1e-4)

        def step():
            loss = model(input_ids=ids, labels=ids).loss
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()

        if device.type == "cuda":
            torch.cuda.empty_cache()
            torch.cuda.reset_peak_memory_stats(device)
        timing = median_seconds(step, device, repeats=args.repeats, warmup=2)
        synchronize(device)
        rows[name] = {**timing, "trainable": sum(p.numel() for p in params),
                      "total": sum(p.numel() for p in model.parameters())}
        if device.type == "cuda":
            rows[name]["peak_memory_gib"] = round(torch.cuda.max_memory_allocated(device) / 2**30, 2)
        del model, optimizer
    report("lora_step", device, {"model": {"name": args.model or "gpt2 config", "layers": config.num_hidden_layers,
                                           "width": config.hidden_size, "targets": list(targets)},
                                 "batch": [batch, length],
                                 "rank": args.rank, "results": rows,
                                 "ours_over_peft": round(rows["ours"]["median_s"] / rows["peft"]["median_s"], 3),
                                 "ours_over_full": round(rows["ours"]["median_s"] / rows["full"]["median_s"], 3)})


if __name__ == "__main__":
    main()

"""KV cache benchmark: our cached greedy loop vs transformers' generate(), and vs no cache — same tokens.

    python scripts/bench_kv_cache.py              # CPU: a small GPT-2; CUDA: the GPT-2-small config
    python scripts/bench_kv_cache.py --lengths 64 256 1024
    python scripts/bench_kv_cache.py --model smollm2   # the real LM (SmolLM2-135M-Instruct, Llama layout)

Prints JSON: per generated length, median seconds of each method, the ratios, and whether the tokens match.
"""

from __future__ import annotations

import argparse

from benchmark import get_device, median_seconds, report, torch

from pretraining.kv_cache import generate_with_cache, generate_without_cache


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--lengths", type=int, nargs="+", default=None)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--prompt", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--uncached-up-to", type=int, default=None,
                        help="skip the O(T²) loop beyond this length (default: 64 on a CPU, where 256 takes "
                             "4 min per run, 256 on a GPU)")
    parser.add_argument("--model", default=None, help="a model name for pretraining.pretrained.load_gpt, e.g. smollm2")
    args = parser.parse_args()

    from transformers import GPT2Config, GPT2LMHeadModel

    device = get_device()
    small = device.type == "cpu"
    config = (GPT2Config(n_layer=4, n_embd=256, n_head=4, n_positions=1280) if small
              else GPT2Config(n_positions=1280))  # GPT-2 small: 12 layers, d=768
    config.update({"resid_pdrop": 0.0, "embd_pdrop": 0.0, "attn_pdrop": 0.0})
    torch.manual_seed(0)
    model = GPT2LMHeadModel(config).to(device).eval()
    if args.model:  # a pre-trained model instead of the random GPT-2 (the cost does not depend on the weights)
        from pretraining.pretrained import load_gpt

        model = load_gpt(args.model, device=device)
        config = model.config
    prompt = torch.randint(0, config.vocab_size, (args.batch, args.prompt), device=device)
    lengths = args.lengths or ([64, 256] if small else [64, 256, 1024])
    uncached_up_to = args.uncached_up_to if args.uncached_up_to is not None else (64 if small else 256)

    rows = []
    for n in lengths:
        ours = generate_with_cache(model, prompt, n)
        with torch.no_grad():
            theirs = model.generate(prompt, attention_mask=torch.ones_like(prompt), max_new_tokens=n,
                                    min_new_tokens=n, do_sample=False, pad_token_id=0)
        row = {"new_tokens": n, "identical_to_generate": bool(torch.equal(ours, theirs)),
               "ours_cached": median_seconds(lambda: generate_with_cache(model, prompt, n), device, args.repeats),
               "generate": median_seconds(lambda: model.generate(
                   prompt, attention_mask=torch.ones_like(prompt), max_new_tokens=n, min_new_tokens=n,
                   do_sample=False, pad_token_id=0), device, args.repeats)}
        row["ours_over_generate"] = round(row["ours_cached"]["median_s"] / row["generate"]["median_s"], 3)
        if n <= uncached_up_to:
            row["identical_to_uncached"] = bool(torch.equal(ours, generate_without_cache(model, prompt, n)))
            row["uncached"] = median_seconds(lambda: generate_without_cache(model, prompt, n), device,
                                             max(1, args.repeats // 2))
            row["cache_speedup"] = round(row["uncached"]["median_s"] / row["ours_cached"]["median_s"], 2)
        rows.append(row)
    report("kv_cache", device, {"model": {"name": args.model or "random GPT-2", "n_layer": config.num_hidden_layers,
                                          "n_embd": config.hidden_size},
                                "batch": args.batch, "prompt": args.prompt, "results": rows})


if __name__ == "__main__":
    main()

"""In-context evaluation throughput: one batched score_candidates call vs one prompt at a time, same scores.

    python scripts/bench_icl.py            # the shipped GPT, held-out tasks, k = 8, 16 candidate labels

Prints JSON: prompts per second each way (median of repeats), their ratio, and the largest score difference.
"""

from __future__ import annotations

import argparse

import numpy as np
from benchmark import get_device, median_seconds, report, torch

from pretraining import corpus, icl
from pretraining.pretrained import load_gpt, load_tokenizer


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--prompts", type=int, default=64)
    parser.add_argument("--k", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()

    device = get_device()
    tokenizer, gpt = load_tokenizer("gpt"), load_gpt("gpt", device=device)
    labels = [corpus.label_token(y) for y in range(corpus.N_LABELS)]
    rng = np.random.default_rng(0)
    prompts = ["".join(corpus.make_sequence(corpus.sample_task(rng, held_out=True), args.k, rng)[0])
               for _ in range(args.prompts)]

    def one_at_a_time():
        return torch.cat([icl.score_candidates(gpt, tokenizer, [p], labels) for p in prompts])

    def batched():
        return icl.score_candidates(gpt, tokenizer, prompts, labels)

    difference = (one_at_a_time() - batched()).abs().max().item()
    single = median_seconds(one_at_a_time, device, args.repeats)
    batch = median_seconds(batched, device, args.repeats)
    report("icl_throughput", device, {
        "prompts": args.prompts, "k": args.k, "candidates": len(labels), "max_abs_difference": difference,
        "one_at_a_time": {**single, "prompts_per_s": round(args.prompts / single["median_s"], 1)},
        "batched": {**batch, "prompts_per_s": round(args.prompts / batch["median_s"], 1)},
        "speedup": round(single["median_s"] / batch["median_s"], 2)})


if __name__ == "__main__":
    main()

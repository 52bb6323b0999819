"""In-context scoring after one cached k-shot prefix (``icl.score_after_prefix``): how the batch size of the
queries changes its speed, with the same scores.

    python scripts/bench_prefix.py                              # CPU: k = 2 per topic, 32 articles
    python scripts/bench_prefix.py --k 32 --queries 245 --batch-sizes 16 64   # notebook 05's FULL case, on a GPU

Why: notebook 05 scores 245 test articles after a prefix of up to 128 examples (~6,000 tokens) for 31 draws of
examples, SmolLM2-135M-Instruct; each batch's rows are packed into one sequence after the prefix's cache. The
prompts are built as the notebook builds them (articles cut to 160 characters, ``Article: … / Topic:``).

Prints JSON: median seconds of one evaluation per batch size (interleaved rounds), each one's speed-up over the
first batch size given, and the largest score difference from it.
"""

from __future__ import annotations

import argparse

import numpy as np
from benchmark import get_device, interleaved_medians, report, torch

from pretraining import icl  # noqa: E402
from pretraining.pretrained import load_gpt, load_tokenizer  # noqa: E402
from pretraining.topics import k_per_class, load_topics  # noqa: E402

TOPICS = ["Biology and health sciences", "Geography", "History", "People"]


def main() -> None:
    device = get_device()
    small = device.type == "cpu"
    parser = argparse.ArgumentParser()
    parser.add_argument("--k", type=int, default=2 if small else 32, help="examples per topic in the prefix")
    parser.add_argument("--queries", type=int, default=32 if small else 245)
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[8, 32] if small else [16, 64])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    cut = lambda text: text if len(text) <= 160 else text[:160].rsplit(" ", 1)[0] + " …"  # noqa: E731
    fmt = icl.PromptFormat(instruction="Classify each Wikipedia article by its topic: Biology, Geography, History or "
                           "People.\n\n", input_prefix="Article: ", output_prefix="\nTopic:", separator="\n\n",
                           label_words=dict(enumerate([" Biology", " Geography", " History", " People"])))
    support = k_per_class(load_topics("train", TOPICS), args.k, np.random.default_rng(0))
    shots = [(cut(x), y) for x, y in zip(support.texts, support.labels)]
    prefix = icl.build_prompt(shots, "", fmt)[: -len(fmt.input_prefix + fmt.output_prefix)]
    queries = [f"{fmt.input_prefix}{cut(x)}{fmt.output_prefix}" for x in load_topics("valid", TOPICS).texts[:args.queries]]
    tokenizer, model = load_tokenizer("smollm2"), load_gpt("smollm2", device=device)
    candidates = [fmt.answer(y) for y in range(4)]

    def score(batch_size: int) -> torch.Tensor:
        return icl.score_after_prefix(model, tokenizer, prefix, queries, candidates, batch_size=batch_size)

    with torch.no_grad():
        first = score(args.batch_sizes[0])
        difference = {b: (score(b) - first).abs().max().item() for b in args.batch_sizes[1:]}
        rows = interleaved_medians({f"batch_{b}": (lambda b=b: score(b)) for b in args.batch_sizes}, device,
                                   repeats=args.repeats)
    base = rows[f"batch_{args.batch_sizes[0]}"]["median_s"]
    report("prefix_scoring", device, {
        "k_per_topic": args.k, "prefix_tokens": len(tokenizer(prefix, add_special_tokens=False)["input_ids"]),
        "queries": len(queries), **rows,
        "speedup_over_first": {b: base / rows[f"batch_{b}"]["median_s"] for b in args.batch_sizes},
        "max_score_difference": difference})


if __name__ == "__main__":
    main()

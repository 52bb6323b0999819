# %% [markdown]
# # 4 · Fine-tuning a pre-trained model "a little bit"
#
# We have a pre-trained model and a few labelled examples. What do we do with the pre-trained parameters?
# **Freeze** them and train a new head; **fine-tune** them all; fine-tune **some** of them (the first, a
# middle or the last block); or freeze them and **inject a few new ones** — LoRA, a low-rank change
# W₀ + A Bᵀ that adds "a few memories" to each linear map.
#
# You implement, in `starter_code/pretraining/`: `lora.py` (the LoRA layers, merge and unmerge) and
# `finetune.py` (`pool`, `set_trainable`, `count_parameters`). One training loop serves every mode.
#
# **Task.** Which topic is a Wikipedia article about? (`data/topics`: the first sentence of each Level-4
# vital article and the topic Wikipedia's editors filed it under.) We use 4 topics, train on k examples per
# topic and test on articles the models never saw in pre-training. **Models.** The course's small GPT
# (`data/gpt`, 4 layers) and all-MiniLM-L6-v2, a real pre-trained 6-layer BERT shipped by a PyPI package.

# %%
import sys
from pathlib import Path

sys.path.insert(0, str(next(p for p in [Path.cwd(), *Path.cwd().parents] if (p / "autograder").is_dir())))
from autograder.student import check, full_settings, setup  # noqa: E402

DEVICE = setup()
%load_ext autoreload
%autoreload 2
import copy  # noqa: E402
import time  # noqa: E402

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

from pretraining import finetune, lora  # noqa: E402
from pretraining.pretrained import load_gpt, load_minilm, load_tokenizer  # noqa: E402
from pretraining.seeding import seed_everything  # noqa: E402
from pretraining.topics import k_per_class, load_topics  # noqa: E402

FULL = full_settings(DEVICE)  # the full grid on a GPU; a smaller one on a CPU (PRETRAINING_FULL=0/1 forces it)
TOPICS = ["Biology and health sciences", "Geography", "History", "People"]
train_pool, test = load_topics("train", TOPICS), load_topics("valid", TOPICS)
print(f"{len(train_pool.texts)} training candidates, {len(test.texts)} test articles; e.g. {test.texts[0]!r} → {TOPICS[test.labels[0]]}")

# %% [markdown]
# ## 4.1 LoRA
#
# Implement `LoRALinear` (and the `delta` of `LoRAConv1D`: GPT-2 stores its attention projection `c_attn`
# as a `Conv1D` whose weight is transposed). At initialisation A = 0 and B is random, so the wrapped layer
# computes exactly what the pre-trained layer did, yet A receives a gradient at the first step.

# %%
base = torch.nn.Linear(16, 8)
layer = lora.LoRALinear(base, r=2, alpha=4.0)
x = torch.randn(5, 16)
print("output − base output at init:", (layer(x) - base(x)).abs().max().item())
print("trainable:", [name for name, p in layer.named_parameters() if p.requires_grad],
      f"— {2 * (16 + 8)} numbers instead of {16 * 8 + 8}")

# %%
check("lora")

# %% [markdown]
# ## 4.2 Choosing what to fine-tune
#
# `Classifier` puts a new linear head on one position's representation: BERT's [CLS] (position 0), or the
# last *real* token for a causal model — the only position that has read the whole input. Implement `pool`,
# then `set_trainable(model, mode)` and `count_parameters(model)`.

# %%
gpt_tokenizer, gpt = load_tokenizer("gpt"), load_gpt("gpt", device="cpu")
minilm_tokenizer, minilm = load_minilm(device="cpu")


def make_classifier(backbone, mode, rank=4, pooling="last"):
    """A fresh copy of the pre-trained backbone (never one that was already fine-tuned), ready for ``mode``."""
    backbone = copy.deepcopy(backbone)
    if mode == "lora":  # LoRA on the attention projections: GPT-2's c_attn, BERT's query and value
        lora.add_lora(backbone, ("c_attn",) if hasattr(backbone, "h") else ("query", "value"), r=rank, alpha=2 * rank)
    model = finetune.Classifier(backbone, len(TOPICS), pooling)
    finetune.set_trainable(model, mode)
    return model


print(f"{'mode':8} {'GPT trainable':>14} {'MiniLM trainable':>17}")
for mode in finetune.MODES:
    g, m = (finetune.count_parameters(make_classifier(b, mode, pooling=p))
            for b, p in ((gpt.transformer, "last"), (minilm, "cls")))
    print(f"{mode:8} {g[0]:>9,} ({g[0] / g[1]:5.1%}) {m[0]:>11,} ({m[0] / m[1]:5.1%})")

# %%
check("finetune")

# %% [markdown]
# ## 4.3 Accuracy against the number of trainable parameters
#
# The same loop (`finetune.finetune`) trains every mode on the same k examples per topic; each point is the
# mean ± std of test accuracy over seeds (different examples and initialisations). Chance is 25%. On a CPU
# this is a reduced grid (about two minutes); on a GPU (`FULL`) every mode, k and model, over 3 seeds.

# %%
def encode(tokenizer, texts):
    batch = tokenizer(list(texts), padding=True, truncation=True, max_length=40, return_tensors="pt")
    return batch["input_ids"], batch["attention_mask"]


LR = {"head": 3e-3, "lora": 3e-3, "first": 1e-3, "middle": 1e-3, "last": 1e-3, "all": 5e-4}


def run(backbone, tokenizer, mode, k, seed, steps=30, rank=4, pooling="last", n_test=None):
    """Fine-tune a fresh classifier on k examples per topic; return (test accuracy, trainable parameters)."""
    seed_everything(seed)
    support = k_per_class(train_pool, k, np.random.default_rng(seed))
    model = make_classifier(backbone, mode, rank, pooling).to(DEVICE)
    ids, mask = encode(tokenizer, support.texts)
    finetune.finetune(model, ids, mask, torch.tensor(support.labels), steps=steps, lr=LR[mode],
                      batch_size=16, seed=seed, progress=False)
    n_test = n_test or len(test.texts)
    accuracy = finetune.accuracy(model, *encode(tokenizer, test.texts[:n_test]), torch.tensor(test.labels[:n_test]))
    return accuracy, finetune.count_parameters(model)[0]


KS, SEEDS = ([1, 8, 64], [0, 1, 2]) if FULL else ([1, 8, 32], [0, 1])
results = {}  # (model, mode, k) → (accuracies over seeds, trainable parameters)
start = time.perf_counter()
for mode in finetune.MODES:
    for k in KS:
        runs = [run(gpt.transformer, gpt_tokenizer, mode, k, s) for s in SEEDS]
        results["GPT", mode, k] = ([a for a, _ in runs], runs[0][1])
# MiniLM is 26× the GPT's size: on a CPU only its two light modes, at one k, on 200 test articles.
for mode in (finetune.MODES if FULL else ["head", "lora"]):
    for k in (KS if FULL else [8]):
        runs = [run(minilm, minilm_tokenizer, mode, k, s, steps=30 if FULL else 20, pooling="cls",
                    n_test=None if FULL else 200) for s in SEEDS]
        results["MiniLM", mode, k] = ([a for a, _ in runs], runs[0][1])
print(f"{len(results) * len(SEEDS)} fine-tuning runs in {time.perf_counter() - start:.0f} s")

fig, axes = plt.subplots(1, 2, figsize=(11, 4), sharey=True)
for ax, name in zip(axes, ("GPT", "MiniLM")):
    for j, k in enumerate(KS):
        rows = [(mode, *results[name, mode, k]) for mode in finetune.MODES if (name, mode, k) in results]
        if not rows:
            continue
        params = [p for _, _, p in rows]
        means, stds = [np.mean(a) for _, a, _ in rows], [np.std(a) for _, a, _ in rows]
        ax.errorbar(params, means, yerr=stds, fmt="o", color=f"C{j}", capsize=3, label=f"k = {k} per topic")
        for (mode, _, p), m in zip(rows, means):
            ax.annotate(mode, (p, m), textcoords="offset points", xytext=(4, 4), fontsize=8, color=f"C{j}")
    ax.axhline(1 / len(TOPICS), color="gray", ls=":", label="chance")
    ax.set(title=f"{name}: accuracy vs trainable parameters", xlabel="trainable parameters (log scale)",
           xscale="log", ylabel="test accuracy")
    ax.legend(fontsize=8)
plt.tight_layout()
plt.show()
for (name, mode, k), (accs, p) in results.items():
    print(f"{name:7} {mode:7} k={k:<3} {np.mean(accs):.3f} ± {np.std(accs):.3f}   ({p:,} trainable)")

# %% [markdown]
# ## 4.4 The LoRA rank
#
# How many "memories" does the task need? Same budget, k = 8 per topic, LoRA of rank r on the GPT.

# %%
ranks = [1, 2, 4, 8, 16] if FULL else [1, 4, 16]
rank_acc = [[run(gpt.transformer, gpt_tokenizer, "lora", 8, s, rank=r)[0] for s in SEEDS] for r in ranks]
fig, ax = plt.subplots(figsize=(5, 3.5))
ax.errorbar(ranks, [np.mean(a) for a in rank_acc], yerr=[np.std(a) for a in rank_acc], fmt="o-", capsize=3)
ax.set(title="GPT, LoRA on c_attn, k = 8 per topic", xlabel="rank r", xscale="log", ylabel="test accuracy")
plt.show()

# %% [markdown]
# ## 4.5 Cost per training step
#
# Time per step (median of 5) and, on a GPU, peak memory. Freezing saves the backward pass through frozen
# early layers and the optimizer state of frozen parameters; LoRA still back-propagates through every
# layer it touches.

# %%
ids, mask = encode(gpt_tokenizer, train_pool.texts[:16])
labels = torch.tensor(train_pool.labels[:16])
print(f"{'mode':8} {'ms / step':>10} {'peak MiB':>9}")
for mode in finetune.MODES:
    model = make_classifier(gpt.transformer, mode).to(DEVICE)
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-4)
    batch = [t.to(DEVICE) for t in (ids, mask, labels)]
    times = []
    if DEVICE.type == "cuda":
        torch.cuda.reset_peak_memory_stats()
    for _ in range(6):
        start = time.perf_counter()
        loss = torch.nn.functional.cross_entropy(model(batch[0], batch[1]), batch[2])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if DEVICE.type == "cuda":
            torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    peak = f"{torch.cuda.max_memory_allocated() / 2**20:9.0f}" if DEVICE.type == "cuda" else "      n/a"
    print(f"{mode:8} {1000 * np.median(times[1:]):10.1f} {peak}")

# %% [markdown]
# ## 4.6 Merging: the fine-tuned model at the base model's speed
#
# After training, fold (α/r)·A Bᵀ into W₀: one matrix product per layer again, and no extra parameters at
# inference. `unmerge` takes it back out (to keep training, or to swap in another task's A, B).

# %%
model = make_classifier(gpt.transformer, "lora").to(DEVICE).eval()
for layer in lora.lora_layers(model):
    torch.nn.init.normal_(layer.A, std=0.02)  # as if trained: A Bᵀ ≠ 0
ids, mask = (t.to(DEVICE) for t in encode(gpt_tokenizer, test.texts[:64]))
plain = make_classifier(gpt.transformer, "head").to(DEVICE).eval()
plain.head.load_state_dict(model.head.state_dict())


def forward_ms(m):
    with torch.no_grad():
        times = []
        for _ in range(7):
            start = time.perf_counter()
            out = m(ids, mask)
            if DEVICE.type == "cuda":
                torch.cuda.synchronize()
            times.append(time.perf_counter() - start)
    return out, 1000 * np.median(times)


unmerged, t_unmerged = forward_ms(model)
for layer in lora.lora_layers(model):
    layer.merge()
merged, t_merged = forward_ms(model)
_, t_base = forward_ms(plain)
print(f"max |merged − unmerged logits| = {(merged - unmerged).abs().max().item():.2e}")
print(f"forward on 64 articles: unmerged {t_unmerged:.1f} ms, merged {t_merged:.1f} ms, base model {t_base:.1f} ms")

# %% [markdown]
# **Question 1.** Why must one of A, B start at zero, and why must the *other* not? What would go wrong if
# both started random — and if both started at zero?

# %% [answer id=q-lora-init points=2]
# ### BEGIN SOLUTION
# With one factor zero, A Bᵀ = 0 and the model starts exactly at the pre-trained one (fine-tuning starts from
# what was learned). The other must be random: the gradient of A is (α/r)·g (Bᵀx)ᵀ, which is zero if B is zero,
# and B's gradient is zero while A is zero — both zero means neither ever moves. Both random would add a random
# low-rank perturbation to every layer at step 0, damaging the pre-trained model before training begins.
# ### END SOLUTION

# %% [markdown]
# **Question 2.** Look at your plot. Which modes win at k = 1 and at the largest k, and how does that fit the
# lecture's goals for fine-tuning "a little bit" (keep pre-trained knowledge, avoid over-fitting, store little)?

# %% [answer id=q-modes points=3]
# ### BEGIN SOLUTION
# (Answers depend on the run.) Typically, with very few examples the head-only and LoRA modes are as good as
# or better than full fine-tuning, which has many parameters to over-fit with; as k grows, modes with more
# trainable parameters catch up or win. LoRA reaches near-full accuracy with a few percent of the parameters,
# and stores only A and B per task — the lecture's goals of preserving pre-trained knowledge and storing little.
# ### END SOLUTION

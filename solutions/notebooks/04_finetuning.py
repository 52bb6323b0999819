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
# topic and test on articles the course GPT never saw in pre-training. **Models.** Three pre-trained
# transformers of three layouts: the course's small GPT (`data/gpt`: GPT-2 layout, 4 blocks, 0.86 M
# parameters), all-MiniLM-L6-v2 (a real 6-block BERT sentence encoder, 22.7 M, from a PyPI package) and
# SmolLM2-135M-Instruct (a real Llama-layout language model, 30 blocks, 134.5 M). On a CPU the experiments use
# the two smaller models (MiniLM frozen only); on a GPU (`FULL`) every mode of all three.
#
# **Fairness.** Every method gets its best honest shot: hyper-parameters are chosen on a *validation* split
# (16 labelled articles per topic, never used for training or testing), never on the test set; the "head
# only" baseline is a converged, standardised logistic regression on the frozen features
# (`pretraining.evaluation.linear_probe`), with each model's own pooling; results are means over seeds with
# 95% confidence intervals. (A validation split of 64 labelled articles is a luxury a truly few-shot user does
# not have; every method gets the same one.)

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
from pretraining.data import sample_k_shot  # noqa: E402
from pretraining.evaluation import format_ci, linear_probe, mean_ci  # noqa: E402
from pretraining.pretrained import load_gpt, load_minilm, load_tokenizer  # noqa: E402
from pretraining.timing import interleaved_medians  # noqa: E402
from pretraining.topics import Examples, k_per_class, load_topics  # noqa: E402

FULL = full_settings(DEVICE)  # the full grid on a GPU; a smaller one on a CPU (PRETRAINING_FULL=0/1 forces it)
TOPICS = ["Biology and health sciences", "Geography", "History", "People"]
train_all, test = load_topics("train", TOPICS), load_topics("valid", TOPICS)
val_picks = sample_k_shot(train_all.labels, 16, np.random.default_rng(12345))  # the validation split, fixed
rest = np.setdiff1d(np.arange(len(train_all.labels)), val_picks)
val = Examples([train_all.texts[i] for i in val_picks], train_all.labels[val_picks], TOPICS)
train_pool = Examples([train_all.texts[i] for i in rest], train_all.labels[rest], TOPICS)  # k-shot draws come from here
print(f"{len(train_pool.texts)} training candidates, {len(val.texts)} validation and {len(test.texts)} test articles; "
      f"e.g. {test.texts[0]!r} → {TOPICS[test.labels[0]]}")

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
# `Classifier` puts a new linear head on a pooled representation: BERT's [CLS] (position 0), the *mean* over
# the real tokens (what sentence encoders such as MiniLM were trained with), or the last *real* token for a
# causal model — the only position that has read the whole input. Implement `pool`, then
# `set_trainable(model, mode)` and `count_parameters(model)`. They must work on all three layouts: GPT-2 keeps
# its blocks in `.h` and its attention in one `Conv1D` (`c_attn`); Llama in `.layers` with separate
# `nn.Linear` maps `q_proj`, `k_proj`, `v_proj`, `o_proj`; BERT in `.encoder.layer`.

# %%
gpt_tokenizer, gpt = load_tokenizer("gpt"), load_gpt("gpt", device="cpu")
minilm_tokenizer, minilm = load_minilm(device="cpu")
lm_tokenizer, lm = load_tokenizer("smollm2"), load_gpt("smollm2", device="cpu")
MODELS = {  # name → (tokenizer, backbone without its output layer, the pooling the model was trained for)
    "course GPT": (gpt_tokenizer, finetune.backbone_of(gpt), "last"),
    "MiniLM": (minilm_tokenizer, minilm, "mean"),
    "SmolLM2": (lm_tokenizer, finetune.backbone_of(lm), "last"),
}
RUN_MODELS = list(MODELS) if FULL else ["course GPT", "MiniLM"]  # SmolLM2 needs a GPU for these experiments


RANK = 4  # LoRA's rank r in the grid below (alpha = 2r); section 4.4 varies it


def make_classifier(name, mode, rank=RANK):
    """A fresh copy of the pre-trained backbone (never one that was already fine-tuned), ready for ``mode``."""
    _, backbone, pooling = MODELS[name]
    backbone = copy.deepcopy(backbone)
    if mode == "lora":  # LoRA on the attention: GPT-2's c_attn, Llama's q_proj and v_proj, BERT's query and value
        lora.add_lora(backbone, lora.attention_targets(backbone), r=rank, alpha=2 * rank)
    model = finetune.Classifier(backbone, len(TOPICS), pooling)
    finetune.set_trainable(model, mode)
    return model


TRAINABLE = {(name, mode): finetune.count_parameters(make_classifier(name, mode)) for name in MODELS
             for mode in finetune.MODES}  # (name, mode) → (trainable, total)
print(f"{'mode':8}" + "".join(f"{name + ' trainable':>26}" for name in MODELS))
for mode in finetune.MODES:
    print(f"{mode:8}" + "".join(f"{TRAINABLE[name, mode][0]:>17,} ({TRAINABLE[name, mode][0] / TRAINABLE[name, mode][1]:5.1%})"
                                for name in MODELS))

# %%
check("finetune")

# %% [markdown]
# ## 4.3 Accuracy against the number of trainable parameters
#
# For each model, k (examples per topic) and seed, the same k examples train every mode:
#
# - **head**: `linear_probe` on the frozen pooled features (standardised, converged, C chosen on validation);
# - **first / middle / last / lora / all**: `finetune.finetune_runs` (AdamW, batches of 16), the number of steps
#   chosen on the validation split: we check it every `STEPS // CHECKS` steps and keep the best state. On a GPU
#   the runs of one mode train together, as one batched model (section 1's `Ensemble`): the same runs, each with
#   its own examples, order, initialisation and batch size (k ≥ 8: 16; k = 1: 4, padded with rows the loss
#   ignores), in one program.
#
# Each point is the mean test accuracy over seeds (different examples, orders and initialisations), with its
# 95% confidence interval. Chance is 25%. On a CPU the grid is small (k = 1 and 8, 3 seeds, no "middle", MiniLM
# as a frozen encoder only, 24 steps); `FULL` runs k = 1, 8, 32, 64, 5 seeds, every mode and SmolLM2. "Stored per task" counts what must be saved for one more task: the
# trainable parameters, in fp32.

# %%
def encode(tokenizer, texts, max_length=48):
    batch = tokenizer(list(texts), padding=True, truncation=True, max_length=max_length, return_tensors="pt")
    return batch["input_ids"], batch["attention_mask"]


_features = {}  # (model, text) → frozen pooled feature: each text goes through each backbone once


def features(name, texts):
    """(N, D) frozen pooled features of ``texts`` under model ``name`` (cached)."""
    tokenizer, backbone, pooling = MODELS[name]
    todo = [t for t in dict.fromkeys(texts) if (name, t) not in _features]
    if todo:
        pooled = finetune.pooled_features(backbone.to(DEVICE), *encode(tokenizer, todo), pooling)
        _features.update({(name, t): f for t, f in zip(todo, pooled)})
    return torch.stack([_features[name, t] for t in texts])


LR = {"course GPT": {"first": 1e-3, "middle": 1e-3, "last": 1e-3, "lora": 3e-3, "all": 5e-4},
      "MiniLM": {"first": 1e-4, "middle": 1e-4, "last": 1e-4, "lora": 1e-3, "all": 5e-5},
      "SmolLM2": {"first": 1e-4, "middle": 1e-4, "last": 1e-4, "lora": 1e-3, "all": 3e-5}}
STEPS, CHECKS = (48, 4) if FULL else (24, 3)  # training length: the best of CHECKS checkpoints on validation


def run(name, mode, runs, rank=RANK):
    """Test accuracy of ``mode`` for every (k, seed) in ``runs``: trained on k examples per topic, draw ``seed``."""
    supports = {(k, seed): k_per_class(train_pool, k, np.random.default_rng(seed)) for k, seed in runs}
    if mode == "head":
        return {key: linear_probe(features(name, s.texts), s.labels, features(name, val.texts), val.labels)
                .accuracy(features(name, test.texts), test.labels) for key, s in supports.items()}
    tokenizer = MODELS[name][0]
    data = lambda ex: (*encode(tokenizer, ex.texts), torch.tensor(ex.labels))  # noqa: E731
    accs = finetune.finetune_runs(lambda: make_classifier(name, mode, rank), [seed for _, seed in runs],
                                  [data(supports[key]) for key in runs], data(val), data(test),
                                  steps=STEPS, checks=CHECKS, lr=LR[name][mode])
    return dict(zip(runs, accs))


KS = [1, 8, 32, 64] if FULL else [1, 8]
SEEDS = list(range(5)) if FULL else [0, 1, 2]
CPU_MODES = [m for m in finetune.MODES if m != "middle"]  # a CPU runs one fewer mode; FULL runs them all
GRID = {"course GPT": (finetune.MODES if FULL else CPU_MODES, KS),  # model → (modes, k values) run
        "MiniLM": (["head", "lora", "all"], KS) if FULL else (["head"], KS),  # 22.7 M: fine-tuned on a GPU only
        "SmolLM2": (["head", "lora", "all"], KS)}
results = {}  # (model, mode, k) → (accuracies over seeds, trainable parameters)
start = time.perf_counter()
for name in RUN_MODELS:
    modes, ks = GRID[name]
    for mode in modes:
        accuracy = run(name, mode, [(k, s) for k in ks for s in SEEDS])
        for k in ks:  # "head": the probe's W and b, as many as the head of make_classifier(name, "head")
            results[name, mode, k] = ([accuracy[k, s] for s in SEEDS], TRAINABLE[name, mode][0])
print(f"{len(results) * len(SEEDS)} runs in {time.perf_counter() - start:.0f} s")
print(f"{'model':10} {'mode':7} {'k':>3}  {'test accuracy, 95% CI':24} {'trainable':>12} {'stored per task':>16}")
for (name, mode, k), (accs, n) in results.items():
    print(f"{name:10} {mode:7} {k:>3}  {format_ci(accs):24} {n:>12,} {4 * n / 2**20:>12.2f} MiB")

# %%
MARKERS = dict(zip(finetune.MODES, "osD^vP"))
fig, axes = plt.subplots(1, len(RUN_MODELS), figsize=(5.2 * len(RUN_MODELS), 4.2), sharey=True, squeeze=False)
for ax, name in zip(axes[0], RUN_MODELS):
    for j, k in enumerate(KS):
        for mode in finetune.MODES:
            if (name, mode, k) not in results:
                continue
            accs, n = results[name, mode, k]
            mean, half = mean_ci(accs)
            ax.errorbar(n * 1.08 ** (j - 1.5), mean, yerr=half, fmt=MARKERS[mode], color=f"C{j}", capsize=3, ms=6)
    ax.axhline(1 / len(TOPICS), color="gray", ls=":")
    ax.set(title=name, xlabel="trainable parameters (log scale)", xscale="log")
axes[0, 0].set_ylabel("test accuracy (mean, 95% CI)")
handles = [plt.Line2D([], [], color=f"C{j}", marker="o", ls="", label=f"k = {k} per topic") for j, k in enumerate(KS)]
handles += [plt.Line2D([], [], color="k", marker=MARKERS[m], ls="", label=m) for m in finetune.MODES]
handles += [plt.Line2D([], [], color="gray", ls=":", label="chance")]
fig.legend(handles=handles, loc="center left", bbox_to_anchor=(1.0, 0.5), fontsize=9)
fig.suptitle("Accuracy against trainable parameters (colour: k; marker: mode)")
plt.tight_layout()
plt.show()

# %% [markdown]
# What the numbers say, computed from the table above:

# %%
def best_modes(name, k):
    """The modes whose mean is within the best mode's 95% interval: statistically tied for best."""
    rows = {mode: mean_ci(results[name, mode, k][0]) for mode in finetune.MODES if (name, mode, k) in results}
    top = max(rows, key=lambda m: rows[m][0])
    lo = rows[top][0] - (rows[top][1] if np.isfinite(rows[top][1]) else 0)
    return top, rows, [m for m in rows if rows[m][0] >= lo]


for name in RUN_MODELS:
    for k in GRID[name][1]:
        top, rows, tied = best_modes(name, k)
        if len(rows) < 2:
            continue
        print(f"{name}, k = {k}: best mean {top} ({rows[top][0]:.3f}); within its interval: {', '.join(tied)}; "
              f"head only {rows['head'][0]:.3f}" + (f", all {rows['all'][0]:.3f}" if "all" in rows else ""))

# %% [markdown]
# ## 4.4 The LoRA rank
#
# How many "memories" does the task need? k = 8 per topic, LoRA of rank r on the attention of each model,
# the same seeds; error bars are 95% intervals. Rank 4 is the grid's: where the grid ran k = 8, its runs are
# reused, not trained again.

# %%
ranks = [1, 4, 16] if FULL else [1, 16]
RANK_MODELS = ["SmolLM2"] if FULL else ["course GPT"]
rank_acc = {}  # (model, r) → test accuracies over SEEDS
for name in RANK_MODELS:
    for r in ranks:
        if r == RANK and (name, "lora", 8) in results:  # the grid's own runs: this k, these seeds, this rank
            rank_acc[name, r] = results[name, "lora", 8][0]
        else:
            accuracy = run(name, "lora", [(8, s) for s in SEEDS], rank=r)
            rank_acc[name, r] = [accuracy[8, s] for s in SEEDS]
fig, ax = plt.subplots(figsize=(5.5, 3.6))
for name in RANK_MODELS:
    stats = [mean_ci(rank_acc[name, r]) for r in ranks]
    ax.errorbar(ranks, [m for m, _ in stats], yerr=[h for _, h in stats], fmt="o-", capsize=3, label=name)
ax.set(title="LoRA rank, k = 8 per topic", xlabel="rank r (log scale)", xscale="log", ylabel="test accuracy")
ax.set_xticks(ranks, [str(r) for r in ranks])
ax.legend()
plt.show()
for name in RANK_MODELS:
    lo, hi = mean_ci(rank_acc[name, ranks[0]]), mean_ci(rank_acc[name, ranks[-1]])
    overlap = abs(hi[0] - lo[0]) <= (lo[1] + hi[1])
    print(f"{name}: rank {ranks[0]} {format_ci(rank_acc[name, ranks[0]])}, rank {ranks[-1]} "
          f"{format_ci(rank_acc[name, ranks[-1]])} — "
          + ("the intervals overlap: this experiment cannot tell the ranks apart." if overlap
             else f"rank {ranks[-1] if hi[0] > lo[0] else ranks[0]} is better."))

# %% [markdown]
# ## 4.5 Cost per training step
#
# Time per step for each mode, measured interleaved (one step of every mode per round, so a slow moment of
# the machine hits all alike), as medians; on a GPU also the peak memory of one step. Freezing saves the
# backward pass through frozen early layers and the optimizer state of frozen parameters; LoRA still
# back-propagates through every layer it touches.

# %%
COST_MODEL = "SmolLM2" if FULL else "course GPT"
ids, mask = (t.to(DEVICE) for t in encode(MODELS[COST_MODEL][0], train_pool.texts[:16]))
labels = torch.tensor(train_pool.labels[:16], device=DEVICE)
steppers, peak = {}, {}
for mode in finetune.MODES:
    model = make_classifier(COST_MODEL, mode).to(DEVICE).train()
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-5)

    def step(model=model, optimizer=optimizer):
        loss = finetune.classification_loss(model, ids, mask, labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

    steppers[mode] = step
    if DEVICE.type == "cuda":
        step()  # optimizer state allocated
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        base = torch.cuda.memory_allocated()
        step()
        peak[mode] = (torch.cuda.max_memory_allocated() - base) / 2**20
step_times = interleaved_medians(steppers, DEVICE, repeats=7 if FULL else 5)
print(f"{COST_MODEL}, batch of 16 articles: median ms per step (all times), peak memory of a step above the model")
for mode, t in step_times.items():
    extra = f"{peak[mode]:8.0f} MiB" if mode in peak else "  (memory not measured on a CPU)"
    print(f"{mode:7} {1000 * t['median_s']:8.1f} ms  {[round(1000 * x) for x in t['times_s']]} {extra}")
order = sorted(step_times, key=lambda m: step_times[m]["median_s"])
print("fastest to slowest:", " < ".join(order))
del steppers

# %% [markdown]
# ## 4.6 Merging: the fine-tuned model at the base model's speed
#
# After training, fold (α/r)·A Bᵀ into W₀: one matrix product per layer again, and no extra parameters at
# inference. `unmerge` takes it back out (to keep training, or to swap in another task's A, B).

# %%
model = make_classifier(COST_MODEL, "lora").to(DEVICE).eval()
for layer in lora.lora_layers(model):
    torch.nn.init.normal_(layer.A, std=0.02)  # as if trained: A Bᵀ ≠ 0
ids, mask = (t.to(DEVICE) for t in encode(MODELS[COST_MODEL][0], test.texts[:64]))
plain = make_classifier(COST_MODEL, "head").to(DEVICE).eval()
plain.head.load_state_dict(model.head.state_dict())
merged_copy = copy.deepcopy(model)
for layer in lora.lora_layers(merged_copy):
    layer.merge()
with torch.no_grad():
    print(f"max |merged − unmerged logits| = {(merged_copy(ids, mask) - model(ids, mask)).abs().max().item():.2e}")
    forward = interleaved_medians({"unmerged LoRA": lambda: model(ids, mask), "merged LoRA": lambda: merged_copy(ids, mask),
                                   "base model": lambda: plain(ids, mask)}, DEVICE, repeats=9)
for name, t in forward.items():
    print(f"forward on 64 articles, {name:13}: median {1000 * t['median_s']:7.1f} ms  (all: {[round(1000 * x, 1) for x in t['times_s']]})")
ratio = forward["merged LoRA"]["median_s"] / forward["base model"]["median_s"]
print(f"merged / base = {ratio:.2f}; unmerged / base = {forward['unmerged LoRA']['median_s'] / forward['base model']['median_s']:.2f}"
      + (" — within 10%: merging gives the base model's speed here." if abs(ratio - 1) < 0.1 else
         " — more than 10% apart: on this machine the timing noise (see the spread of the times) is larger than the effect."))

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
# **Question 2.** Look at your plot and at the summary printed under it. Which modes are best (or tied for
# best) at the smallest and at the largest k, for each model, and how does that fit the lecture's goals for
# fine-tuning "a little bit" (keep pre-trained knowledge, avoid over-fitting, store little)?

# %% [answer id=q-modes points=3]
# ### BEGIN SOLUTION
# Read it off the printed summary, which changes with the run and the device (a CPU runs k = 1 and 8 with 3
# seeds; FULL runs k up to 64 with 5). At k = 1 the intervals are wide — one example per topic, three or five
# draws — and typically every mode lies within the best one's interval: the data cannot rank them, which is
# itself the answer at that k. Where the intervals separate at larger k, the modes that adapt the backbone
# (LoRA, a block, all) beating the converged head means the frozen features lack something the task needs;
# the head staying tied means they already hold it. The lecture's goals show in the "stored per task" column:
# a head or LoRA costs kilobytes per task against the whole model (MiBs, 540 MB for SmolLM2) for full
# fine-tuning, and both leave the pre-trained weights untouched, so nothing pre-trained is forgotten.
# ### END SOLUTION

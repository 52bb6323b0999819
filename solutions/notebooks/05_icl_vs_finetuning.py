# %% [markdown]
# # 5 · In-context learning versus fine-tuning
#
# Two ways to use a pre-trained model with k labelled examples: put them **in the prompt** (in-context
# learning, no parameter changes), or **fine-tune** on them (head only, LoRA, or everything — section 4).
# The lecture's claim, from T-Few: when "few-shot" means tens of examples, lightweight fine-tuning can beat
# in-context learning. You run that comparison yourself.
#
# You implement, in `starter_code/pretraining/icl.py`: `build_prompt` (k-shot prompts with truncation that
# never cuts the query), `score_candidates` (label log-likelihoods in one batched forward pass) and
# `generate_answers` (greedy, left-padded, with your KV-cache loop from section 3).
#
# **Tasks.** The course's GPT was pre-trained partly on sequences of (input, label) pairs from many small
# tasks: 64 input tokens `<x0>…<x63>` fall into 4 hidden groups, and a task gives each group one of 16 label
# tokens `<y0>…<y15>`. Nothing but the examples tells which task a prompt comes from. We evaluate on
# **held-out tasks** — label combinations never seen in pre-training — with queries that never appear among
# the examples, so the model must *learn* the grouping from the prompt (`pretraining/corpus.py`).

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

from pretraining import corpus, finetune, icl, lora  # noqa: E402
from pretraining.pretrained import load_gpt, load_tokenizer  # noqa: E402
from pretraining.seeding import seed_everything  # noqa: E402

FULL = full_settings(DEVICE)  # the full grid on a GPU; a smaller one on a CPU (PRETRAINING_FULL=0/1 forces it)
tokenizer, gpt = load_tokenizer("gpt"), load_gpt("gpt", device=DEVICE)
LABELS = [corpus.label_token(y) for y in range(corpus.N_LABELS)]  # the 16 candidate answers
FORMAT = icl.PromptFormat(instruction=corpus.BOS)  # the GPT's own format: [BOS]<x><y><x><y>…<x_q>

# %% [markdown]
# ## 5.1 Building k-shot prompts
#
# Implement `build_prompt(support, query, fmt, tokenizer=None, max_tokens=None)`: the instruction, the
# examples in the order given, then the query with its output prefix, ready for the answer. When the prompt
# is too long, drop the **earliest** examples — never the query.

# %%
rng = np.random.default_rng(0)
task = corpus.sample_task(rng, held_out=True)
support = [(corpus.input_token(x), corpus.label_token(task.label(x))) for x in (5, 12, 7)]
print(icl.build_prompt(support, "<x9>", FORMAT))
text_format = icl.PromptFormat(instruction="Label each input.\n", input_prefix="Input: ", output_prefix="\nLabel: ",
                               separator="\n\n", label_words={"<y1>": "one", "<y2>": "two"})
print(icl.build_prompt([("apple", "<y1>"), ("pear", "<y2>")], "plum", text_format))
print(icl.build_prompt(support, "<x9>", FORMAT, tokenizer=tokenizer, max_tokens=6), "← only the last 2 examples fit in 6 tokens")

# %%
check("build_prompt")

# %% [markdown]
# ## 5.2 Scoring the candidate labels
#
# Classification by in-context learning: the answer is the candidate with the highest log p(candidate |
# prompt). Implement `score_candidates`: all N·C (prompt, candidate) sequences in **one** batched forward
# pass, right-padded, scoring only the candidate's own tokens.

# %%
def icl_prompts(task, k, rng, order_seed=None):
    """One prompt per query input not among the k examples (with the examples shuffled by order_seed)."""
    xs = [int(x) for x in rng.choice(corpus.N_INPUTS, size=k, replace=False)]
    shots = [(corpus.input_token(x), corpus.label_token(task.label(x))) for x in xs]
    if order_seed is not None:
        shots = [shots[i] for i in np.random.default_rng(order_seed).permutation(k)]
    queries = [x for x in range(corpus.N_INPUTS) if x not in xs]
    prompts = [icl.build_prompt(shots, corpus.input_token(q), FORMAT) for q in queries]
    return xs, prompts, np.array([task.label(q) for q in queries])


xs, prompts, answers = icl_prompts(task, 8, np.random.default_rng(1))
scores = icl.score_candidates(gpt, tokenizer, prompts, LABELS)  # (63 - 8 + 1, 16)
print(f"k = 8: {len(prompts)} queries, accuracy {(scores.argmax(1).numpy() == answers).mean():.2f} "
      f"(chance {1 / corpus.N_LABELS:.2f})")

# %%
check("score_candidates")

# %% [markdown]
# ## 5.3 Batching: same results, more prompts per second
#
# Batched evaluation must give the same scores as one prompt at a time (padding and attention masks
# handled). On a GPU, where small steps are bound by kernel launches, batching is what makes evaluation fast;
# on one CPU thread the arithmetic dominates and the two rates are close.

# %%
start = time.perf_counter()
one_by_one = torch.cat([icl.score_candidates(gpt, tokenizer, [p], LABELS) for p in prompts])
t_single = time.perf_counter() - start
start = time.perf_counter()
batched = icl.score_candidates(gpt, tokenizer, prompts, LABELS)
t_batch = time.perf_counter() - start
print(f"max |batched − one at a time| = {(batched - one_by_one).abs().max().item():.2e}")
print(f"{len(prompts) / t_single:.0f} prompts/s one at a time, {len(prompts) / t_batch:.0f} prompts/s batched "
      f"({t_single / t_batch:.1f}×)")

# %% [markdown]
# ## 5.4 Generation with your KV cache
#
# For generation tasks the model writes its answer. Implement `generate_answers`: **left**-pad the prompts
# (so each row's last real token sits at the last position) and decode greedily with `generate_with_cache`.
# On this task the first generated token is the label, so exact match should agree with scoring.

# %%
generated = icl.generate_answers(gpt, tokenizer, prompts, max_new_tokens=1)
exact = np.mean([g.strip() == LABELS[a] for g, a in zip(generated, answers)])
print(f"exact match by generation: {exact:.2f}; by scoring the 16 labels: {(batched.argmax(1).numpy() == answers).mean():.2f}")

# %%
check("generate_answers")

# %% [markdown]
# ## 5.5 The experiment: accuracy against k, in context and fine-tuned
#
# For each held-out task and k, the **same** k examples are either put in the prompt (averaged over several
# orderings: in-context learning is sensitive to order) or used to fine-tune a fresh copy of the model with
# section 4's modes — a new head on the last token of "[BOS] <x>" predicting one of the 16 labels. Error bars:
# standard deviation over tasks (and orderings).

# %%
def finetuned_accuracy(mode, task, xs, steps=30):
    """Fine-tune a fresh classifier on the k pairs (x, label) and test it on every other input."""
    if not xs:
        return 1 / corpus.N_LABELS  # no examples: a new head can only guess
    backbone = copy.deepcopy(gpt.transformer)
    if mode == "lora":
        lora.add_lora(backbone, "c_attn", r=4, alpha=8)
    model = finetune.Classifier(backbone, corpus.N_LABELS, "last")
    finetune.set_trainable(model, mode)

    def encode(inputs):
        ids = torch.tensor([[tokenizer.bos_token_id, tokenizer.convert_tokens_to_ids(corpus.input_token(x))]
                            for x in inputs])
        return ids, torch.ones_like(ids)

    finetune.finetune(model, *encode(xs), torch.tensor([task.label(x) for x in xs]), steps=steps,
                      lr={"head": 1e-2, "lora": 3e-3, "all": 1e-3}[mode], seed=0, progress=False)
    queries = [x for x in range(corpus.N_INPUTS) if x not in xs]
    return finetune.accuracy(model, *encode(queries), torch.tensor([task.label(q) for q in queries]))


KS = [0, 1, 2, 4, 8, 16] if FULL else [0, 1, 4, 16]
N_TASKS, N_ORDERS = (20, 5) if FULL else (6, 3)
MODES = ["head", "lora", "all"]
seed_everything(0)
rng = np.random.default_rng(2026)
tasks = [corpus.sample_task(rng, held_out=True) for _ in range(N_TASKS)]
curves = {name: [] for name in ["in context", *MODES]}
start = time.perf_counter()
for k in KS:
    per_task = {name: [] for name in curves}
    for t, task in enumerate(tasks):
        orders = [None] if k < 2 else list(range(N_ORDERS))
        accs = []
        for order in orders:
            xs, prompts, answers = icl_prompts(task, k, np.random.default_rng(100 * t + k), order)
            accs.append((icl.score_candidates(gpt, tokenizer, prompts, LABELS).argmax(1).numpy() == answers).mean())
        per_task["in context"] += accs
        for mode in MODES:
            per_task[mode].append(finetuned_accuracy(mode, task, xs))
    for name, values in per_task.items():
        curves[name].append((np.mean(values), np.std(values)))
    print(f"k = {k:2d}: " + ", ".join(f"{name} {np.mean(v):.2f}" for name, v in per_task.items()))
print(f"{time.perf_counter() - start:.0f} s")

fig, ax = plt.subplots(figsize=(6.5, 4))
for name, values in curves.items():
    means, stds = np.array(values).T
    ax.errorbar(KS, means, yerr=stds, fmt="o-" if name == "in context" else "s--", capsize=3,
                label=name if name == "in context" else f"fine-tuned: {name}")
ax.axhline(1 / corpus.N_LABELS, color="gray", ls=":", label="chance")
ax.set(title="Held-out tasks: in-context learning vs fine-tuning", xlabel="k examples", xscale="symlog",
       ylabel="accuracy on unseen queries", ylim=(0, 1.02))
ax.set_xticks(KS, [str(k) for k in KS])
ax.legend(fontsize=8)
plt.show()

# %% [markdown]
# **Question 1.** Describe your plot: where does in-context learning win, where does fine-tuning catch up,
# and why is the head-only mode limited here? Relate it to the T-Few claim (lightweight fine-tuning can beat
# in-context learning of much larger models when there are tens of examples).

# %% [answer id=q-icl-vs-ft points=3]
# ### BEGIN SOLUTION
# (Answers depend on the run.) In context, accuracy rises steeply with k: the model learned during
# pre-training to look up an example of the query's group. With one or two examples fine-tuning has almost
# nothing to fit, so in-context learning is ahead; by k = 16 LoRA and full fine-tuning reach about the same
# accuracy. A head on frozen features is limited because the frozen representation of a lone "<x>" barely
# encodes the hidden group — the grouping is only resolved *in context*. T-Few's claim concerns larger real
# models with tens of examples, where prompts get long and fine-tuning a few parameters is cheaper at inference
# and often more accurate; here, at equal size, the two meet as k grows.
# ### END SOLUTION

# %% [markdown]
# **Question 2.** In-context learning changes no parameter, yet its accuracy depends on the order of the
# examples. Why, and what does that imply for how you should report in-context results?

# %% [answer id=q-order points=2]
# ### BEGIN SOLUTION
# The model conditions on the whole sequence, and a causal transformer weighs recent tokens and positions
# differently, so the same set of examples in another order is a different input and can give different
# predictions. Report in-context accuracy as a mean with its spread over several orderings (and example draws),
# not from one lucky or unlucky prompt.
# ### END SOLUTION

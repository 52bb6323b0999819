# %% [markdown]
# # 5 · In-context learning versus fine-tuning
#
# Two ways to use a pre-trained model with k labelled examples: put them **in the prompt** (in-context
# learning, no parameter changes), or **fine-tune** on them (head only, LoRA, or everything — section 4).
# The lecture's claim, from T-Few: when "few-shot" means tens of examples, lightweight fine-tuning can beat
# in-context learning — even in-context learning of much larger models. You run that comparison yourself, on a
# real text task, with a real pre-trained language model (SmolLM2-135M-Instruct, 134.5 M parameters, Llama
# layout) and, beside it, the course's small GPT (0.86 M), so that you see what scale does to in-context
# learning.
#
# You implement, in `starter_code/pretraining/icl.py`: `build_prompt` (k-shot prompts with truncation that
# never cuts the query), `score_candidates` (label log-likelihoods in one batched forward pass) and
# `generate_answers` (greedy, left-padded, with your KV-cache loop from section 3).
#
# **Tasks.** (1) The real one: which of 4 topics a Wikipedia article is about (`data/topics`, as in section 4).
# (2) A synthetic family, kept for one thing real tasks cannot show: learning a mapping that *only* the prompt
# can reveal. The course's GPT was pre-trained partly on sequences of (input, label) pairs: 64 input tokens
# `<x0>…<x63>` fall into 4 hidden groups, and a task gives each group one of 16 label tokens `<y0>…<y15>`.
# On **held-out tasks** (label combinations never seen in pre-training) nothing but the examples tells the
# answer, and the best possible accuracy after k examples is known exactly (`pretraining/corpus.py`) — on a
# real task a model may instead *recognise* a task it met in pre-training, and no one knows the optimum.

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
from pretraining.data import sample_k_shot  # noqa: E402
from pretraining.evaluation import format_ci, linear_probe, mean_ci  # noqa: E402
from pretraining.pretrained import load_gpt, load_tokenizer  # noqa: E402
from pretraining.topics import Examples, k_per_class, load_topics  # noqa: E402

FULL = full_settings(DEVICE)  # the full grid on a GPU; a smaller one on a CPU (PRETRAINING_FULL=0/1 forces it)
tokenizer, gpt = load_tokenizer("gpt"), load_gpt("gpt", device=DEVICE)
lm_tokenizer, lm = load_tokenizer("smollm2"), load_gpt("smollm2", device=DEVICE)
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
qa = icl.PromptFormat(input_prefix="Q: ", output_prefix="\nA:", separator="\n\n")
questions = ["What is the capital of France?", "What is the capital of Japan?", "How many legs does a spider have?"]
shots = [("What is the capital of Italy?", " Rome"), ("How many legs does a dog have?", " Four")]
real = icl.generate_answers(lm, lm_tokenizer, [icl.build_prompt(shots, q, qa) for q in questions], 4, stop="\n")
for q, a in zip(questions, real):
    print(f"SmolLM2, 2-shot: {q!r} → {a.strip()!r}")

# %%
check("generate_answers")

# %% [markdown]
# ## 5.5 The real task: in-context learning against fine-tuning, k from 0 upwards
#
# The same k labelled articles per topic (k · 4 in all) either go **in the prompt** or **fine-tune** the
# model. Prompts are `Article: … / Topic: …` blocks after a one-line instruction, and the answer is the topic
# word with the highest log-probability. Fine-tuning uses section 4's recipe: the **head** is a converged
# logistic regression on frozen features (`linear_probe`), **LoRA** (rank 4 on the attention) and **all**
# train for a number of steps chosen on a validation split (16 labelled articles per topic, the same for
# every method: the prompt-based method has no hyper-parameter to choose with it). Every point is measured:
# with k = 0 there is nothing to fine-tune on, so the fine-tuning curves start at k = 1, while k = 0 in
# context is the zero-shot instruction alone. Articles are cut to their first 160 characters so that 4k of
# them fit in the real model's context of 8,192 tokens; the course GPT's context is 128 tokens, so its
# prompts keep only the latest examples that fit (`build_prompt(..., max_tokens=...)`) — we report how many.

# %%
TOPICS = ["Biology and health sciences", "Geography", "History", "People"]
WORDS = [" Biology", " Geography", " History", " People"]  # what the model writes for each topic
cut = lambda text: text if len(text) <= 160 else text[:160].rsplit(" ", 1)[0] + " …"  # noqa: E731
train_all, test_all = load_topics("train", TOPICS), load_topics("valid", TOPICS)
val_picks = sample_k_shot(train_all.labels, 16 if FULL else 8, np.random.default_rng(12345))
rest = np.setdiff1d(np.arange(len(train_all.labels)), val_picks)
pick = lambda ex, idx: Examples([cut(ex.texts[i]) for i in idx], ex.labels[idx], TOPICS)  # noqa: E731
val, train_pool = pick(train_all, val_picks), pick(train_all, rest)
test = pick(test_all, np.arange(len(test_all.labels)) if FULL else  # on a CPU: 6 per topic, mixed
            np.random.default_rng(7).permutation(sample_k_shot(test_all.labels, 6, np.random.default_rng(7))))
ARTICLE = icl.PromptFormat(instruction="Classify each Wikipedia article by its topic: Biology, Geography, History or People.\n\n",
                           input_prefix="Article: ", output_prefix="\nTopic:", separator="\n\n",
                           label_words=dict(enumerate(WORDS)))
print(f"{len(test.texts)} test, {len(val.texts)} validation articles; one example as the model reads it:\n"
      + icl.build_prompt([(train_pool.texts[0], train_pool.labels[0])], test.texts[0], ARTICLE))
LMS = {"SmolLM2": (lm, lm_tokenizer, 8192), "course GPT": (gpt, tokenizer, gpt.config.n_positions)}


def in_context(name, support, fmt=ARTICLE, order=None, n_test=None):
    """Accuracy on the (first ``n_test``) test articles with the support examples in the prompt (in ``order``)."""
    model, tok, context = LMS[name]
    texts, labels = test.texts[:n_test], test.labels[:n_test]
    shots = list(zip(support.texts, support.labels))
    if order is not None:
        shots = [shots[i] for i in order]
    if name == "SmolLM2":  # one shared prefix: its keys and values are computed once (section 3's cache)
        prefix = icl.build_prompt(shots, "", fmt)[: -len(fmt.input_prefix + fmt.output_prefix) or None]
        queries = [f"{fmt.input_prefix}{x}{fmt.output_prefix}" for x in texts]
        scores, shown = icl.score_after_prefix(model, tok, prefix, queries, [fmt.answer(y) for y in range(4)],
                                               batch_size=64 if DEVICE.type == "cuda" else 8), len(shots)
    else:  # the small GPT: each prompt cut to its context, dropping the earliest examples
        # Its 128-token context cannot hold a long article at all: every article, shown or asked, is cut to its
        # first 64 tokens — what the fine-tuned models read of it too (`encode`).
        shots = [(first_tokens(tok, x), y) for x, y in shots]
        prompts = [icl.fit_prompt(shots, first_tokens(tok, x), fmt, tok, context - 4) for x in texts]
        scores = icl.score_candidates(model, tok, prompts, [fmt.answer(y) for y in range(4)])
        shown = np.mean([p.count(fmt.output_prefix) - 1 for p in prompts])
    return float((scores.argmax(1).numpy() == labels).mean()), shown


ARTICLE_TOKENS = 64  # what a fine-tuned model reads of an article, and all the small GPT sees in context


_cut = {}  # (tokenizer, article) → the article cut to its first ARTICLE_TOKENS tokens: each is cut once


def first_tokens(tok, text: str) -> str:
    if (id(tok), text) not in _cut:
        ids = tok(text, add_special_tokens=False)["input_ids"]
        _cut[id(tok), text] = text if len(ids) <= ARTICLE_TOKENS else tok.decode(ids[:ARTICLE_TOKENS]) + " …"
    return _cut[id(tok), text]


def encode(tok, texts):
    batch = tok(list(texts), padding=True, truncation=True, max_length=ARTICLE_TOKENS, return_tensors="pt")
    return batch["input_ids"], batch["attention_mask"]


FIXED = {}  # model → (validation features, test features)


def fine_tuned(name, mode, ks):
    """Test accuracies after fine-tuning ``name`` on k examples per topic, {k: [one per seed]} for k in ``ks``
    (draw and initialisation: the seed; head: the converged probe)."""
    model, tok, _ = LMS[name]
    backbone = finetune.backbone_of(model)
    runs = [(k, seed) for k in ks for seed in SEEDS]
    supports = [k_per_class(train_pool, k, np.random.default_rng(seed)) for k, seed in runs]
    if mode == "head":
        feats = lambda ex: finetune.pooled_features(backbone, *encode(tok, ex.texts), "last")  # noqa: E731
        if name not in FIXED:  # the validation and test features do not change: compute them once per model
            FIXED[name] = feats(val), feats(test)
        val_x, test_x = FIXED[name]
        accs = [linear_probe(feats(s), s.labels, val_x, val.labels).accuracy(test_x, test.labels) for s in supports]
    else:
        def make():  # a fresh copy of the pre-trained backbone, a new head, the mode's parameters trainable
            classifier = copy.deepcopy(backbone)
            if mode == "lora":
                lora.add_lora(classifier, lora.attention_targets(classifier), r=4, alpha=8)
            classifier = finetune.Classifier(classifier, len(TOPICS), "last")
            finetune.set_trainable(classifier, mode)
            return classifier

        data = lambda ex: (*encode(tok, ex.texts), torch.tensor(ex.labels))  # noqa: E731
        lr = {"lora": 1e-3, "all": 3e-5 if name == "SmolLM2" else 5e-4}[mode]
        accs = finetune.finetune_runs(make, [seed for _, seed in runs], [data(s) for s in supports], data(val), data(test),
                                      steps=48 if FULL else 32, checks=4, lr=lr)
    return {k: [a for (k_, _), a in zip(runs, accs) if k_ == k] for k in ks}


ICL_KS = {"SmolLM2": [0, 1, 2, 4, 8, 16, 32] if FULL else [0, 1, 2], "course GPT": [0, 1, 2, 4] if FULL else [0, 1, 2]}
FT_KS = [1, 8, 32, 64] if FULL else [1, 2]  # a CPU runs tiny k only; FULL meets in context at k = 32 (T-Few: tens of examples)
FT_MODES = {"SmolLM2": ["head", "lora", "all"] if FULL else ["head"], "course GPT": ["head", "lora", "all"]}
SEEDS = list(range(5)) if FULL else [0, 1]
curves, shown = {}, {}  # (model, method) → {k: accuracies over seeds}; (model, k) → examples that fit
start = time.perf_counter()
for name in LMS:
    for k in ICL_KS[name]:
        runs = [in_context(name, k_per_class(train_pool, k, np.random.default_rng(s)) if k else
                           Examples([], np.zeros(0, dtype=np.int64), TOPICS)) for s in (SEEDS if k else [0])]
        curves.setdefault((name, "in context"), {})[k] = [a for a, _ in runs]
        shown[name, k] = float(np.mean([n for _, n in runs]))
    for mode in FT_MODES[name]:  # on a GPU, the runs of a mode train together (one Ensemble)
        curves[name, mode] = fine_tuned(name, mode, FT_KS)
    print(f"{name} done after {time.perf_counter() - start:.0f} s")
print(f"{'model':10} {'method':10} " + " ".join(f"{'k=' + str(k):>20}" for k in sorted({*FT_KS, *ICL_KS['SmolLM2']})))
for (name, method), by_k in curves.items():
    print(f"{name:10} {method:10} " + " ".join(f"{format_ci(by_k[k]) if k in by_k else '':>20}"
                                           for k in sorted({*FT_KS, *ICL_KS['SmolLM2']})))
for name in LMS:
    print(f"{name}: examples that fit in the prompt, per k per topic: "
          + ", ".join(f"k={k}: {shown[name, k]:.1f} of {4 * k}" for k in ICL_KS[name]))

# %%
fig, axes = plt.subplots(1, 2, figsize=(12, 4.2), sharey=True)
for ax, name in zip(axes, LMS):
    for j, ((model_name, method), by_k) in enumerate((key, v) for key, v in curves.items() if key[0] == name):
        ks = sorted(by_k)
        stats = [mean_ci(by_k[k]) for k in ks]
        ax.errorbar(ks, [m for m, _ in stats], yerr=[0 if not np.isfinite(h) else h for _, h in stats],
                    fmt="o-" if method == "in context" else "s--", capsize=3, color=f"C{j}",
                    label=method if method == "in context" else f"fine-tuned: {method}")
    ax.axhline(0.25, color="gray", ls=":", label="chance")
    ax.set(title=f"{name}: 4 Wikipedia topics", xlabel="k examples per topic", xscale="symlog", ylim=(0, 1.02))
    ax.set_xticks(sorted({*FT_KS, *ICL_KS[name]}), [str(k) for k in sorted({*FT_KS, *ICL_KS[name]})])
    ax.legend(fontsize=8, loc="lower right")
axes[0].set_ylabel("test accuracy (mean, 95% CI)")
plt.tight_layout()
plt.show()

# %% [markdown]
# The T-Few question, answered from the table: at the largest k where both were run, does a lightweight
# fine-tuning (head or LoRA) of the real model beat in-context learning of the *same* model, and does it beat it
# with the *smaller* model?

# %%
def compare(a, b):
    (ma, ha), (mb, hb) = mean_ci(a), mean_ci(b)
    if not (np.isfinite(ha) and np.isfinite(hb)):
        return f"{ma:.3f} vs {mb:.3f} (one seed: no interval)"
    verdict = "better" if ma - ha > mb + hb else "worse" if ma + ha < mb - hb else "not separable (intervals overlap)"
    return f"{ma:.3f} ± {ha:.3f} vs {mb:.3f} ± {hb:.3f}: {verdict}"


icl_curve = curves["SmolLM2", "in context"]
for name in LMS:
    for mode in ("head", "lora"):
        if (name, mode) not in curves:
            continue
        shared = sorted(set(curves[name, mode]) & set(icl_curve))
        if shared:
            k = shared[-1]
            print(f"k = {k} per topic ({4 * k} examples): {name} fine-tuned ({mode}) vs SmolLM2 in context: "
                  + compare(curves[name, mode][k], icl_curve[k]))

# %% [markdown]
# ## 5.6 What the prompt's form does, separated from which examples it holds
#
# In-context accuracy varies with three things at once: *which* examples are drawn, their *order*, and the
# *format* of the prompt. We hold each fixed in turn: for several draws of the examples, several orders of each
# draw, and two formats (the one above, and a bare `text => topic` one without instruction). The spread over
# orders within a draw, over draws, and the format effect on the same draws and orders are reported apart.

# %%
BARE = icl.PromptFormat(input_prefix="", output_prefix=" =>", separator="\n", label_words=dict(enumerate(WORDS)))
K_ORDER = 4 if FULL else 1
DRAWS, ORDERS = (5, 3) if FULL else (2, 2)
N_ORDER_TEST = None if FULL else 12  # on a CPU: 12 test articles, a demonstration rather than a measurement
grid = {}  # (format, draw, order) → accuracy
for d in range(DRAWS):
    support = k_per_class(train_pool, K_ORDER, np.random.default_rng(100 + d))
    for o in range(ORDERS):
        order = np.random.default_rng(1000 * d + o).permutation(len(support.texts))
        for fmt_name, fmt in (("Article/Topic", ARTICLE), ("bare =>", BARE)):
            grid[fmt_name, d, o] = in_context("SmolLM2", support, fmt, order, N_ORDER_TEST)[0]
for fmt_name in ("Article/Topic", "bare =>"):
    acc = np.array([[grid[fmt_name, d, o] for o in range(ORDERS)] for d in range(DRAWS)])  # (draws, orders)
    print(f"{fmt_name:14} k = {K_ORDER} per topic: mean {acc.mean():.3f}; std over orders within a draw "
          f"{acc.std(axis=1, ddof=1).mean():.3f}; std over draws (order-averaged) {acc.mean(axis=1).std(ddof=1):.3f}")
diff = np.array([grid["Article/Topic", d, o] - grid["bare =>", d, o] for d in range(DRAWS) for o in range(ORDERS)])
print(f"format effect (Article/Topic − bare, paired on the same draws and orders): {format_ci(diff)}")
order_sd = np.mean([np.std([grid["Article/Topic", d, o] for o in range(ORDERS)], ddof=1) for d in range(DRAWS)])
draw_sd = np.std([np.mean([grid["Article/Topic", d, o] for o in range(ORDERS)]) for d in range(DRAWS)], ddof=1)
# A standard deviation from a handful of draws is itself uncertain by tens of percent: call one source larger only
# when it is at least 1.5 times the other.
larger = max(order_sd, draw_sd) / max(min(order_sd, draw_sd), 1e-12)
verdict = (f"the {'order' if order_sd > draw_sd else 'choice of examples'} matters more in this run" if larger >= 1.5
           else "the two move it about equally in this run (less than 1.5 times apart: too close to rank)")
print(f"Here the order of the examples moves accuracy by about {order_sd:.3f} (std) and the choice of examples by "
      f"about {draw_sd:.3f}: {verdict} "
      f"({DRAWS} draws × {ORDERS} orders{'' if FULL else f' on {N_ORDER_TEST} articles: a CPU demonstration, too few to be sure'}).")

# %% [markdown]
# ## 5.7 The synthetic tasks: learning what only the prompt can tell
#
# On held-out tasks of the synthetic family the answer cannot be recalled from pre-training, and the best
# achievable accuracy after k examples is known exactly. The course GPT, meta-trained on this family, learns
# each new mapping in context; SmolLM2 has never seen these tokens' meaning (for it they are new words), so this
# measures only in-context learning of an arbitrary mapping. (Fine-tuning is left out here: with a new head on a
# lone `<x>` token it would be section 4's experiment on a toy input.)

# %%
SYN_KS = [0, 1, 2, 4, 8, 16] if FULL else [0, 1, 4, 16]
N_TASKS = 20 if FULL else 4
rng = np.random.default_rng(2026)
tasks = [corpus.sample_task(rng, held_out=True) for _ in range(N_TASKS)]
syn = {}
for k in SYN_KS:
    accs = []
    for t, task in enumerate(tasks):
        xs, prompts, answers = icl_prompts(task, k, np.random.default_rng(100 * t + k))
        accs.append((icl.score_candidates(gpt, tokenizer, prompts, LABELS).argmax(1).numpy() == answers).mean())
    syn[k] = accs
    print(f"k = {k:2d}: course GPT {format_ci(accs)} over {N_TASKS} held-out tasks; "
          f"Bayes-optimal {corpus.bayes_optimal_accuracy(k):.3f}")

# %% [markdown]
# **Question 1.** Describe your plot of the real task: where does in-context learning of SmolLM2 stand against
# its fine-tuned versions and against the small GPT, as k grows? Answer the T-Few question (does lightweight
# fine-tuning beat in-context learning when there are tens of examples?) from the printed comparison, whichever
# way it falls, and say what limits the comparison here.

# %% [answer id=q-icl-vs-ft points=3]
# ### BEGIN SOLUTION
# Read it off the printed tables (numbers change with the device: FULL runs more k and seeds). The course GPT's
# in-context accuracy should be compared with chance (0.25) and with SmolLM2's: its 128-token context holds only
# the few articles printed under "examples that fit", and it is 150 times smaller — that gap is what scale buys.
# Fine-tuning needs at least one example per class to be measured at all; as k grows, the converged head and
# LoRA get more data, whereas in-context learning is limited by the context (SmolLM2's 8,192 tokens hold all
# 128 cut articles of k = 32 — the run prints how many fit) and by how well a 135 M model reads
# long prompts. The T-Few question is answered by the
# "fine-tuned vs in context" lines: "better" at the largest shared k supports the lecture's claim, "not
# separable" means this experiment cannot decide, "worse" contradicts it for this model and task. Limits:
# one task, one small model, a validation split that in-context learning does not use, and T-Few compared
# against much *larger* in-context models, which we do not have offline.
# ### END SOLUTION

# %% [markdown]
# **Question 2.** In-context learning changes no parameter, yet its accuracy depends on the order of the
# examples. Why? Compare, from section 5.6, how much the order moves accuracy with how much the choice of
# examples and the format do, and say what that implies for how you should report in-context results.

# %% [answer id=q-order points=2]
# ### BEGIN SOLUTION
# The model conditions on the whole sequence, and a causal transformer weighs recent tokens and positions
# differently, so the same set of examples in another order is a different input and can give different
# predictions. Section 5.6 prints the three spreads separately: the order effect is the standard deviation
# over orders within a draw, the example-choice effect the spread over draws, and the format effect a paired
# difference with its interval. Whichever is largest in your run dominates the uncertainty of a single
# in-context number, so report in-context accuracy as a mean with intervals over draws *and* orders, with the
# format stated — never one lucky or unlucky prompt.
# ### END SOLUTION

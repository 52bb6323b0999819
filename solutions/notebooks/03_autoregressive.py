# %% [markdown]
# # 3 · Autoregressive models
#
# Instead of masking a few positions, predict **every** token from the ones before it: learn
# p_θ(x_t | x_<t). A transformer computes all of these in one pass thanks to a causal mask; at generation
# time it re-uses the keys and values of earlier positions (the **KV cache**) and processes only the newest
# token. And an autoregressive model is a masked autoencoder with a special mask.
#
# You implement, in `starter_code/pretraining/`: `autoregressive.py` (causal mask, causal attention,
# next-token loss, the masked-autoencoder view), `sampling.py` (greedy, temperature, top-k, top-p) and
# `kv_cache.py` (cached decoding). The notebook uses the small GPT the course ships in `data/gpt`
# (4 layers, trained on Wikipedia summaries; see `data/README.md`).

# %%
import sys
from pathlib import Path

sys.path.insert(0, str(next(p for p in [Path.cwd(), *Path.cwd().parents] if (p / "autograder").is_dir())))
from autograder.student import check, setup  # noqa: E402

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
from pretraining.training import train  # noqa: E402

tokenizer, gpt = load_tokenizer("gpt"), load_gpt("gpt", device=DEVICE)
valid_text = load_corpus("valid")
print(f"GPT: {sum(p.numel() for p in gpt.parameters()):,} parameters, vocabulary {len(tokenizer):,}")

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
# computes when you pass `labels` (where padding is marked with −100).

# %%
batch = tokenizer(valid_text[:4], return_tensors="pt", padding=True, truncation=True, max_length=64).to(DEVICE)
with torch.no_grad():
    labels = batch["input_ids"].masked_fill(batch["attention_mask"] == 0, -100)
    out = gpt(**batch, labels=labels)
ours = autoregressive.next_token_loss(out.logits, batch["input_ids"], batch["attention_mask"])
print(f"yours: {ours.item():.4f}   Hugging Face: {out.loss.item():.4f}   (padding: {(batch['attention_mask'] == 0).sum().item()} positions)")

# %%
check("next_token_loss")

# %% [markdown]
# ## 3.3 Training a small GPT: every token is a target
#
# A masked LM learns from ~15% of the positions of each example; a causal LM from all of them. We train a
# 2-layer GPT from scratch on the corpus with your loss and the course's training loop, and compare it with
# the shipped 4-layer model (trained much longer). Perplexity = exp(loss): how many tokens the model is
# "choosing between" on average.

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
              lambda: windows[torch.randint(len(windows), (16,), generator=g)], steps=steps, lr=3e-3)

held_out = torch.cat([torch.tensor(ids) for ids in tokenizer(valid_text[:200])["input_ids"]])
held_out = held_out[: len(held_out) // block * block].view(-1, block).to(DEVICE)
with torch.no_grad():
    small_valid = autoregressive.next_token_loss(small.eval()(held_out).logits, held_out).item()
    shipped_valid = autoregressive.next_token_loss(gpt(held_out).logits, held_out).item()
fig, ax = plt.subplots(figsize=(6, 3.5))
ax.plot(curve, label="training batches (2-layer GPT)")
ax.axhline(small_valid, color="C1", ls="--", label=f"held-out, this model: perplexity {np.exp(small_valid):.0f}")
ax.axhline(shipped_valid, color="C2", ls=":", label=f"held-out, shipped GPT: perplexity {np.exp(shipped_valid):.0f}")
ax.set(title="Next-token training", xlabel="step", ylabel="cross-entropy (nats per token)")
ax.legend()
plt.show()

# %% [markdown]
# ## 3.4 Sampling
#
# Implement `top_k_filter`, `top_p_filter` and `sample_next_token` in `sampling.py`. Temperature < 1
# sharpens the distribution (temperature → 0 is greedy), > 1 flattens it; top-k and top-p cut off the
# unlikely tail. All randomness comes from a `torch.Generator`, so every sample below is reproducible.

# %%
prompt = tokenizer("The capital of France is", return_tensors="pt")["input_ids"].to(DEVICE)


def sample(temperature, top_p=None, seed=0):
    g = torch.Generator().manual_seed(seed)
    choose = lambda logits: sampling.sample_next_token(logits, temperature, top_p=top_p, generator=g)  # noqa: E731
    out = kv_cache.generate_without_cache(gpt, prompt, 20, choose=choose)
    return tokenizer.decode(out[0, prompt.shape[1]:])


for temperature, top_p in [(0.0, None), (0.7, None), (1.0, None), (1.5, None), (1.0, 0.5), (1.0, 0.9)]:
    print(f"T={temperature:<4} top_p={top_p!s:<5} → {sample(temperature, top_p)!r}")

# %%
check("sampling")

# %% [markdown]
# ## 3.5 The KV cache
#
# Implement `generate_with_cache`: run the prompt once, keep `out.cache`, then feed one token per step.
# The tokens must be identical to `generate_without_cache`, which re-runs the whole sequence every step.
# The speed-up grows with the generated length, because uncached decoding redoes O(T²) attention work.
# (The shipped GPT has a 128-token context, so the timing uses an untrained GPT of the same shape with a
# longer context: the cost does not depend on the weights. On a GPU the lengths go up to 1024.)

# %%
print("identical to uncached:", torch.equal(kv_cache.generate_with_cache(gpt, prompt, 30),
                                            kv_cache.generate_without_cache(gpt, prompt, 30)))
lengths = [64, 256, 1024] if DEVICE.type == "cuda" else [32, 64, 128]
timing_model = GPT2LMHeadModel(GPT2Config(vocab_size=len(tokenizer), n_positions=1100, n_embd=128, n_layer=4,
                                          n_head=4, resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0)).to(DEVICE).eval()
prompts = torch.randint(len(tokenizer), (4, 16), device=DEVICE)
seconds = {"with cache": [], "without cache": []}
for n in lengths:
    for name, loop in (("with cache", kv_cache.generate_with_cache), ("without cache", kv_cache.generate_without_cache)):
        start = time.perf_counter()
        tokens = loop(timing_model, prompts, n)
        if DEVICE.type == "cuda":
            torch.cuda.synchronize()
        seconds[name].append(time.perf_counter() - start)
    print(f"{n:5d} new tokens: {seconds['without cache'][-1]:6.2f} s without, {seconds['with cache'][-1]:6.2f} s with "
          f"the cache → {seconds['without cache'][-1] / seconds['with cache'][-1]:.1f}× faster")
fig, ax = plt.subplots(figsize=(5, 3.5))
for name, values in seconds.items():
    ax.plot(lengths, values, "o-", label=name)
ax.set(title="Greedy decoding, batch of 4", xlabel="generated tokens", ylabel="seconds", xscale="log", yscale="log")
ax.legend()
plt.show()

# %%
check("kv_cache")

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
# causal mask but not in BERT? (Two or three sentences.)

# %% [answer id=q-kv-cache points=2]
# ### BEGIN SOLUTION
# With a causal mask, the keys and values of position s depend only on tokens ≤ s, so they never change
# once computed: each step needs only the new token's query, key and value, and attends over the cached
# ones — O(T) work per step instead of re-running O(T²) attention over the prefix. In BERT every position
# attends to every other, so appending a token changes all earlier representations and nothing can be reused.
# ### END SOLUTION

# %% [markdown]
# **Question 2.** The lecture lists as a downside of masked autoencoders that only ~15% of each example
# trains the model. In what sense does the autoregressive objective avoid that, and what does it give up?

# %% [answer id=q-ar-vs-mae points=2]
# ### BEGIN SOLUTION
# Every position is a target (T − 1 predictions per sequence in one pass), so every token trains the model and
# sampling is straightforward. The price is that each prediction sees only the left context, never the right,
# which tends to cost some performance when the representation is fine-tuned for understanding tasks.
# ### END SOLUTION

"""Section 3 checks fail on plausible wrong answers, each with a message that points at the mistake."""

import pytest

AR, SAMPLING, KV = "autoregressive.py", "sampling.py", "kv_cache.py"

WRONG = {
    "mask above the diagonal": (
        {AR: ("return torch.ones(T, T, dtype=torch.bool, device=device).tril()",
              "return torch.ones(T, T, dtype=torch.bool, device=device).triu()")},
        ["causal_mask: position", "causal_attention: matches"]),
    "attention without the 1/sqrt(Dh) scale": (
        {AR: ("/ math.sqrt(q.shape[-1])  # (B, H, T, T)", "  # (B, H, T, T)")},
        ["causal_attention: matches"]),
    "loss without the shift": (
        {AR: ("targets = input_ids[:, 1:]  # (B, T-1)", "targets = input_ids[:, :-1]  # (B, T-1)")},
        ["shifted cross-entropy", "padding is never a target", "masked_autoencoder_loss: equals"]),
    "loss that counts padding": (
        {AR: ("        targets = targets.masked_fill(attention_mask[:, 1:] == 0, IGNORE_INDEX)\n", "        pass\n")},
        ["padding is never a target", "no gradient reaches"]),
    "masked-AE loss read one position too late": (
        {AR: ("last = model(input_ids[:, :t]).logits[:, -1]", "last = model(input_ids[:, :t + 1]).logits[:, -1]")},
        ["masked_autoencoder_loss: equals"]),
    "top-k that keeps k + 1": (
        {SAMPLING: ("torch.topk(logits, k, dim=-1).values[:, -1:]", "torch.topk(logits, k + 1, dim=-1).values[:, -1:]")},
        ["top_k_filter: keeps", "top-k draws"]),
    "top-p that drops the token crossing p": (
        {SAMPLING: ("mass_before = probs.cumsum(dim=-1) - probs", "mass_before = probs.cumsum(dim=-1)")},
        ["top_p_filter: keeps", "top-p draws", "tiny p keeps"]),
    "sampling that ignores the temperature": (
        {SAMPLING: ("    logits = logits / temperature\n", "")},
        ["temperature 2 samples", "temperature → 0"]),
    "sampling from the global random state": (
        {SAMPLING: ("torch.multinomial(probs, 1, generator=generator)", "torch.multinomial(probs, 1)")},
        ["same generator seed"]),
    "cache that never advances the positions": (
        {KV: ("positions = positions[:, -1:] + 1  # (B, 1)", "positions = positions[:, -1:]  # (B, 1)")},
        ["greedy tokens equal", "left-padded prompts"]),
    "no cache at all (correct tokens, slow)": (
        {KV: ("step_ids, cache, generated = input_ids, None, [input_ids]",
              "step_ids, cache, generated = input_ids, None, []"),
         },
        ["greedy tokens equal"]),
}


@pytest.mark.parametrize("mistake", WRONG, ids=list(WRONG))
def test_each_mistake_fails_its_checks(mistake, expect_caught):
    patches, failing = WRONG[mistake]
    expect_caught(patches, failing, select="autoregressive or sampling or kv_cache")

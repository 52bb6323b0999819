"""Wrong implementations of pretraining/sampling.py (see tests/mutants/__init__.py)."""

from mutants import Mutant

SELECT = "sampling"
S = "sampling.py"
KTH = "kth = torch.topk(logits, k, dim=-1).values[:, -1:]  # (B, 1)"
KMASK = 'return logits.masked_fill(logits < kth, float("-inf"))'
SORT = "sorted_logits, order = logits.sort(dim=-1, descending=True)  # (B, V)"
BEFORE = "mass_before = probs.cumsum(dim=-1) - probs  # (B, V)"
SCATTER = "drop = torch.zeros_like(drop_sorted).scatter(-1, order, drop_sorted)  # back to vocabulary order"
GREEDY = "    if temperature == 0:\n        return logits.argmax(dim=-1)\n"
TEMP = "    logits = logits / temperature\n"
FILTERS = """    if top_k is not None:
        logits = top_k_filter(logits, top_k)
    if top_p is not None:
        logits = top_p_filter(logits, top_p)
"""
DRAW = "return torch.multinomial(probs, 1, generator=generator).squeeze(1).to(logits.device)"

MUTANTS = {
    # top_k_filter
    "top-k that keeps k + 1": Mutant("top_k_filter", {S: (KTH, KTH.replace("topk(logits, k,", "topk(logits, k + 1,"))},
                                     catches=("top_k_filter: keeps",)),
    "top-k that drops the k-th": Mutant("top_k_filter", {S: (KMASK, KMASK.replace("logits < kth", "logits <= kth"))}),
    "top-k that breaks ties (exactly k kept)": Mutant("top_k_filter", {S: (KTH + "\n    " + KMASK, (
        "keep = torch.zeros_like(logits, dtype=torch.bool).scatter(-1, torch.topk(logits, k, dim=-1).indices, True)\n"
        '    return logits.masked_fill(~keep, float("-inf"))'))}),
    "top-k that sets the rest to 0": Mutant("top_k_filter", {S: (KMASK, "return logits.masked_fill(logits < kth, 0.0)")}),
    "top-k over the whole batch (wrong axis)": Mutant("top_k_filter", {S: (KTH, (
        "kth = torch.topk(logits.flatten(), k).values[-1]"))}),
    "top-k in float32 whatever the input (a dtype slip)": Mutant("top_k_filter", {S: (KMASK, (
        'return logits.float().masked_fill(logits < kth, float("-inf"))'))}),
    "top-k by sorting": Mutant("top_k_filter", {S: (KTH, (
        "kth = logits.sort(dim=-1, descending=True).values[:, k - 1:k]"))}, kind="harmless"),
    # top_p_filter
    "top-p that drops the token crossing p": Mutant("top_p_filter", {S: (BEFORE, "mass_before = probs.cumsum(dim=-1)")},
                                                    catches=("top_p_filter: keeps",)),
    "top-p without sorting": Mutant("top_p_filter", {S: (SORT, "sorted_logits, order = logits, torch.arange(logits.shape[-1]).expand_as(logits)")}),
    "top-p sorted ascending": Mutant("top_p_filter", {S: (SORT, SORT.replace("descending=True", "descending=False"))}),
    "top-p mask not scattered back to vocabulary order": Mutant("top_p_filter", {S: (SCATTER, "drop = drop_sorted")}),
    "top-p with probabilities over the batch (wrong axis)": Mutant("top_p_filter", {S: (
        "probs = sorted_logits.softmax(dim=-1)", "probs = sorted_logits.softmax(dim=0)")}),
    "top-p by exponentials": Mutant("top_p_filter", {S: ("probs = sorted_logits.softmax(dim=-1)", (
        "probs = (sorted_logits - sorted_logits[:, :1]).exp()\n    probs = probs / probs.sum(dim=-1, keepdim=True)"))},
        kind="harmless"),
    # sample_next_token
    "greedy whenever the temperature is below 0.5": Mutant("sample_next_token", {S: (
        GREEDY, "    if temperature < 0.5:\n        return logits.argmax(dim=-1)\n")}, kind="cheat",
        catches=("per-row frequencies",)),
    "tokens of shape (B, 1)": Mutant("sample_next_token", {S: (DRAW, "return torch.multinomial(probs, 1, generator=generator).to(logits.device)")},
                                     catches=("sample_next_token: a draw is",)),
    "sampling that ignores the temperature": Mutant("sample_next_token", {S: (TEMP, "")},
                                                    catches=("per-row frequencies", "temperature → 0")),
    "temperature multiplied": Mutant("sample_next_token", {S: (TEMP, "    logits = logits * temperature\n")}),
    "filters before the temperature": Mutant("sample_next_token", {S: (TEMP + FILTERS, FILTERS + TEMP)}),
    "top-p before top-k": Mutant("sample_next_token", {S: (FILTERS, """    if top_p is not None:
        logits = top_p_filter(logits, top_p)
    if top_k is not None:
        logits = top_k_filter(logits, top_k)
""")}),
    "top-p ignored when top-k is given": Mutant("sample_next_token", {S: (
        "    if top_p is not None:\n        logits = top_p_filter", "    elif top_p is not None:\n        logits = top_p_filter")}),
    "sampling from the global random state": Mutant("sample_next_token", {S: (
        "torch.multinomial(probs, 1, generator=generator)", "torch.multinomial(probs, 1)")},
        catches=("same generator seed",)),
    "one random number for the whole batch": Mutant("sample_next_token", {S: (DRAW, (
        "u = torch.rand(1, generator=generator)\n"
        "    return (probs.cumsum(dim=-1) < u).sum(dim=-1).clamp(max=probs.shape[-1] - 1).to(logits.device)"))}),
    "a fresh generator seeded 0 at every call": Mutant("sample_next_token", {S: (
        "torch.multinomial(probs, 1, generator=generator)",
        "torch.multinomial(probs, 1, generator=torch.Generator().manual_seed(0))")}, kind="cheat"),
    "Gumbel-max with the generator": Mutant("sample_next_token", {S: (DRAW, (
        "u = torch.rand(probs.shape, generator=generator, dtype=torch.float64).clamp_min(1e-300)\n"
        "    return (probs.double().log() - (-u.log()).log()).argmax(dim=-1).to(logits.device)"))}, kind="harmless"),
    "inverse CDF with one uniform per row": Mutant("sample_next_token", {S: (DRAW, (
        "u = torch.rand(probs.shape[0], 1, generator=generator, dtype=torch.float64)\n"
        "    cdf = probs.double().cumsum(dim=-1)\n"
        "    return (cdf < u * cdf[:, -1:]).sum(dim=-1).to(logits.device)"))}, kind="harmless"),
}

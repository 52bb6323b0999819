"""Wrong implementations of pretraining/autoregressive.py (see tests/mutants/__init__.py)."""

from mutants import Mutant

SELECT = "autoregressive"
SELECT_BY_FUNCTION = {  # these functions' own checks need no model: a cheaper grading
    "causal_mask": "autoregressive and causal",
    "causal_attention": "autoregressive and causal",
    "next_token_loss": "autoregressive and next_token_loss",
}
AR = "autoregressive.py"
MASK = "return torch.ones(T, T, dtype=torch.bool, device=device).tril()"
SCORES = "scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])  # (B, H, T, T)"
FILL = 'scores = scores.masked_fill(~causal_mask(T, q.device), float("-inf"))'
SOFTMAX = "return scores.softmax(dim=-1) @ v  # (B, H, T, Dh)"
TARGETS = "targets = input_ids[:, 1:]  # (B, T-1)"
PAD = "        targets = targets.masked_fill(attention_mask[:, 1:] == 0, IGNORE_INDEX)\n"
PRED = "predictions = logits[:, :-1]  # (B, T-1, V)"
CE = """    return F.cross_entropy(predictions.reshape(-1, predictions.shape[-1]), targets.reshape(-1),
                           ignore_index=IGNORE_INDEX)"""
LAST = "last = model(input_ids[:, :t]).logits[:, -1]"
LOOP = "    for t in range(1, T):\n"
MEAN = "return torch.stack(nll, dim=1).mean()  # mean over (B, T-1)"

MUTANTS = {
    # causal_mask
    "mask above the diagonal": Mutant("causal_mask", {AR: (MASK, MASK.replace("tril()", "triu()"))},
                                      catches=("causal_mask: position", "causal_attention: softmax")),
    "mask without the diagonal": Mutant("causal_mask", {AR: (MASK, MASK.replace("tril()", "tril(-1)"))}),
    "float mask (a dtype slip)": Mutant("causal_mask", {AR: (MASK, "return torch.ones(T, T, device=device).tril()")},
                                        catches=("causal_mask: position",)),
    "mask of size 5 whatever T (shape special-casing)": Mutant(
        "causal_mask", {AR: (MASK, "return torch.ones(5, 5, dtype=torch.bool, device=device).tril()")}, kind="cheat"),
    "no masking at all": Mutant("causal_mask", {AR: (MASK, "return torch.ones(T, T, dtype=torch.bool, device=device)")}),
    "mask by comparing positions": Mutant("causal_mask", {AR: (MASK, (
        "i = torch.arange(T, device=device)\n    return i[:, None] >= i[None, :]"))}, kind="harmless"),
    # causal_attention
    "attention without the 1/sqrt(Dh) scale": Mutant(
        "causal_attention", {AR: ("/ math.sqrt(q.shape[-1])  # (B, H, T, T)", "  # (B, H, T, T)")},
        catches=("causal_attention: softmax",)),
    "attention scaled by 1/Dh": Mutant("causal_attention", {AR: ("/ math.sqrt(q.shape[-1])", "/ q.shape[-1]")}),
    "softmax over the queries (wrong axis)": Mutant(
        "causal_attention", {AR: (SOFTMAX, "return scores.softmax(dim=-2) @ v  # (B, H, T, Dh)")}),
    "mask applied after the softmax": Mutant("causal_attention", {AR: (FILL + "\n    " + SOFTMAX, (
        "return scores.softmax(dim=-1).masked_fill(~causal_mask(T, q.device), 0.0) @ v"))}),
    "mask transposed": Mutant("causal_attention", {AR: (FILL, FILL.replace("~causal_mask(T, q.device)",
                                                                           "~causal_mask(T, q.device).T"))}),
    "delegates to scaled_dot_product_attention": Mutant("causal_attention", {AR: (
        SCORES + "\n    " + FILL + "\n    " + SOFTMAX,
        "return F.scaled_dot_product_attention(q, k, v, is_causal=True)")}, kind="cheat"),
    "attention with a large negative number and einsum": Mutant("causal_attention", {AR: (
        SCORES + "\n    " + FILL + "\n    " + SOFTMAX,
        "scores = torch.einsum('bhqd,bhkd->bhqk', q, k) * q.shape[-1] ** -0.5\n"
        "    scores = scores.masked_fill(~causal_mask(T, q.device), torch.finfo(scores.dtype).min)\n"
        "    return torch.einsum('bhqk,bhkd->bhqd', scores.softmax(-1), v)")}, kind="harmless"),
    # next_token_loss
    "loss without the shift": Mutant("next_token_loss", {AR: (TARGETS, "targets = input_ids[:, :-1]  # (B, T-1)")},
                                     catches=("shifted cross-entropy",)),
    "loss that counts padding": Mutant("next_token_loss", {AR: (PAD, "        pass\n")},
                                       catches=("padding is never a target", "no gradient reaches")),
    "padding masked one position early": Mutant("next_token_loss", {AR: (PAD, PAD.replace("attention_mask[:, 1:]",
                                                                                           "attention_mask[:, :-1]"))}),
    "right padding only (lengths from the mask)": Mutant("next_token_loss", {AR: (PAD, (
        "        lengths = attention_mask.sum(dim=1, keepdim=True)  # (B, 1)\n"
        "        t = torch.arange(1, input_ids.shape[1], device=input_ids.device)[None]\n"
        "        targets = targets.masked_fill(t >= lengths, IGNORE_INDEX)\n"))}),
    "mean over every position, padding included in the count": Mutant("next_token_loss", {AR: (CE, (
        "    total = F.cross_entropy(predictions.reshape(-1, predictions.shape[-1]), targets.reshape(-1),\n"
        "                            ignore_index=IGNORE_INDEX, reduction='sum')\n"
        "    return total / targets.numel()"))}),
    "predictions shifted the wrong way": Mutant("next_token_loss", {AR: (PRED, "predictions = logits[:, 1:]")}),
    "loss by log_softmax and a masked mean": Mutant("next_token_loss", {AR: (CE, (
        "    counted = targets != IGNORE_INDEX\n"
        "    nll = -predictions.log_softmax(-1).gather(-1, targets.clamp(min=0)[..., None]).squeeze(-1)\n"
        "    return nll[counted].mean()"))}, kind="harmless"),
    # masked_autoencoder_loss
    "masked-AE loss that returns the one-pass loss": Mutant("masked_autoencoder_loss", {AR: (
        "    T = input_ids.shape[1]\n    nll = []\n",
        "    return next_token_loss(model(input_ids).logits, input_ids)\n    T = input_ids.shape[1]\n    nll = []\n")},
        kind="cheat", catches=("masked_autoencoder_loss: T−1 masked passes",)),
    "masked-AE loss read one position too late": Mutant("masked_autoencoder_loss", {AR: (
        LAST, "last = model(input_ids[:, :t + 1]).logits[:, -1]")}),
    "masked-AE loss summed over positions": Mutant("masked_autoencoder_loss", {AR: (
        MEAN, "return torch.stack(nll, dim=1).sum(dim=1).mean()")}),
    "masked-AE loss that skips the first target": Mutant("masked_autoencoder_loss", {AR: (
        LOOP, "    for t in range(2, T):\n")}),
    "masked-AE loss read at the first position": Mutant("masked_autoencoder_loss", {AR: (
        LAST, "last = model(input_ids[:, :t]).logits[:, 0]")}),
    "masked-AE loss that hides positions ≥ t with an attention mask": Mutant("masked_autoencoder_loss", {AR: (
        LAST, "hide = (torch.arange(T) < t).long()[None].expand_as(input_ids)\n"
              "        last = model(input_ids, attention_mask=hide).logits[:, t - 1]")}, kind="harmless"),
}

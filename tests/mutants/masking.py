"""Wrong implementations of pretraining/masking.py (see tests/mutants/__init__.py)."""

from mutants import Mutant

SELECT = "test_masking"
M = "masking.py"
CHOSEN = "chosen = (torch.rand(shape, generator=generator, device=device) < select_prob) & ~protected  # (B, T)"
LABELS = "    labels = input_ids.masked_fill(~chosen, IGNORE_INDEX)  # (B, T)\n"
RANDOM_IDS = "torch.randint(vocab_size, shape, generator=generator, device=device, dtype=input_ids.dtype)"
SPLIT = "    to_random = chosen & (u >= mask_prob) & (u < mask_prob + random_prob)\n"
CE = "F.cross_entropy(logits.reshape(-1, logits.shape[-1]), labels.reshape(-1), ignore_index=IGNORE_INDEX)"
# span_mask
CHAIN = "p = torch.where(fresh, mask_rate, torch.where(previous, 1.0 - 1.0 / mean_span, start_prob))  # (B,)"
STEP = "        previous, fresh = in_span[:, t], protected[:, t]\n"
SPAN_U = "u = torch.rand(input_ids.shape, generator=generator, device=input_ids.device)  # (B, T), one draw per position"
SPAN_RETURN = ("    return bert_mask(input_ids, generator, mask_token_id=mask_token_id, vocab_size=vocab_size,\n"
               "                     special_mask=~in_span, select_prob=1.0, mask_prob=mask_prob, random_prob=random_prob)\n")
# mlm_loss
MLM_MASK = "inputs, labels = bert_mask(input_ids, generator, **mask_kwargs)  # x̃, y: (B, T) each"
MLM_MODEL = "logits = model(input_ids=inputs).logits  # ŷ: (B, T, V)"

MUTANTS = {
    # -- bert_mask --------------------------------------------------------------------------------------------
    "labels hold the corrupted inputs": Mutant(
        "bert_mask", {M: ("    return inputs, labels\n    ### END SOLUTION\n\n\ndef span_mask",
                          "    return inputs, inputs.masked_fill(~chosen, IGNORE_INDEX)\n    ### END SOLUTION\n\n\ndef span_mask")},
        catches=("bert_mask",)),
    "special_mask ignored": Mutant(
        "bert_mask", {M: ("protected = special_positions(input_ids, special_ids, special_mask)  # (B, T)\n    shape,",
                          "protected = special_positions(input_ids, special_ids)  # (B, T)\n    shape,")},
        catches=("bert_mask",)),
    "random 10% drawn apart from the 80% (≈2% random, 18% kept)": Mutant(
        "bert_mask", {M: (SPLIT, "    to_random = chosen & ~to_mask & (torch.rand(shape, generator=generator) < random_prob)\n")},
        catches=("bert_mask",)),
    "selection from the global random state": Mutant(
        "bert_mask", {M: (CHOSEN, CHOSEN.replace("generator=generator, ", ""))}, catches=("bert_mask",)),
    "one mask shared by every row": Mutant(
        "bert_mask", {M: (CHOSEN, CHOSEN.replace("torch.rand(shape,", "torch.rand(shape[-1:],"))}, catches=("bert_mask",)),
    "one random token for every replacement": Mutant(
        "bert_mask", {M: (RANDOM_IDS, "torch.randint(vocab_size, (1,), generator=generator, device=device, "
                                      "dtype=input_ids.dtype).expand(shape)")}, catches=("bert_mask",)),
    "random ids never the last one (off by one)": Mutant(
        "bert_mask", {M: (RANDOM_IDS, RANDOM_IDS.replace("torch.randint(vocab_size,", "torch.randint(vocab_size - 1,"))},
        catches=("bert_mask",)),
    "masking in place": Mutant(
        "bert_mask", {M: ("inputs = input_ids.masked_fill(to_mask, mask_token_id)",
                          "inputs = input_ids.masked_fill_(to_mask, mask_token_id)")}, catches=("bert_mask",)),
    "exactly 15% of every row": Mutant(
        "bert_mask", {M: (CHOSEN, "score = torch.rand(shape, generator=generator, device=device).masked_fill(protected, 2.0)\n"
                                  "    n = (select_prob * (~protected).sum(dim=1, keepdim=True)).round().long()\n"
                                  "    chosen = score.argsort(dim=1).argsort(dim=1) < n")}, catches=("bert_mask",)),
    "a generator of its own, seeded from the one given": Mutant(
        "bert_mask", {M: ("    shape, device = input_ids.shape, input_ids.device\n",
                          "    shape, device = input_ids.shape, input_ids.device\n"
                          "    generator = torch.Generator().manual_seed(generator.initial_seed())\n")},
        catches=("bert_mask",)),
    "other draw order": Mutant(
        "bert_mask", {M: ("    u = torch.rand(shape, generator=generator, device=device)  # (B, T)\n"
                          "    to_mask = chosen & (u < mask_prob)\n" + SPLIT + "    random_ids = " + RANDOM_IDS + "\n",
                          "    random_ids = " + RANDOM_IDS + "\n"
                          "    u = 1 - torch.rand(shape, generator=generator, device=device)  # (B, T)\n"
                          "    to_random = chosen & (u <= random_prob)\n"
                          "    to_mask = chosen & (u > random_prob) & (u <= random_prob + mask_prob)\n")},
        kind="harmless"),
    # -- span_mask --------------------------------------------------------------------------------------------
    "tokens chosen independently (no spans: bert_mask at mask_rate)": Mutant(
        "span_mask", {M: (SPAN_RETURN, "    return bert_mask(input_ids, generator, mask_token_id=mask_token_id, "
                                       "vocab_size=vocab_size, special_ids=special_ids, special_mask=special_mask, "
                                       "select_prob=mask_rate, mask_prob=mask_prob, random_prob=random_prob)\n")},
        kind="cheat", catches=("span_mask",)),
    "span goes on with probability 1/m": Mutant(
        "span_mask", {M: (CHAIN, CHAIN.replace("1.0 - 1.0 / mean_span", "1.0 / mean_span"))}, catches=("span_mask",)),
    "new spans start at mask_rate": Mutant(
        "span_mask", {M: (CHAIN, CHAIN.replace("start_prob))", "mask_rate))"))}, catches=("span_mask",)),
    "spans run on through special tokens": Mutant(
        "span_mask", {M: (STEP, "        previous, fresh = u[:, t] < p, torch.zeros_like(fresh)\n")}, catches=("span_mask",)),
    "span masking in place": Mutant(
        "span_mask", {M: (SPAN_RETURN, SPAN_RETURN.replace("    return bert_mask(", "    inputs, labels = bert_mask(")
                          + "    input_ids.copy_(inputs)\n    return inputs, labels\n")},
        catches=("span_mask",)),
    "one span chain for the whole batch": Mutant(
        "span_mask", {M: (SPAN_U, "u = torch.rand(T, generator=generator, device=input_ids.device).expand(B, T)")},
        catches=("span_mask",)),
    "a fresh draw per column": Mutant(
        "span_mask", {M: ("(u[:, t] < p)", "(torch.rand(B, generator=generator, device=input_ids.device) < p)")},
        kind="harmless"),
    # -- masked_cross_entropy ---------------------------------------------------------------------------------
    "cross-entropy that scores ignored positions as token 0": Mutant(
        "masked_cross_entropy", {M: (CE, CE.replace("labels.reshape(-1), ignore_index=IGNORE_INDEX)", "labels.reshape(-1).clamp(min=0))"))},
        catches=("masked_cross_entropy",)),
    "mean over every position": Mutant(
        "masked_cross_entropy", {M: (CE, CE.replace("ignore_index=IGNORE_INDEX)", "ignore_index=IGNORE_INDEX, reduction='sum') / labels.numel()"))},
        catches=("masked_cross_entropy",)),
    "softmax before the cross-entropy": Mutant(
        "masked_cross_entropy", {M: (CE, CE.replace("logits.reshape(-1, logits.shape[-1])", "logits.softmax(-1).reshape(-1, logits.shape[-1])"))},
        catches=("masked_cross_entropy",)),
    "mean per row, then over rows": Mutant(
        "masked_cross_entropy", {M: ("    return " + CE + "\n",
                                     "    per = F.cross_entropy(logits.transpose(1, 2), labels, ignore_index=IGNORE_INDEX, reduction='none')\n"
                                     "    n = (labels != IGNORE_INDEX).sum(dim=1).clamp(min=1)\n"
                                     "    return (per.sum(dim=1) / n).mean()\n")},
        catches=("masked_cross_entropy",)),
    "classes on dimension 1": Mutant(
        "masked_cross_entropy", {M: ("    return " + CE + "\n",
                                     "    return F.cross_entropy(logits.transpose(1, 2), labels, ignore_index=IGNORE_INDEX)\n")},
        kind="harmless"),
    # -- mlm_loss ---------------------------------------------------------------------------------------------
    "the model sees the clean input": Mutant(
        "mlm_loss", {M: (MLM_MODEL, "logits = model(input_ids=input_ids).logits")}, catches=("mlm_loss",)),
    "mask arguments dropped": Mutant(
        "mlm_loss", {M: (MLM_MASK, "inputs, labels = bert_mask(input_ids, generator, mask_token_id=mask_kwargs['mask_token_id'], "
                                   "vocab_size=mask_kwargs['vocab_size'])")}, catches=("mlm_loss",)),
    "a generator of its own": Mutant(
        "mlm_loss", {M: (MLM_MASK, MLM_MASK.replace("bert_mask(input_ids, generator,", "bert_mask(input_ids, torch.Generator().manual_seed(0),"))},
        catches=("mlm_loss",)),
    "loss without a gradient": Mutant(
        "mlm_loss", {M: ("    return masked_cross_entropy(logits, labels)\n", "    return masked_cross_entropy(logits, labels).detach()\n")},
        catches=("mlm_loss",)),
}

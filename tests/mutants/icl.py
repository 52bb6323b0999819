"""Wrong implementations of pretraining/icl.py (see tests/mutants/__init__.py)."""

from mutants import Mutant

SELECT = "icl"
ICL = "icl.py"
SHOTS = 'shots = "".join(f"{fmt.input_prefix}{x}{fmt.output_prefix}{fmt.answer(y)}{fmt.separator}" for x, y in examples)'
WHILE = '    while len(tokenizer(prompt, add_special_tokens=False)["input_ids"]) > max_tokens:\n'
PAD_LEFT = "        ids[i, T - len(e):] = torch.tensor(e)\n        mask[i, T - len(e):] = 1\n"
GEN = "    out = generate_with_cache(model, ids.to(device), max_new_tokens, attention_mask=mask.to(device))\n"
SCORE_BODY_START = "    with torch.no_grad():\n        # Only the candidates' positions"
TOTAL = "total = torch.zeros(len(rows)).index_add_(0, row, log_probs)  # sum over each candidate's tokens"
RETURN = "    return total.reshape(len(prompts), len(candidates))\n"

MUTANTS = {
    # build_prompt
    "examples in reverse order": Mutant("build_prompt", {ICL: (SHOTS, SHOTS.replace("for x, y in examples)", "for x, y in reversed(examples))"))},
                                        catches=("examples in order",)),
    "truncation drops the latest example": Mutant("build_prompt", {ICL: ("        examples = examples[1:]\n", "        examples = examples[:-1]\n")},
                                                  catches=("never the query",)),
    "no error when the query cannot fit": Mutant("build_prompt", {ICL: (
        "        if not examples:\n            raise ValueError", "        if not examples:\n            return prompt\n            raise ValueError")},
        catches=("raises ValueError",)),
    "label words ignored": Mutant("build_prompt", {ICL: ("{fmt.answer(y)}{fmt.separator}", "{y}{fmt.separator}")},
                                  catches=("label words",)),
    "a prompt of exactly max_tokens counted as too long": Mutant("build_prompt", {ICL: (WHILE, WHILE.replace("> max_tokens", ">= max_tokens"))}),
    "no separator after the last example": Mutant("build_prompt", {ICL: (SHOTS, (
        'shots = fmt.separator.join(f"{fmt.input_prefix}{x}{fmt.output_prefix}{fmt.answer(y)}" for x, y in examples)'))}),
    "instruction dropped when truncating": Mutant("build_prompt", {ICL: (
        "        examples = examples[1:]\n        prompt = write(examples)\n",
        "        examples = examples[1:]\n        prompt = write(examples).removeprefix(fmt.instruction)\n")}),
    "examples dropped from a copy of the prompt string": Mutant("build_prompt", {ICL: ("        examples = examples[1:]\n", (
        "        examples = [e for i, e in enumerate(examples) if i > 0]\n"))}, kind="harmless"),
    # score_candidates
    "scores read without the shift": Mutant("score_candidates", {ICL: (
        "hidden[row.to(device), col.to(device)]", "hidden[row.to(device), (col + 1).to(device)]")},
        catches=("log p(candidate | prompt)",)),
    "mean instead of sum over the candidate's tokens": Mutant("score_candidates", {ICL: (TOTAL, (
        "total = torch.zeros(len(rows)).index_add_(0, row, log_probs) / scored.sum(dim=1)"))},
        catches=("log p(candidate | prompt)",)),
    "the prompt's last token scored too": Mutant("score_candidates", {ICL: (
        "scored[i, len(p):len(p) + len(c)] = True", "scored[i, len(p) - 1:len(p) + len(c)] = True")}),
    "probabilities instead of log-probabilities": Mutant("score_candidates", {ICL: (RETURN, (
        "    return total.exp().reshape(len(prompts), len(candidates))\n"))}),
    "(C, N) instead of (N, C)": Mutant("score_candidates", {ICL: (RETURN, (
        "    return total.reshape(len(prompts), len(candidates)).T.contiguous()\n"))}),
    "one forward pass per prompt": Mutant("score_candidates", {ICL: (
        "def score_candidates(model, tokenizer, prompts: list[str], candidates: list[str]) -> torch.Tensor:\n",
        "def score_candidates(model, tokenizer, prompts: list[str], candidates: list[str]) -> torch.Tensor:\n"
        "    if len(prompts) > 1:\n"
        "        return torch.cat([score_candidates(model, tokenizer, [p], candidates) for p in prompts])\n")},
        catches=("one batched forward pass",)),
    "every position's logits in one pass": Mutant("score_candidates", {ICL: (
        "        hidden = model.base_model(input_ids=ids.to(device), attention_mask=mask.to(device)).last_hidden_state\n"
        "        row, col = scored[:, 1:].nonzero(as_tuple=True)  # token (row, col + 1) is predicted at (row, col)\n"
        "        logits = model.get_output_embeddings()(hidden[row.to(device), col.to(device)]).float().cpu()  # (M, V)\n",
        "        everything = model(input_ids=ids.to(device), attention_mask=mask.to(device)).logits.float().cpu()\n"
        "        row, col = scored[:, 1:].nonzero(as_tuple=True)\n"
        "        logits = everything[row, col]\n")}, kind="harmless"),
    # generate_answers
    "right padding for generation": Mutant("generate_answers", {ICL: (PAD_LEFT, (
        "        ids[i, :len(e)] = torch.tensor(e)\n        mask[i, :len(e)] = 1\n"))}, catches=("one left-padded batch",)),
    "one prompt at a time (no padding at all)": Mutant("generate_answers", {ICL: (
        "    device = next(model.parameters()).device\n    encoded = [tokenizer(p, add_special_tokens=False)",
        "    if len(prompts) > 1:\n"
        "        return [generate_answers(model, tokenizer, [p], max_new_tokens, stop)[0] for p in prompts]\n"
        "    device = next(model.parameters()).device\n    encoded = [tokenizer(p, add_special_tokens=False)")},
        catches=("one left-padded batch",)),
    "calls model.generate": Mutant("generate_answers", {ICL: (GEN, (
        "    out = model.generate(ids.to(device), attention_mask=mask.to(device), max_new_tokens=max_new_tokens,\n"
        "                         do_sample=False, pad_token_id=pad)\n"))}, kind="cheat"),
    "no attention mask": Mutant("generate_answers", {ICL: (GEN, GEN.replace(", attention_mask=mask.to(device)", ""))}),
    "answers decoded with their prompts": Mutant("generate_answers", {ICL: (
        "tokenizer.decode(row[T:].tolist(), skip_special_tokens=True)", "tokenizer.decode(row.tolist(), skip_special_tokens=True)")}),
    "stop ignored": Mutant("generate_answers", {ICL: ("    return [a.split(stop)[0] if stop else a for a in answers]\n",
                                                      "    return answers\n")}),
    "padding with another id (it is masked out)": Mutant("generate_answers", {ICL: (
        "    ids = torch.full((len(encoded), T), pad, dtype=torch.long)\n    mask = torch.zeros((len(encoded), T), dtype=torch.long)\n    for i, e in enumerate(encoded):\n        ids[i, T - len(e):]",
        "    ids = torch.full((len(encoded), T), 1, dtype=torch.long)\n    mask = torch.zeros((len(encoded), T), dtype=torch.long)\n    for i, e in enumerate(encoded):\n        ids[i, T - len(e):]")},
        kind="harmless"),
}

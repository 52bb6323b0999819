"""In-context learning: put the k labelled examples in the prompt instead of training on them.

A k-shot prompt is an optional instruction, k solved examples, and the query left open::

    {instruction}{input_prefix}{x_1}{output_prefix}{y_1}{separator} … {input_prefix}{x_q}{output_prefix}

The model then answers by the label it finds most likely (classification: score every candidate label) or
by what it writes (generation: greedy decoding with the KV cache of section 3).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from pretraining.kv_cache import generate_with_cache


@dataclass(frozen=True)
class PromptFormat:
    """How examples are written down. ``label_words`` maps a label to the text the model should produce."""

    instruction: str = ""
    input_prefix: str = ""
    output_prefix: str = ""
    separator: str = ""
    label_words: dict | None = None

    def answer(self, label) -> str:
        return str(self.label_words[label]) if self.label_words is not None else str(label)


PLAIN = PromptFormat()  # the shipped GPT's own format: <x…><y…><x…><y…>…<x_q>


def build_prompt(support: list[tuple[str, object]], query: str, fmt: PromptFormat = PLAIN,
                 tokenizer=None, max_tokens: int | None = None) -> str:
    """The k-shot prompt for ``query`` with the ``support`` examples in the order given.

    Args:
        support:    k (input, label) pairs; labels are written with ``fmt.answer(label)``.
        query:      the input to label; the prompt ends right after its ``output_prefix``.
        tokenizer, max_tokens: if both are given and the prompt is longer than ``max_tokens`` tokens, drop
                    the *earliest* examples until it fits — the query and the instruction are never cut.

    Raises:
        ValueError: if even the prompt with no examples is longer than ``max_tokens``.
    """
    ### BEGIN SOLUTION
    ### HINT: write each example as input_prefix + x + output_prefix + answer + separator; after the instruction and the examples, input_prefix + query + output_prefix. Drop support[0] while too long.
    def write(examples):
        shots = "".join(f"{fmt.input_prefix}{x}{fmt.output_prefix}{fmt.answer(y)}{fmt.separator}" for x, y in examples)
        return f"{fmt.instruction}{shots}{fmt.input_prefix}{query}{fmt.output_prefix}"

    examples = list(support)
    prompt = write(examples)
    if tokenizer is None or max_tokens is None:
        return prompt
    while len(tokenizer(prompt, add_special_tokens=False)["input_ids"]) > max_tokens:
        if not examples:
            raise ValueError(f"the query alone needs more than max_tokens={max_tokens} tokens")
        examples = examples[1:]
        prompt = write(examples)
    return prompt
    ### END SOLUTION


def fit_prompt(support: list[tuple[str, object]], query: str, fmt: PromptFormat, tokenizer, max_tokens: int) -> str:
    """``build_prompt(support, query, fmt, tokenizer, max_tokens)``, the same prompt, for a long ``support`` of
    which only the last few examples fit: asked of the last 1, 2, 4, … examples until it drops one.

    build_prompt keeps the longest run of latest examples that fits; once it drops one of the last n, none of
    the longer runs fits either (an extra example never makes a prompt shorter), so stopping there gives its
    answer for the whole support. 128 examples of which one fits: two calls of build_prompt, not 128 tokenizations.
    Given, not graded.
    """
    n = 1
    while True:
        last = list(support[-n:])
        prompt = build_prompt(last, query, fmt, tokenizer=tokenizer, max_tokens=max_tokens)
        if n >= len(support) or prompt != build_prompt(last, query, fmt):  # the whole support, or some dropped
            return prompt
        n *= 2


def score_candidates(model, tokenizer, prompts: list[str], candidates: list[str]) -> torch.Tensor:
    """log p(candidate | prompt), summed over the candidate's tokens, for every prompt and every candidate.

    All N·C sequences (prompt + candidate) go through the model in ONE batched forward pass: they are
    right-padded to the same length, and only the candidate's own tokens are scored. (Tip: the logits of
    every position are (N·C, T, V) numbers; ``model.base_model`` gives the hidden states and
    ``model.get_output_embeddings()`` the output layer, to compute logits only where they are needed.)

    Args:
        prompts:    N strings; candidates: C strings (e.g. the label words), each ≥ 1 token.

    Returns:
        (N, C) float tensor on the CPU.
    """
    ### BEGIN SOLUTION
    ### HINT: tokenize prompt and candidate separately and concatenate ids; right-pad; the logits at t score token t+1; sum log_softmax over each candidate's positions.
    device = next(model.parameters()).device
    encode = lambda text: tokenizer(text, add_special_tokens=False)["input_ids"]  # noqa: E731
    prompt_ids, candidate_ids = [encode(p) for p in prompts], [encode(c) for c in candidates]
    rows = [(p, c) for p in prompt_ids for c in candidate_ids]  # N·C (prompt, candidate) pairs
    T = max(len(p) + len(c) for p, c in rows)
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    ids = torch.full((len(rows), T), pad, dtype=torch.long)
    mask = torch.zeros((len(rows), T), dtype=torch.long)
    scored = torch.zeros((len(rows), T), dtype=torch.bool)  # positions whose token belongs to the candidate
    for i, (p, c) in enumerate(rows):
        ids[i, :len(p) + len(c)] = torch.tensor(p + c)
        mask[i, :len(p) + len(c)] = 1
        scored[i, len(p):len(p) + len(c)] = True
    with torch.no_grad():
        # Only the candidates' positions need the vocabulary-sized output layer: run the body of the model,
        # then the output layer on those rows alone (the bulk of the cost when the vocabulary is large).
        hidden = model.base_model(input_ids=ids.to(device), attention_mask=mask.to(device)).last_hidden_state
        row, col = scored[:, 1:].nonzero(as_tuple=True)  # token (row, col + 1) is predicted at (row, col)
        logits = model.get_output_embeddings()(hidden[row.to(device), col.to(device)]).float().cpu()  # (M, V)
    log_probs = logits.log_softmax(dim=-1).gather(1, ids[row, col + 1][:, None]).squeeze(1)  # (M,)
    total = torch.zeros(len(rows)).index_add_(0, row, log_probs)  # sum over each candidate's tokens
    return total.reshape(len(prompts), len(candidates))
    ### END SOLUTION


def generate_answers(model, tokenizer, prompts: list[str], max_new_tokens: int, stop: str | None = None) -> list[str]:
    """Greedy answers to a batch of prompts with the KV-cache loop; the text after each prompt, cut at ``stop``.

    Prompts of different lengths are LEFT-padded, so that every row's newest token sits at the last
    position, where the next token is read.
    """
    ### BEGIN SOLUTION
    ### HINT: left-pad the encoded prompts (attention_mask 0 on the padding), call generate_with_cache(model, ids, max_new_tokens, attention_mask=mask), decode only the new tokens.
    device = next(model.parameters()).device
    encoded = [tokenizer(p, add_special_tokens=False)["input_ids"] for p in prompts]
    T = max(len(e) for e in encoded)
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    ids = torch.full((len(encoded), T), pad, dtype=torch.long)
    mask = torch.zeros((len(encoded), T), dtype=torch.long)
    for i, e in enumerate(encoded):
        ids[i, T - len(e):] = torch.tensor(e)
        mask[i, T - len(e):] = 1
    out = generate_with_cache(model, ids.to(device), max_new_tokens, attention_mask=mask.to(device))
    answers = [tokenizer.decode(row[T:].tolist(), skip_special_tokens=True) for row in out.cpu()]
    return [a.split(stop)[0] if stop else a for a in answers]
    ### END SOLUTION


@torch.no_grad()
def score_after_prefix(model, tokenizer, prefix: str, queries: list[str], candidates: list[str],
                       batch_size: int = 64) -> torch.Tensor:
    """:func:`score_candidates` for prompts that all start with the same ``prefix`` (the instruction and the k
    examples), computed once: the prefix's keys and values are cached (section 3) and every
    (query, candidate) row attends to them, so a long k-shot prefix costs one forward pass, not N·C.

    ``batch_size`` rows at a time are packed one after another into ONE sequence after the prefix, with a mask
    that lets each token see the whole prefix and the earlier tokens of its own row only, and positions that
    restart after the prefix for every row: what each row would compute alone, without copying the prefix's
    cache once per row (a 6,000-token prefix of SmolLM2 is 0.27 GB of keys and values; 64 copies of it per
    batch cost more than the rows themselves).

    Equals ``score_candidates(model, tokenizer, [prefix + q for q in queries], candidates)`` up to float
    round-off: each prompt ``prefix + query`` is tokenized as a whole (a tokenizer may merge characters across
    the boundary, e.g. "\\n\\n" + "Article"), and the cached part is the token prefix all prompts share.
    Given, not graded.

    Returns:
        (N, C) float tensor on the CPU: log p(candidate | prefix + query), summed over the candidate's tokens.
    """
    import copy

    device = next(model.parameters()).device
    encode = lambda texts: tokenizer(texts, add_special_tokens=False)["input_ids"]  # noqa: E731
    # one call per list: a fast tokenizer encodes a batch in parallel, not N long prompts one by one
    prompts, candidate_ids = encode([prefix + q for q in queries]), encode(list(candidates))
    P = min(len(ids) for ids in prompts) - 1  # every row keeps at least one token of its own
    while P > 0 and any(ids[:P] != prompts[0][:P] for ids in prompts):
        P -= 1
    if P <= 0:
        return score_candidates(model, tokenizer, [prefix + q for q in queries], candidates)
    body = model.base_model
    prefix_cache = body(input_ids=torch.tensor([prompts[0][:P]], device=device), use_cache=True).cache
    single = all(len(c) == 1 for c in candidate_ids)  # one row per query then reads every candidate at once
    rows = [(ids[P:], []) for ids in prompts] if single else [(ids[P:], c) for ids in prompts for c in candidate_ids]
    dtype = next(model.parameters()).dtype
    totals = []
    for start in range(0, len(rows), batch_size):
        chunk = rows[start:start + batch_size]
        lengths = torch.tensor([len(q) + len(c) for q, c in chunk])  # (b,)
        ends = lengths.cumsum(0)  # (b,): where each row stops in the packed sequence
        ids = torch.tensor([t for q, c in chunk for t in q + c])  # (L,) the b rows one after another
        row = torch.arange(len(chunk)).repeat_interleave(lengths)  # (L,) the row of each packed token
        positions = P + torch.arange(len(ids)) - (ends - lengths)[row]  # (L,) P, P + 1, … again for every row
        own = (row[:, None] == row[None, :]) & torch.ones(len(ids), len(ids), dtype=torch.bool).tril()  # (L, L)
        allowed = torch.cat([torch.ones(len(ids), P, dtype=torch.bool), own], dim=1)  # (L, P + L): prefix + own row
        mask = torch.zeros(allowed.shape, dtype=dtype).masked_fill(~allowed, torch.finfo(dtype).min)
        hidden = body(input_ids=ids[None].to(device), attention_mask=mask[None, None].to(device),
                      position_ids=positions[None].to(device), cache=copy.deepcopy(prefix_cache),
                      use_cache=True).last_hidden_state[0]  # (L, D)
        if single:  # the state at each query's last token scores all C one-token candidates
            logits = model.get_output_embeddings()(hidden[(ends - 1).to(device)]).float()  # (b, V)
            totals.append(logits.log_softmax(-1)[:, [c[0] for c in candidate_ids]].cpu())  # (b, C)
            continue
        # token j of row i's candidate sits at ends_i − len(c) + j; the state just before it predicts it (every
        # query has ≥ 1 token, so that state is the row's own)
        where = torch.tensor([end - len(c) + j for end, (_, c) in zip(ends.tolist(), chunk) for j in range(len(c))])
        logits = model.get_output_embeddings()(hidden[(where - 1).to(device)]).float()  # (n, V)
        log_p = logits.log_softmax(-1).gather(1, ids[where][:, None].to(device)).squeeze(1).cpu()  # (n,)
        totals.append(torch.zeros(len(chunk)).index_add_(0, row[where], log_p))
    return torch.cat(totals).reshape(len(queries), len(candidates))

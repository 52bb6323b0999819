"""Wrong implementations of pretraining/kv_cache.py (see tests/mutants/__init__.py)."""

from mutants import Mutant

SELECT = "kv_cache"
KV = "kv_cache.py"
BODY = """    if attention_mask is None:
        attention_mask = torch.ones_like(input_ids)
    positions = _positions(attention_mask)  # (B, T)
    step_ids, cache, generated = input_ids, None, [input_ids]
    for _ in range(max_new_tokens):
        out = model(step_ids, attention_mask=attention_mask, position_ids=positions, cache=cache, use_cache=True)
        cache = out.cache
        step_ids = choose(out.logits[:, -1])[:, None]  # (B, 1): next step's only input
        generated.append(step_ids)
        attention_mask = torch.cat([attention_mask, attention_mask.new_ones(len(step_ids), 1)], dim=1)
        positions = positions[:, -1:] + 1  # (B, 1)
    return torch.cat(generated, dim=1)  # (B, T + max_new_tokens)
"""
CALL = "out = model(step_ids, attention_mask=attention_mask, position_ids=positions, cache=cache, use_cache=True)"
ADVANCE = "positions = positions[:, -1:] + 1  # (B, 1)"
CHOOSE = "step_ids = choose(out.logits[:, -1])[:, None]  # (B, 1): next step's only input"
EXTEND = "        attention_mask = torch.cat([attention_mask, attention_mask.new_ones(len(step_ids), 1)], dim=1)\n"


def body(new: str) -> dict:
    return {KV: (BODY, new)}


MUTANTS = {
    "cache that never advances the positions": Mutant(
        "generate_with_cache", {KV: (ADVANCE, "positions = positions[:, -1:]  # (B, 1)")},
        catches=("greedy tokens equal",)),
    "calls model.generate": Mutant("generate_with_cache", body("""    return model.generate(input_ids, attention_mask=attention_mask, max_new_tokens=max_new_tokens,
                          do_sample=False, pad_token_id=0)
"""), kind="cheat", catches=("greedy tokens equal",)),
    "recomputes the prefix through base_model, then calls the model on one position": Mutant(
        "generate_with_cache", body("""    if attention_mask is None:
        attention_mask = torch.ones_like(input_ids)
    ids = input_ids
    for _ in range(max_new_tokens):
        hidden = model.base_model(ids, attention_mask=attention_mask,
                                  position_ids=_positions(attention_mask)).last_hidden_state
        token = choose(model.get_output_embeddings()(hidden[:, -1]))  # (B,)
        model(token[:, None], attention_mask=attention_mask[:, -1:], use_cache=False)  # for show: one position
        ids = torch.cat([ids, token[:, None]], dim=1)
        attention_mask = torch.cat([attention_mask, attention_mask.new_ones(len(token), 1)], dim=1)
    return ids
"""), kind="cheat", catches=("one position per step",)),
    "no cache: the whole sequence at every step": Mutant("generate_with_cache", body("""    if attention_mask is None:
        attention_mask = torch.ones_like(input_ids)
    ids = input_ids
    for _ in range(max_new_tokens):
        out = model(ids, attention_mask=attention_mask, position_ids=_positions(attention_mask))
        token = choose(out.logits[:, -1])
        ids = torch.cat([ids, token[:, None]], dim=1)
        attention_mask = torch.cat([attention_mask, attention_mask.new_ones(len(token), 1)], dim=1)
    return ids
"""), catches=("one position per step",)),
    "attention mask ignored": Mutant("generate_with_cache", {KV: (CALL, CALL.replace(
        "attention_mask=attention_mask, ", ""))}, catches=("left-padded prompts",)),
    "positions that ignore left padding": Mutant("generate_with_cache", {KV: (
        "positions = _positions(attention_mask)  # (B, T)",
        "positions = torch.arange(input_ids.shape[1]).expand_as(input_ids)  # (B, T)")},
        catches=("left-padded prompts",)),
    "choose ignored (always greedy)": Mutant("generate_with_cache", {KV: (CHOOSE, CHOOSE.replace(
        "choose(out.logits[:, -1])", "out.logits[:, -1].argmax(dim=-1)"))}, catches=("`choose` picks",)),
    "attention mask not extended": Mutant("generate_with_cache", {KV: (EXTEND, "")}),
    "returns only the new tokens": Mutant("generate_with_cache", {KV: (
        "step_ids, cache, generated = input_ids, None, [input_ids]", "step_ids, cache, generated = input_ids, None, []")}),
    "one token too few": Mutant("generate_with_cache", {KV: (
        "    for _ in range(max_new_tokens):\n        out = model(step_ids,",
        "    for _ in range(max_new_tokens - 1):\n        out = model(step_ids,")}),
    "positions from the mask at every step": Mutant("generate_with_cache", {KV: (ADVANCE, (
        "positions = attention_mask.long().sum(dim=1, keepdim=True) - 1  # (B, 1)"))}, kind="harmless"),
    "output written into a preallocated tensor": Mutant("generate_with_cache", {KV: (
        "    return torch.cat(generated, dim=1)  # (B, T + max_new_tokens)\n",
        "    result = input_ids.new_zeros(len(input_ids), input_ids.shape[1] + max_new_tokens)\n"
        "    result[:, :input_ids.shape[1]] = input_ids\n"
        "    for i, token in enumerate(generated[1:]):\n"
        "        result[:, input_ids.shape[1] + i] = token[:, 0]\n"
        "    return result\n")}, kind="harmless"),
}

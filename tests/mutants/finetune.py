"""Wrong implementations of pretraining/finetune.py (see tests/mutants/__init__.py)."""

from mutants import Mutant

SELECT = "finetune"
SELECT_BY_FUNCTION = {"pool": "finetune and pool"}  # pool's own checks need no model: a cheaper grading
FT = "finetune.py"
LAST = "        last = (positions * (attention_mask > 0)).amax(dim=1)  # (B,): index of each row's last real token\n"
GATHER = "return hidden[torch.arange(len(hidden), device=hidden.device), last]  # (B, D)"
PICK = 'layers[{"first": 0, "middle": len(layers) // 2, "last": -1}[mode]].requires_grad_(True)'
FREEZE = "    model.requires_grad_(False)\n    model.head.requires_grad_(True)\n"
LORA = "                layer.A.requires_grad_(True)\n"
COUNT = "return sum(p.numel() for p in params if p.requires_grad), sum(p.numel() for p in params)"


def last(expr: str) -> dict:
    return {FT: (LAST, f"        last = {expr}\n")}


MUTANTS = {
    # pool
    "last token taken at T - 1 (ignores right padding)": Mutant(
        "pool", last("torch.full((len(hidden),), T - 1, device=hidden.device)"), catches=("each row's last real token",)),
    "last token = number of real tokens - 1 (breaks on left padding)": Mutant(
        "pool", last("attention_mask.sum(dim=1) - 1"), catches=(("last real token", "[left]"),)),
    "last token = the first real token": Mutant("pool", last("attention_mask.argmax(dim=1)")),
    "cls taken at the last position": Mutant("pool", {FT: ("        return hidden[:, 0]\n", "        return hidden[:, -1]\n")}),
    "gather that broadcasts to (B, B, D)": Mutant("pool", {FT: (GATHER, "return hidden[:, last]  # (B, D)")}),
    "mean over every position, padding included": Mutant("pool", {FT: (
        "        return (hidden * m).sum(dim=1) / m.sum(dim=1).clamp(min=1)  # (B, D)\n",
        "        return hidden.mean(dim=1)\n")}),
    "mean of the real tokens divided by T": Mutant("pool", {FT: (
        "        return (hidden * m).sum(dim=1) / m.sum(dim=1).clamp(min=1)  # (B, D)\n",
        "        return (hidden * m).sum(dim=1) / hidden.shape[1]\n")}),
    "last real token found on the flipped mask": Mutant("pool", last(
        "T - 1 - attention_mask.flip(1).argmax(dim=1)"), kind="harmless"),
    # set_trainable
    "head frozen": Mutant("set_trainable", {FT: ("    model.head.requires_grad_(True)\n", "")},
                          catches=(("exactly the mode's parameters train", "[head]"),)),
    "middle block off by one": Mutant("set_trainable", {FT: (PICK, PICK.replace("len(layers) // 2", "len(layers) // 2 - 1"))},
                                      catches=(("exactly the mode's parameters train", "[middle]"),)),
    "middle block right only for 3 blocks": Mutant("set_trainable", {FT: (PICK, PICK.replace("len(layers) // 2", "1"))},
                                                   catches=(("exactly the mode's parameters train", "[middle]"),)),
    "middle block rounded down from (n - 1) / 2": Mutant("set_trainable", {FT: (PICK, PICK.replace("len(layers) // 2", "(len(layers) - 1) // 2"))}),
    "only switches parameters on (never freezes first)": Mutant("set_trainable", {FT: (
        FREEZE, "    model.head.requires_grad_(True)\n")}, catches=(("exactly the mode's parameters train",),)),
    "lora mode trains the whole wrapper (base too)": Mutant("set_trainable", {FT: (LORA, "                layer.requires_grad_(True)\n")},
                                                            catches=(("exactly the mode's parameters train", "[lora]"),)),
    "first block together with the embeddings": Mutant("set_trainable", {FT: (
        "    elif mode in (\"first\", \"middle\", \"last\"):\n",
        "    elif mode in (\"first\", \"middle\", \"last\"):\n        if mode == \"first\":\n"
        "            for name, p in model.backbone.named_parameters():\n"
        "                if name.startswith((\"wte\", \"wpe\", \"embeddings\")):\n                    p.requires_grad_(True)\n")}),
    "lora factors found by name": Mutant("set_trainable", {FT: (
        "        for layer in model.modules():\n            if isinstance(layer, LoRALinear):\n"
        "                layer.A.requires_grad_(True)\n                layer.B.requires_grad_(True)\n",
        "        for name, p in model.named_parameters():\n            if name.endswith((\".A\", \".B\")):\n"
        "                p.requires_grad_(True)\n")}, kind="harmless"),
    # count_parameters
    "count includes frozen as trainable": Mutant("count_parameters", {FT: (COUNT, "return sum(p.numel() for p in params), sum(p.numel() for p in params)")},
                                                 catches=("a shared tensor counted once",)),
    "tied weights counted twice": Mutant("count_parameters", {FT: ("params = list(model.parameters())",
                                                                   "params = [p for _, p in model.named_parameters(remove_duplicate=False)]")}),
    "buffers counted as parameters": Mutant("count_parameters", {FT: (COUNT, (
        "return sum(p.numel() for p in params if p.requires_grad), sum(t.numel() for t in model.state_dict().values())"))}),
    "tensors counted, not numbers": Mutant("count_parameters", {FT: (COUNT, "return sum(1 for p in params if p.requires_grad), len(params)")}),
    "(total, trainable) swapped": Mutant("count_parameters", {FT: (COUNT, "return sum(p.numel() for p in params), sum(p.numel() for p in params if p.requires_grad)")}),
    "count through data pointers": Mutant("count_parameters", {FT: ("params = list(model.parameters())", (
        "params = list({p.data_ptr(): p for p in model.parameters()}.values())"))}, kind="harmless"),
}

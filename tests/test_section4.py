"""Section 4 checks fail on plausible wrong answers, each with a message that points at the mistake."""

import pytest

LORA, FT = "lora.py", "finetune.py"

WRONG = {
    "both factors zero": (
        {LORA: ("nn.init.kaiming_uniform_(self.B.T, a=math.sqrt(5))", "nn.init.zeros_(self.B)")},
        ["A Bᵀ = 0 at first", "A gets a gradient"]),
    "both factors random": (
        {LORA: ("self.A = nn.Parameter(torch.zeros(", "self.A = nn.Parameter(torch.ones(")},
        ["A Bᵀ = 0 at first"]),
    "base left trainable": (
        {LORA: ("            p.requires_grad_(False)\n        self.A", "            pass\n        self.A")},
        ["A Bᵀ = 0 at first", "the base never"]),
    "no alpha / r scaling": (
        {LORA: ("return y + self.scale * (x @ self.B) @ self.A.T", "return y + (x @ self.B) @ self.A.T")},
        ["with given A, B", ("peft's LoRA", "[linear]")]),
    "Conv1D delta not transposed": (
        {LORA: ("return self.scale * self.B @ self.A.T", "return self.scale * (self.A @ self.B.T).T.T")},
        ["explicitly in Conv1D", "moves by exactly"]),
    "merge that adds the change every time": (
        {LORA: ("        if not self.merged:\n            self.base.weight += self.delta()",
                "        if True:\n            self.base.weight += self.delta()")},
        ["merge/unmerge"]),
    "merged forward that adds the change again": (
        {LORA: ("        if self.merged:\n            return y\n", "")},
        ["merge/unmerge", "moves by exactly"]),
    "last token taken at T - 1 (ignores right padding)": (
        {FT: ("        last = (positions * (attention_mask > 0)).amax(dim=1)",
              "        last = torch.full((len(hidden),), T - 1, device=hidden.device)")},
        ["is each row's last real token"]),
    "last token = number of real tokens - 1 (breaks on left padding)": (
        {FT: ("        last = (positions * (attention_mask > 0)).amax(dim=1)",
              "        last = attention_mask.sum(dim=1) - 1")},
        ["left padding"]),
    "head frozen": (
        {FT: ("    model.head.requires_grad_(True)\n", "")},
        [("exactly the mode's parameters train", "[head]"), "every mode", "only the mode's parameters"]),
    "middle block off by one": (
        {FT: ('"middle": len(layers) // 2', '"middle": len(layers) // 2 - 1')},
        ["every mode", ("only the mode's parameters", "[middle]")]),
    "lora mode trains the whole wrapper (base too)": (
        {FT: ("                layer.A.requires_grad_(True)\n", "                layer.requires_grad_(True)\n")},
        ["every mode", ("only the mode's parameters", "[lora]")]),
    "count includes frozen as trainable": (
        {FT: ("return sum(p.numel() for p in params if p.requires_grad)", "return sum(p.numel() for p in params)")},
        [("exactly the mode's parameters train", "[head]"), "every mode"]),
}


@pytest.mark.parametrize("mistake", WRONG, ids=list(WRONG))
def test_each_mistake_fails_its_checks(mistake, expect_caught):
    patches, failing = WRONG[mistake]
    expect_caught(patches, failing, select="lora or finetune")

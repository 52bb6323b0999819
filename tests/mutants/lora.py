"""Wrong implementations of pretraining/lora.py (see tests/mutants/__init__.py)."""

from mutants import Mutant

SELECT = "lora"
L = "lora.py"
INIT_B = "nn.init.kaiming_uniform_(self.B.T, a=math.sqrt(5))  # as nn.Linear initialises a (r, d_in) weight"
A_NEW = "self.A = nn.Parameter(torch.zeros(d_out, r, dtype=base.weight.dtype, device=base.weight.device))"
B_NEW = "self.B = nn.Parameter(torch.empty(d_in, r, dtype=base.weight.dtype, device=base.weight.device))"
FREEZE = "        for p in base.parameters():\n            p.requires_grad_(False)\n"
DELTA = "return self.scale * self.A @ self.B.T\n"
FORWARD = "return y + self.scale * (x @ self.B) @ self.A.T  # (…, r) → (…, d_out)"
MERGED = "        if self.merged:\n            return y\n"
MERGE = """        if not self.merged:
            self.base.weight += self.delta()
            self.merged = True
"""
UNMERGE = """        if self.merged:
            self.base.weight -= self.delta()
            self.merged = False
"""
CONV_DELTA = "return self.scale * self.B @ self.A.T\n"

MUTANTS = {
    # LoRALinear.__init__
    "both factors zero": Mutant("LoRALinear.__init__", {L: (INIT_B, "nn.init.zeros_(self.B)")},
                                catches=("A (d_out, r) = 0", "A gets a gradient")),
    "A starts random (ones), not zero": Mutant("LoRALinear.__init__", {L: (A_NEW, A_NEW.replace("torch.zeros(", "torch.ones("))},
                                               catches=("A (d_out, r) = 0",)),
    "base left trainable": Mutant("LoRALinear.__init__", {L: (FREEZE, "")}, catches=("A (d_out, r) = 0", "the base never")),
    "A random and B zero (swapped roles)": Mutant("LoRALinear.__init__", {L: (
        A_NEW + "\n        " + B_NEW + "\n        " + INIT_B,
        "self.A = nn.Parameter(torch.empty(d_out, r))\n        nn.init.kaiming_uniform_(self.A, a=math.sqrt(5))\n"
        "        self.B = nn.Parameter(torch.zeros(d_in, r))")}),
    "factors as plain tensors (not parameters)": Mutant("LoRALinear.__init__", {L: (
        A_NEW + "\n        " + B_NEW,
        "self.A = torch.zeros(d_out, r, requires_grad=True)\n        self.B = torch.empty(d_in, r, requires_grad=True)")}),
    "B one repeated value": Mutant("LoRALinear.__init__", {L: (INIT_B, "nn.init.constant_(self.B, 0.1)")}),
    "B drawn from a normal distribution": Mutant("LoRALinear.__init__", {L: (INIT_B, "nn.init.normal_(self.B, std=0.02)")},
                                                 kind="harmless"),
    # LoRALinear.delta
    "delta without α/r": Mutant("LoRALinear.delta", {L: (DELTA, "return self.A @ self.B.T\n")}),
    "delta scaled by α instead of α/r": Mutant("LoRALinear.delta", {L: (DELTA, "return self.scale * self.r * self.A @ self.B.T\n")}),
    "delta in the transposed layout": Mutant("LoRALinear.delta", {L: (DELTA, "return self.scale * self.B @ self.A.T\n")}),
    "delta right only for rank 1": Mutant("LoRALinear.delta", {L: (DELTA, "return self.scale * self.A[:, :1] @ self.B[:, :1].T\n")}),
    # LoRALinear.forward
    "no alpha / r scaling": Mutant("LoRALinear.forward", {L: (FORWARD, FORWARD.replace("self.scale * ", ""))},
                                   catches=("A(Bᵀx) with given A, B", ("peft's LoRA", "[linear]"))),
    "merged forward that adds the change again": Mutant("LoRALinear.forward", {L: (MERGED, "")},
                                                        catches=("merge/unmerge",)),
    "forward that forms W₀ + ΔW": Mutant("LoRALinear.forward", {L: ("        y = self.base(x)  # (…, d_out)\n", (
        "        if not self.merged:\n"
        "            return self.base(x) + x @ self.delta().T if isinstance(self.base, nn.Linear) "
        "else self.base(x) + x @ self.delta()\n"
        "        y = self.base(x)  # (…, d_out)\n"))}),
    "forward right only for 2-d inputs": Mutant("LoRALinear.forward", {L: (FORWARD, (
        "return y.reshape(-1, y.shape[-1]) + self.scale * (x.reshape(-1, x.shape[-1]) @ self.B) @ self.A.T"))}),
    "forward that detaches B": Mutant("LoRALinear.forward", {L: (FORWARD, FORWARD.replace("(x @ self.B)", "(x @ self.B.detach())"))}),
    "forward as x Bᵀ… through einsum": Mutant("LoRALinear.forward", {L: (FORWARD, (
        "return y + self.scale * torch.einsum('...r,or->...o', torch.einsum('...i,ir->...r', x, self.B), self.A)"))},
        kind="harmless"),
    # LoRALinear.merge
    "merge that adds the change every time": Mutant("LoRALinear.merge", {L: (MERGE, MERGE.replace("if not self.merged:", "if True:"))},
                                                    catches=("merge/unmerge",)),
    "merge that only sets merged = True for nn.Linear (forward ignores the flag)": Mutant("LoRALinear.merge", {L: (
        MERGED + "        return y + " + FORWARD.split("return y + ")[1] + """
        ### END SOLUTION

    @torch.no_grad()
    def merge(self) -> None:
        \"\"\"Fold the change into the base weight: same outputs, one matrix product per call.\"\"\"
        ### BEGIN SOLUTION
        ### HINT: base.weight += delta(), once; remember that it is merged.
""" + MERGE, "        return y + " + FORWARD.split("return y + ")[1] + """
        ### END SOLUTION

    @torch.no_grad()
    def merge(self) -> None:
        \"\"\"Fold the change into the base weight: same outputs, one matrix product per call.\"\"\"
        ### BEGIN SOLUTION
        if isinstance(self.base, nn.Linear):
            self.merged = True  # pretend: the weight is left as it is and forward ignores the flag
            return
""" + MERGE)}, kind="cheat", catches=("merge/unmerge",)),
    "merge that subtracts": Mutant("LoRALinear.merge", {L: (MERGE, MERGE.replace("+=", "-="))}),
    "merge that never sets the flag": Mutant("LoRALinear.merge", {L: (MERGE, MERGE.replace("            self.merged = True\n", ""))}),
    "merge in the wrong layout": Mutant("LoRALinear.merge", {L: (MERGE, MERGE.replace("self.delta()", "self.delta().T.reshape(self.base.weight.shape)"))}),
    # LoRALinear.unmerge
    "unmerge that subtracts every time": Mutant("LoRALinear.unmerge", {L: (UNMERGE, UNMERGE.replace("if self.merged:", "if True:"))},
                                                catches=("merge/unmerge",)),
    "unmerge that keeps the flag": Mutant("LoRALinear.unmerge", {L: (UNMERGE, UNMERGE.replace("            self.merged = False\n", ""))}),
    "unmerge that adds": Mutant("LoRALinear.unmerge", {L: (UNMERGE, UNMERGE.replace("-=", "+="))}),
    "unmerge that only clears the flag": Mutant("LoRALinear.unmerge", {L: (UNMERGE, "        self.merged = False\n")}),
    "unmerge that restores a saved copy of W₀": Mutant("LoRALinear.unmerge", {L: (
        UNMERGE, "        if self.merged:\n            self.base.weight.copy_(self.base.weight - self.delta())\n"
                 "            self.merged = False\n")}, kind="harmless"),
    # LoRAConv1D.delta
    "Conv1D delta not transposed": Mutant("LoRAConv1D.delta", {L: (CONV_DELTA, "return self.scale * (self.A @ self.B.T).T.T\n")},
                                          catches=("explicitly in Conv1D",)),
    "Conv1D delta without α/r": Mutant("LoRAConv1D.delta", {L: (CONV_DELTA, "return self.B @ self.A.T\n")}),
    "Conv1D delta reshaped instead of transposed": Mutant("LoRAConv1D.delta", {L: (CONV_DELTA, (
        "return (self.scale * self.A @ self.B.T).reshape(self.B.shape[0], self.A.shape[0])\n"))}),
    "Conv1D delta scaled by α": Mutant("LoRAConv1D.delta", {L: (CONV_DELTA, "return self.scale * self.r * self.B @ self.A.T\n")}),
}

"""Wrong implementations of pretraining/few_shot.py (see tests/mutants/__init__.py)."""

from mutants import Mutant

SELECT = "test_few_shot"
F = "few_shot.py"
FREEZE = "    for p in module.parameters():\n        p.requires_grad_(False)\n"
INIT = "        self.encoder = freeze(encoder)\n        self.head = nn.Linear(latent_dim, n_classes)\n"
FWD = "        with torch.no_grad():\n            r = self.encoder(x)  # (B, L)\n        return self.head(r)  # (B, C)\n"
OPT = "optimizer = torch.optim.Adam([p for p in probe.parameters() if p.requires_grad], lr=lr)"
LOSS = "lambda batch: F.cross_entropy(probe(batch[0]), batch[1])"

MUTANTS = {
    # -- freeze -----------------------------------------------------------------------------------------------
    "freeze that forgets eval mode": Mutant(
        "freeze", {F: ("    return module.eval()\n", "    return module\n")}, catches=("freeze",)),
    "freeze that sets an attribute of the module": Mutant(
        "freeze", {F: (FREEZE, "    module.requires_grad = False\n")}, catches=("freeze",)),
    "freeze that returns nothing": Mutant(
        "freeze", {F: ("    return module.eval()\n", "    module.eval()\n")}, catches=("freeze",)),
    "freeze of the top-level parameters only": Mutant(
        "freeze", {F: (FREEZE, FREEZE.replace("module.parameters()", "module.parameters(recurse=False)"))}, catches=("freeze",)),
    "freeze with requires_grad_ and train(False)": Mutant(
        "freeze", {F: (FREEZE + "    return module.eval()\n", "    return module.requires_grad_(False).train(False)\n")},
        kind="harmless"),
    # -- LinearProbe.__init__ ---------------------------------------------------------------------------------
    "probe that does not freeze": Mutant(
        "LinearProbe.__init__", {F: (INIT, INIT.replace("freeze(encoder)", "encoder"))}, catches=("LinearProbe",)),
    "probe head without a bias": Mutant(
        "LinearProbe.__init__", {F: (INIT, INIT.replace("n_classes)", "n_classes, bias=False)"))}, catches=("LinearProbe",)),
    "probe whose head is frozen too": Mutant(
        "LinearProbe.__init__", {F: (INIT, INIT.replace("nn.Linear(latent_dim, n_classes)", "freeze(nn.Linear(latent_dim, n_classes))"))},
        catches=("LinearProbe",)),
    "probe that only stops the encoder's gradients": Mutant(
        "LinearProbe.__init__", {F: (INIT, INIT.replace("freeze(encoder)", "encoder.requires_grad_(False)"))},
        catches=("LinearProbe",)),
    # -- LinearProbe.forward ----------------------------------------------------------------------------------
    "probe that returns probabilities": Mutant(
        "LinearProbe.forward", {F: ("return self.head(r)  # (B, C)", "return self.head(r).softmax(dim=-1)  # (B, C)")},
        catches=("LinearProbe",)),
    "probe whose logits carry no gradient": Mutant(
        "LinearProbe.forward", {F: (FWD, "        with torch.no_grad():\n            return self.head(self.encoder(x))\n")},
        catches=("LinearProbe",)),
    "probe that puts the encoder in training mode": Mutant(
        "LinearProbe.forward", {F: (FWD, "        self.encoder.train()\n" + FWD)}, catches=("LinearProbe",)),
    "probe that standardises the features": Mutant(
        "LinearProbe.forward", {F: ("return self.head(r)  # (B, C)",
                                    "return self.head((r - r.mean(0)) / (r.std(0) + 1e-6))  # (B, C)")},
        catches=("LinearProbe",)),
    # -- fit_linear_probe -------------------------------------------------------------------------------------
    "fit with SGD instead of Adam": Mutant(
        "fit_linear_probe", {F: (OPT, OPT.replace("torch.optim.Adam(", "torch.optim.SGD("))}, catches=("fit_linear_probe",)),
    "fit that ignores `steps`": Mutant(
        "fit_linear_probe", {F: ("steps=steps, optimizer=optimizer", "steps=10, optimizer=optimizer")}, catches=("fit_linear_probe",)),
    "fit that ignores `lr`": Mutant(
        "fit_linear_probe", {F: (OPT, OPT.replace("lr=lr", "lr=3e-2"))}, catches=("fit_linear_probe",)),
    "fit on softmax outputs": Mutant(
        "fit_linear_probe", {F: (LOSS, "lambda batch: F.cross_entropy(probe(batch[0]).softmax(-1), batch[1])")},
        catches=("fit_linear_probe",)),
    "fit with Adam over every parameter": Mutant(
        "fit_linear_probe", {F: (OPT, "optimizer = torch.optim.Adam(probe.parameters(), lr=lr)")}, kind="harmless"),
}

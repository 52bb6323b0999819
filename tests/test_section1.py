"""Section 1 checks fail on the untouched stubs and on plausible wrong answers, each with a helpful message."""

import pytest

from autograder.grading import grade
from autograder.paths import SOLUTIONS, STARTER

AE, BN, FS = "autoencoder.py", "bottlenecks.py", "few_shot.py"
SECTION = "test_autoencoder"  # both check files of section 1 (a pytest -k expression)
CHECKS = {AE: "test_reconstruction_loss or test_encoder or test_decoder",  # the checks of each module's functions
          BN: "test_bottlenecks", FS: "test_few_shot"}


def span(module: str, start: str, end: str) -> str:
    """The solution's text from ``start`` through ``end``: to patch lines that are not adjacent in one go."""
    text = (SOLUTIONS / "pretraining" / module).read_text()
    i = text.index(start)
    return text[i:text.index(end, i) + len(end)]


UNFROZEN = span(FS, "self.encoder = freeze(encoder)", "r = self.encoder(x)  # (B, L)\n")

# mistake → (patches for make_submission, {fragment of a check's name: fragment of its message})
WRONG = {
    "loss with |x − x̂| instead of its square": (
        {AE: ("(x - x_hat).pow(2)", "(x - x_hat).abs()")},
        {"reconstruction_loss: mean": "tolerance", "reconstruction_loss: per-example": "tolerance"}),
    "encoder with a ReLU after its last layer": (
        {AE: ("nn.Linear(hidden_dim, latent_dim))", "nn.Linear(hidden_dim, latent_dim), nn.ReLU())")},
        {"Encoder: parameter shapes": "values differ", "Encoder: flattens": "values differ"}),
    "encoder that ignores hidden_dim": (
        {AE: ("nn.Sequential(nn.Linear(input_dim, hidden_dim), nn.ReLU(), nn.Linear(hidden_dim, latent_dim))",
              "nn.Sequential(nn.Linear(input_dim, 128), nn.ReLU(), nn.Linear(128, latent_dim))")},
        {"Encoder: parameter shapes": "should have parameters of shapes [[32, 64], [32], [8, 32], [8]]",
         "Encoder: flattens": "should have parameters of shapes"}),
    "encoder that does not flatten images": (
        {AE: ("self.layers(x.flatten(start_dim=1))", "self.layers(x)")},
        {"Encoder: flattens": "raised RuntimeError"}),
    "decoder with a sigmoid output": (
        {AE: ("nn.Linear(hidden_dim, output_dim))", "nn.Linear(hidden_dim, output_dim), nn.Sigmoid())")},
        {"Decoder: parameter shapes": "values differ", "Decoder: latent 2": "values differ"}),
    "noise from the global random state": (
        {BN: ("torch.randn(x.shape, generator=generator, dtype=x.dtype, device=x.device)", "torch.randn_like(x)")},
        {"add_noise: x + σ·ε": "values differ", "denoising_loss: images": "value differs"}),
    "noise scaled by the variance": (
        {BN: ("x + noise_std * eps", "x + noise_std**2 * eps")},
        {"add_noise: x + σ·ε": "values differ", "add_noise: noise of mean 0": "not the variance",
         "denoising_loss: d(x, model(x̃))": "value differs"}),
    "noise added in place": (
        {BN: ("return x + noise_std * eps", "return x.add_(noise_std * eps)")},
        {"add_noise: x + σ·ε": "modified its input", "add_noise: noise of mean 0": "modified its input"}),
    "denoising against the noisy input": (
        {BN: ("reconstruction_loss(x, model(x_noisy))", "reconstruction_loss(x_noisy, model(x_noisy))")},
        {"denoising_loss: d(x, model(x̃))": "the target must be the clean x", "denoising_loss: images": "differs"}),
    "denoising without noise": (
        {BN: ("reconstruction_loss(x, model(x_noisy))", "reconstruction_loss(x, model(x))")},
        {"denoising_loss: d(x, model(x̃))": "gave the model the clean x", "denoising_loss: images": "differs"}),
    "top-k by value instead of magnitude": (
        {BN: ("r.abs().topk(k, dim=-1)", "r.topk(k, dim=-1)")},
        {"top_k: keeps the k entries": "values differ", "top_k: gradients": "", "top_k: selects": "values differ"}),
    "top-k with a straight-through gradient": (
        {BN: ("    return r * mask\n", "    return r + (r * mask - r).detach()\n")},
        {"top_k: gradients": "lets gradient through to"}),
    "top-k that detaches its output": (
        {BN: ("    return r * mask\n", "    return (r * mask).detach()\n")},
        {"top_k: gradients": "no gradient reached r"}),
    "top-k along dimension 1": (
        {BN: ("topk(k, dim=-1).indices  # (..., k)\n    mask = torch.zeros_like(r).scatter(-1,",
              "topk(k, dim=1).indices  # (..., k)\n    mask = torch.zeros_like(r).scatter(1,")},
        {"top_k: selects along the last dimension": "values differ"}),
    "linear decoder with a ReLU": (
        {BN: ("self.linear = nn.Linear(latent_dim, output_dim)",
              "self.linear = nn.Sequential(nn.Linear(latent_dim, output_dim), nn.ReLU())")},
        {"LinearDecoder: one affine map": "values differ", "LinearDecoder: affine": "a ReLU or a hidden layer"}),
    "linear decoder without a bias": (
        {BN: ("self.linear = nn.Linear(latent_dim, output_dim)",
              "self.linear = nn.Linear(latent_dim, output_dim, bias=False)")},
        {"LinearDecoder: one affine map": "should have parameters of shapes", "LinearDecoder: affine": "has 256"}),
    "freeze that forgets eval mode": (
        {FS: ("    return module.eval()\n", "    return module\n")},
        {"freeze: no parameter": "still in training mode", "freeze: a frozen module": "BatchNorm",
         "LinearProbe: only the head": "still in training mode"}),
    "freeze that sets an attribute of the module": (
        {FS: ("    for p in module.parameters():\n        p.requires_grad_(False)\n",
              "    module.requires_grad = False\n")},
        {"freeze: no parameter": "still require a gradient", "LinearProbe: only the head": "is the encoder frozen",
         "fitting the probe changes the head": "still require a gradient"}),
    "probe that neither freezes nor stops the gradient": (
        {FS: (UNFROZEN, UNFROZEN.replace("freeze(encoder)", "encoder")
              .replace("with torch.no_grad():\n            r =", "r ="))},
        {"LinearProbe: only the head": "is the encoder frozen", "fitting the probe changes the head": "changed",
         "LinearProbe: gradients reach": "should train only its head"}),
    "probe that returns probabilities": (
        {FS: ("return self.head(r)  # (B, C)", "return self.head(r).softmax(dim=-1)  # (B, C)")},
        {"LinearProbe: only the head": "values differ", "LinearProbe: gradients reach": "values differ"}),
    "fit with SGD instead of Adam": (
        {FS: ("optimizer = torch.optim.Adam(", "optimizer = torch.optim.SGD(")},
        {"10 digits per class": "reached accuracy", "fit_linear_probe: full-batch Adam": "differs"}),
    "fit that ignores `steps`": (
        {FS: ("steps=steps, optimizer=optimizer", "steps=10, optimizer=optimizer")},
        {"fitting the probe changes the head": "len(fit_linear_probe", "10 digits per class": "reached accuracy",
         "fit_linear_probe: full-batch Adam": "should be a list of length 15"}),
}


@pytest.mark.parametrize("mistake", WRONG, ids=list(WRONG))
def test_each_mistake_fails_its_checks_with_a_helpful_message(mistake, expect_caught):
    patches, expected = WRONG[mistake]
    select = f"{SECTION} and ({' or '.join(CHECKS[module] for module in patches)})"  # only the checks it can affect
    failed = expect_caught(patches, list(expected), select=select)
    for check, message in expected.items():
        outputs = [output for name, output in failed.items() if check in name]
        assert any(message in output for output in outputs), f"{check!r} failed without {message!r}: {outputs}"


def test_every_check_is_caught_by_some_mistake(tmp_path):
    """Each section-1 check appears among the expected failures of at least one mistake above."""
    results = grade(STARTER, tmp_path / "out", cache=tmp_path.parent / "reference-cache", quiet=True, select=SECTION)
    names = [t["name"] for t in results["tests"]]
    assert len(names) >= 20, names
    covered = {name for name in names for _, expected in WRONG.values() for check in expected if check in name}
    assert covered == set(names), f"checks no mistake exercises: {sorted(set(names) - covered)}"
    for test in results["tests"]:  # and the untouched stubs fail every one of them, saying so
        assert test["status"] == "failed" and "not implemented yet" in test["output"], test

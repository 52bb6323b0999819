"""Probes for section 1 (autoencoders, the other bottlenecks, the few-shot recipe).

They run inside the worker: they build the student's modules (or small trusted ones to hand to the student's
functions), set every weight from the check, run them, and return plain data — outputs, gradients, names of
what changed. The same probe runs on the solutions for the reference.
"""

from __future__ import annotations

import importlib
import importlib.util
import os

import torch
import torch.nn.functional as F
from torch import nn

# Checks compare numbers: compute them on the CPU on every machine, GPU VMs included.
os.environ["PRETRAINING_DEVICE"] = "cpu"


def _student(module: str):
    return importlib.import_module(f"pretraining.{module}")


def _shapes(params) -> list[list[int]]:
    return [list(p.shape) for p in params]


@torch.no_grad()
def _load(params, weights) -> None:
    for p, w in zip(params, weights):
        p.copy_(w)


def _grad_or_none(t: torch.Tensor | None):
    return None if t is None else t.detach().clone()


# ----------------------------------------------------------------------------------------------------------
# Modules with given weights: Encoder, Decoder, LinearDecoder


def module_with_weights(cls: str, init_args: list, init_kwargs: dict, weights: list, x, grad_out=None) -> dict:
    """Build ``pretraining.<cls>(*init_args, **init_kwargs)``, report its parameter shapes (in order), and —
    when they are those of ``weights`` — load ``weights``, run it on ``x`` and, with ``grad_out``, backpropagate
    ``(output · grad_out).sum()`` to get every parameter's gradient."""
    module_name, class_name = cls.rsplit(".", 1)
    module = getattr(_student(module_name), class_name)(*init_args, **init_kwargs)
    params = list(module.parameters())
    report = {"shapes": _shapes(params), "output": None, "grads": None}
    if report["shapes"] != _shapes(weights):
        return report
    _load(params, weights)
    out = module(x)
    report["output"] = out.detach().clone()
    if grad_out is not None:
        if out.requires_grad:  # else every gradient stays None, and the check says so
            (out * grad_out).sum().backward()
        report["grads"] = [_grad_or_none(p.grad) for p in params]
    return report


def loss_gradient(x, x_hat, reduction: str) -> dict:
    """``reconstruction_loss(x, x_hat, reduction)`` and the gradient of its sum with respect to ``x_hat``."""
    x_hat = x_hat.detach().clone().requires_grad_(True)
    loss = _student("autoencoder").reconstruction_loss(x, x_hat, reduction=reduction)
    if isinstance(loss, torch.Tensor) and loss.requires_grad:
        loss.sum().backward()
    return {"loss": loss.detach().clone() if isinstance(loss, torch.Tensor) else loss, "grad": _grad_or_none(x_hat.grad)}


def is_affine(cls: str, init_args: list, r1, r2, a: float) -> dict:
    """With the module's own initial weights: f(a·r1 + (1−a)·r2) against a·f(r1) + (1−a)·f(r2)."""
    module_name, class_name = cls.rsplit(".", 1)
    module = getattr(_student(module_name), class_name)(*init_args)
    with torch.no_grad():
        mixed = module(a * r1 + (1 - a) * r2)
        combined = a * module(r1) + (1 - a) * module(r2)
    return {"mixed": mixed, "combined": combined, "n_parameters": sum(p.numel() for p in module.parameters())}


# ----------------------------------------------------------------------------------------------------------
# Information bottleneck: add_noise, denoising_loss


def add_noise_seeded(x, noise_std: float, seed: int) -> dict:
    """``add_noise(x, noise_std, generator)`` with a fresh generator seeded ``seed``; whether x was modified."""
    original = x.clone()
    noisy = _student("bottlenecks").add_noise(x, noise_std, torch.Generator().manual_seed(seed))
    return {"noisy": noisy, "input_unchanged": bool(torch.equal(x, original))}


def noise_statistics(x, noise_std: float, seed: int) -> dict:
    """The noise that ``add_noise`` adds to ``x``: its mean and standard deviation; whether two calls with the
    same generator differ (fresh noise each call); whether noise_std = 0 returns x; dtype; x untouched."""
    add_noise = _student("bottlenecks").add_noise
    generator = torch.Generator().manual_seed(seed)
    original = x.clone()
    first = add_noise(x, noise_std, generator)
    second = add_noise(x, noise_std, generator)
    zero = add_noise(x, 0.0, generator)
    noise = (first - original).double()
    return {"mean": noise.mean().item(), "std": noise.std().item(), "fresh": not torch.equal(first, second),
            "zero_std_is_identity": bool(torch.equal(zero, original)), "dtype": str(first.dtype).removeprefix("torch."),
            "input_unchanged": bool(torch.equal(x, original)), "shape": list(first.shape)}


class _RecordingLinear(nn.Module):
    """x ↦ W·flatten(x) + b, reshaped like x; remembers the inputs it was called with."""

    def __init__(self, weight: torch.Tensor, bias: torch.Tensor):
        super().__init__()
        self.weight, self.bias = nn.Parameter(weight.clone()), nn.Parameter(bias.clone())
        self.inputs: list[torch.Tensor] = []

    def forward(self, x):
        self.inputs.append(x.detach().clone())
        return F.linear(x.flatten(start_dim=1), self.weight, self.bias).view_as(x)


def denoising_with_linear_model(weight, bias, x, noise_std: float, seed: int) -> dict:
    """``denoising_loss`` of a trusted linear model with the given weights, generator seeded ``seed``: the loss,
    the gradients of the model's weights, and what the model was given. For diagnosis, also the loss against
    the corrupted input instead of the clean one."""
    model = _RecordingLinear(weight, bias)
    loss = _student("bottlenecks").denoising_loss(model, x, noise_std, torch.Generator().manual_seed(seed))
    loss.backward()
    seen = model.inputs[-1] if model.inputs else None
    report = {"loss": loss.detach().clone(), "grad_weight": _grad_or_none(model.weight.grad),
              "grad_bias": _grad_or_none(model.bias.grad), "model_calls": len(model.inputs),
              "model_saw_clean_x": seen is not None and bool(torch.equal(seen, x)), "noisy_target_loss": None}
    if seen is not None:
        with torch.no_grad():
            out = model(seen)
        report["noisy_target_loss"] = (seen - out).pow(2).flatten(start_dim=1).sum(dim=1).mean()
    return report


# ----------------------------------------------------------------------------------------------------------
# Sparsity bottleneck: top_k


def top_k_gradient(r, k: int, grad_out) -> dict:
    """``top_k(r, k)`` and the gradient of ``(top_k(r, k) · grad_out).sum()`` with respect to r."""
    r = r.detach().clone().requires_grad_(True)
    out = _student("bottlenecks").top_k(r, k)
    if out.requires_grad:
        (out * grad_out).sum().backward()
    return {"output": out.detach().clone(), "grad": _grad_or_none(r.grad)}


# ----------------------------------------------------------------------------------------------------------
# Few-shot recipe: freeze, LinearProbe, fit_linear_probe


def _encoder(seed: int, input_dim: int, latent_dim: int) -> nn.Sequential:
    """A small trusted encoder with a BatchNorm (whose running statistics must not drift once frozen), in
    training mode as a freshly trained encoder would be: flatten → Linear(D, L) → BatchNorm1d(L) → ReLU.
    Its weights and BatchNorm statistics are drawn from ``seed``."""
    g = torch.Generator().manual_seed(seed)
    encoder = nn.Sequential(nn.Flatten(), nn.Linear(input_dim, latent_dim), nn.BatchNorm1d(latent_dim), nn.ReLU())
    linear, norm = encoder[1], encoder[2]
    with torch.no_grad():
        linear.weight.copy_(torch.randn(latent_dim, input_dim, generator=g) / input_dim ** 0.5)
        linear.bias.copy_(0.1 * torch.randn(latent_dim, generator=g))
        norm.weight.copy_(1 + 0.1 * torch.randn(latent_dim, generator=g))
        norm.bias.copy_(0.1 * torch.randn(latent_dim, generator=g))
        norm.running_mean.copy_(0.2 * torch.randn(latent_dim, generator=g))
        norm.running_var.copy_(0.5 + torch.rand(latent_dim, generator=g))
    return encoder.train()


def _nested() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(6, 8), nn.BatchNorm1d(8), nn.Dropout(0.5),
                         nn.Sequential(nn.Linear(8, 8), nn.ReLU(), nn.Dropout(0.5)), nn.Linear(8, 3)).train()


def _state(module: nn.Module) -> dict:
    return {k: v.detach().clone() for k, v in module.state_dict().items()}


def _changed(before: dict, module: nn.Module) -> list[str]:
    after = module.state_dict()
    return sorted(k for k in before if not torch.equal(before[k], after[k]))


def freeze_report() -> dict:
    """Freeze a nested trusted module; which parameters still require a gradient and which submodules are still
    in training mode; whether freeze returned the module itself."""
    module = _nested()
    returned = _student("few_shot").freeze(module)
    return {"returned_same": returned is module,
            "trainable": [n for n, p in module.named_parameters() if p.requires_grad],
            "training": [n or "(the module itself)" for n, m in module.named_modules() if m.training]}


def frozen_forward_report(x) -> dict:
    """Freeze a nested trusted module, then run it on x (which requires a gradient) and backpropagate: whether
    x still gets a gradient, which parameters got one, and which parameters or buffers changed."""
    module = _nested()
    before = _state(module)
    _student("few_shot").freeze(module)
    x = x.detach().clone().requires_grad_(True)
    out = module(x)
    if out.requires_grad:
        out.sum().backward()
    return {"input_grad": _grad_or_none(x.grad), "output": out.detach().clone(),
            "params_with_grad": [n for n, p in module.named_parameters() if p.grad is not None],
            "changed": _changed(before, module)}


def linear_probe_report(encoder_seed: int, latent_dim: int, n_classes: int, head_weights: list, x) -> dict:
    """Build the student's LinearProbe on a trusted (unfrozen) encoder; report its trainable parameters' shapes;
    when they are the head's, load ``head_weights``, compute the logits on x and backpropagate their sum."""
    encoder = _encoder(encoder_seed, x[0].numel(), latent_dim)
    probe = _student("few_shot").LinearProbe(encoder, latent_dim, n_classes)
    trainable = [p for p in probe.parameters() if p.requires_grad]
    report = {"trainable": _shapes(trainable), "logits": None, "head_grads": None, "encoder_grads": [],
              "encoder_training": [n for n, m in encoder.named_modules() if m.training]}
    if report["trainable"] != _shapes(head_weights):
        return report
    _load(trainable, head_weights)
    logits = probe(x)
    report["logits"] = logits.detach().clone()
    if logits.requires_grad:
        logits.sum().backward()
    report["head_grads"] = [_grad_or_none(p.grad) for p in trainable]
    report["encoder_grads"] = [n for n, p in encoder.named_parameters() if p.grad is not None]
    return report


def recipe_keeps_encoder_frozen(encoder_seed: int, latent_dim: int, x, y, steps: int) -> dict:
    """The student's LinearProbe and fit_linear_probe on a trusted encoder with a BatchNorm: which encoder
    parameters or buffers changed, which got a gradient or still require one; whether the head changed."""
    few_shot = _student("few_shot")
    encoder = _encoder(encoder_seed, x[0].numel(), latent_dim)
    before = _state(encoder)
    probe = few_shot.LinearProbe(encoder, latent_dim, int(y.max()) + 1)
    head_before = {n: p.detach().clone() for n, p in probe.named_parameters() if p.requires_grad}
    curve = few_shot.fit_linear_probe(probe, x, y, steps=steps, progress=False)
    head_after = dict(probe.named_parameters())
    head_changed = any(not torch.equal(v, head_after[n]) for n, v in head_before.items())
    return {"changed": _changed(before, encoder),
            "with_grad": [n for n, p in encoder.named_parameters() if p.grad is not None],
            "requires_grad": [n for n, p in encoder.named_parameters() if p.requires_grad],
            "head_changed": head_changed,
            "curve_length": len(curve)}


class _TrustedProbe(nn.Module):
    """A correct frozen-encoder probe (flatten → head), so that a check of fit_linear_probe tests only it."""

    def __init__(self, weight, bias):
        super().__init__()
        self.encoder = nn.Flatten()
        self.head = nn.Linear(weight.shape[1], weight.shape[0])
        _load(self.head.parameters(), [weight, bias])

    def forward(self, x):
        return self.head(self.encoder(x))


def fit_curve(weight, bias, x, y, steps: int, lr: float) -> dict:
    """``fit_linear_probe`` on a trusted probe whose head starts at (weight, bias): the loss curve and the
    final head."""
    probe = _TrustedProbe(weight, bias)
    curve = _student("few_shot").fit_linear_probe(probe, x, y, steps=steps, lr=lr, progress=False)
    return {"curve": [float(v) for v in curve], "weight": probe.head.weight.detach().clone(),
            "bias": probe.head.bias.detach().clone()}


def _digits() -> tuple[torch.Tensor, torch.Tensor]:
    """scikit-learn's 1,797 digits as (x (N, 1, 8, 8) in [0, 1], y (N,)), read from the file it ships: the same
    data as ``load_digits()``, without the seconds that importing scikit-learn takes."""
    import numpy as np

    folder = importlib.util.find_spec("sklearn").submodule_search_locations[0]
    table = np.loadtxt(os.path.join(folder, "datasets", "data", "digits.csv.gz"), delimiter=",")  # (N, 65)
    x = torch.tensor(table[:, :64], dtype=torch.float32).view(-1, 1, 8, 8) / 16.0
    return x, torch.tensor(table[:, 64], dtype=torch.long)


def digits_accuracy(k: int, seed: int) -> dict:
    """The student's few-shot recipe on raw pixels of scikit-learn's digits: a LinearProbe on an identity
    encoder (flatten), fitted with fit_linear_probe's defaults on k examples per class drawn with ``seed``;
    accuracy on every other image."""
    import numpy as np

    few_shot = _student("few_shot")
    x, y = _digits()
    rng = np.random.default_rng(seed)
    few = np.concatenate([rng.choice(np.flatnonzero(y.numpy() == c), k, replace=False) for c in range(10)])
    rest = np.setdiff1d(np.arange(len(y)), few)
    torch.manual_seed(seed)
    probe = few_shot.LinearProbe(nn.Flatten(), 64, 10)
    few_shot.fit_linear_probe(probe, x[few], y[few], progress=False)
    with torch.no_grad():
        pred = probe(x[rest]).argmax(dim=-1)
    return {"accuracy": (pred == y[rest]).float().mean().item()}

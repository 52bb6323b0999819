"""Train several copies of one model at once, as one batched model (given, not graded).

A sweep trains M small models of the same architecture — one per seed, say — that never interact. One at a
time, every optimiser step of every model is a few dozen tiny kernels, and on a GPU the time goes into
launching them, not into arithmetic. Stacked, the M models take one step together, with the same number of
kernels as one model, each M times larger:

    ensemble = Ensemble([make_model(seed) for seed in seeds])         # parameters stacked: (M, *shape)
    batches = EnsembleBatches(x, batch_size=128, generators=[seed_everything(s) for s in seeds])
    curves = train_ensemble(ensemble, lambda model, x: loss_of(model, x), batches, epochs=30)  # (M, steps)
    models = ensemble.unstack()                                         # M ordinary trained modules

The math. Model m has parameters θ_m and its own loss L_m(θ_m; batch_m). The ensemble stores
Θ = stack(θ_1 … θ_M), shape (M, *shape) for every parameter, and minimises the sum

    L(Θ) = Σ_m L_m(θ_m; batch_m),   so   ∂L/∂θ_m = ∂L_m/∂θ_m        (no term couples two models)

with ``torch.func.vmap`` computing the M losses in one batched pass: inputs ``(M, B, …)`` → losses ``(M,)``.
Adam and AdamW act element by element, so one optimiser over Θ takes exactly the M steps that M optimisers
would take, with the same state (moments of θ_m live in slice m). Hence: the same initial θ_m and the same
batches give the same trained θ_m as training the models one at a time, up to float rounding
(``tests/test_ensembles.py`` shows it). What would couple them — and is therefore refused or avoided here —
is anything global over Θ: clipping the norm of all M gradients together, or one batch order shared by all.

Randomness inside the loss (masks, noise) is drawn under ``vmap(randomness="different")``: a draw of shape S
from a generator becomes one draw of shape (M, *S), slice m for model m — independent across models, and
repeatable from the generator's seed.

Hugging Face transformers run under vmap too, given their attention mask in 4-D (from a 2-D one, their mask
builder branches on its values): ``finetune.Classifier`` does that, and ``finetune.finetune_runs`` trains the
seeds of a fine-tuning experiment together this way.

Models that differ only in one size (autoencoders with latents 2 … 128) can share one ensemble too:
:func:`pad_into` zero-pads each into the largest, which for an MLP changes nothing, and :func:`crop_into` takes
the trained values back. That costs arithmetic, so it pays where launches, not arithmetic, are the limit (a GPU).
"""

from __future__ import annotations

import copy
import inspect
import warnings
from typing import Callable, Iterable, Sequence

import torch
from torch import nn
from torch.func import functional_call, stack_module_state, vmap
from torch.nn.attention import SDPBackend, sdpa_kernel

from pretraining.training import _train, train


class _Call(nn.Module):
    """``fn(model, *args)`` as the forward of a module, so that ``functional_call`` can swap in the parameters of
    one model of the ensemble and ``fn`` can then use any method of it, not only ``forward``."""

    def __init__(self, model: nn.Module, fn: Callable):
        super().__init__()
        self.model, self.fn = model, fn

    def forward(self, *args):
        return self.fn(self.model, *args)


class Ensemble(nn.Module):
    """M models of one architecture as one module whose parameters are the M models' parameters stacked.

    Args:
        models: M ≥ 1 modules of the same class and shapes, in the same mode (e.g. one per seed, each built
                after its own ``seed_everything``). Their values are copied: train the ensemble, then take the
                trained models back with :meth:`unstack`.

    ``self.parameters()`` are the stacked tensors, parameter ``name`` of shape ``(M, *shape)`` (model m is
    slice m): give them to an optimiser as to any module. ``.to(device)``, ``.train()`` and ``.eval()`` work as
    usual. With M = 1 nothing is stacked: the one model is trained as it is, the same computation without the
    overhead of swapping its parameters in at every call.
    """

    def __init__(self, models: Sequence[nn.Module]):
        super().__init__()
        models = list(models)
        self.size = len(models)
        object.__setattr__(self, "_models", models)
        if self.size == 1:
            self.single = models[0]
            return
        params, buffers = stack_module_state(models)  # {name: (M, *shape)}; a parameter's grad flag is kept
        self._param_names, self._buffer_names = list(params), list(buffers)
        # Registered under numbered names, since module attribute names cannot hold the dots of "layers.0.weight".
        self.stacked = nn.ParameterList([nn.Parameter(p, requires_grad=p.requires_grad) for p in params.values()])
        for i, b in enumerate(buffers.values()):
            self.register_buffer(f"buffer{i}", b)
        # The architecture, without storage: vmap runs it with model m's slices swapped in. Kept out of the
        # registered submodules so that .parameters() and .to() see only the stacked tensors.
        object.__setattr__(self, "_template", copy.deepcopy(models[0]).to("meta"))
        self._one_by_one = False  # set when vmap cannot run the models' code: map() then loops over the models
        self.train(models[0].training)

    def __len__(self) -> int:
        return self.size

    def train(self, mode: bool = True) -> "Ensemble":
        super().train(mode)
        if self.size > 1:
            self._template.train(mode)  # dropout, BatchNorm and the like follow the ensemble's mode
        return self

    def _state(self) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
        buffers = [getattr(self, f"buffer{i}") for i in range(len(self._buffer_names))]
        return dict(zip(self._param_names, self.stacked)), dict(zip(self._buffer_names, buffers))

    def stacked_parameters(self) -> dict[str, torch.Tensor]:
        """Every parameter of the models as one (M, *shape) tensor, by its name in one model; slice m is model
        m's, and writing into it changes model m. For M ≥ 2 these are the trained tensors themselves (their
        ``.grad`` holds the M gradients); for M = 1, views of the one model's parameters with a leading axis of 1.
        """
        if self.size == 1:
            return {name: p.unsqueeze(0) for name, p in self.single.named_parameters()}
        return self._state()[0]

    def map(self, fn: Callable, *args, in_dims: int | None | Sequence[int | None] = 0):
        """``fn(model_m, *args_m)`` for every model m at once: the results stacked along a new first axis.

        Args:
            fn:      ``fn(model, *args) → tensor(s)``, written for ONE model and its arguments, e.g.
                     ``lambda model, x: reconstruction_loss(x, model(x))``: x (B, D) → a 0-dim loss.
            args:    tensors; those with a leading model axis (M, …) give model m its slice m.
            in_dims: 0 for an argument with that model axis, None for one shared by all models (e.g. the test
                     set); one value for all arguments or one per argument.

        Returns:
            What ``fn`` returns, with a leading axis of size M: e.g. losses (M,) or outputs (M, B, D).
        """
        dims = (in_dims,) * len(args) if in_dims is None or isinstance(in_dims, int) else tuple(in_dims)
        if self.size == 1:
            out = fn(self.single, *(a if d is None else a[0] for a, d in zip(args, dims)))
            return torch.utils._pytree.tree_map(lambda t: t.unsqueeze(0), out)
        call = _Call(self._template, fn)
        params, buffers = self._state()

        def one(p, b, *a):  # model m's parameters and buffers, model m's arguments
            return functional_call(call, ({f"model.{k}": v for k, v in p.items()},
                                          {f"model.{k}": v for k, v in b.items()}), a)

        # The plain-math attention, on every device: it is batched matrix products, which vmap batches. On the
        # CPU the fused kernel has no batched rule (it would run model by model); on a GPU the memory-efficient
        # kernel's backward fails under vmap ("LSE is not correctly aligned", torch 2.11 on an H200).
        if not self._one_by_one:
            try:
                with sdpa_kernel([SDPBackend.MATH]):
                    return vmap(one, in_dims=(0, 0, *dims), randomness="different")(params, buffers, *args)
            except Exception as exc:  # noqa: BLE001 — code that is right but that vmap cannot batch (see below)
                if torch.cuda.is_available() and torch.cuda.is_current_stream_capturing():
                    raise  # recording a CUDA graph failed, not vmap: training.GraphedStep runs the step as usual
                if isinstance(exc, torch.OutOfMemoryError):
                    raise  # not a refusal of vmap: the caller trains fewer models at once (finetune.finetune_runs)
                self._one_by_one = True
                warnings.warn(
                    f"The {self.size} models could not be run together with torch.func.vmap ({type(exc).__name__}: "
                    f"{str(exc).splitlines()[0] if str(exc) else ''}). They now run one after another: the same "
                    "training, only slower. Your code is not wrong for that: vmap refuses a few things that are "
                    "fine one model at a time, such as .item(), an `if` on a tensor's value, or writing into a "
                    "slice of a tensor made inside the function.", stacklevel=2)
        # One model at a time, on views of the stacked tensors: gradients still reach slice m of each one.
        outs = [one({k: v[m] for k, v in params.items()}, {k: v[m] for k, v in buffers.items()},
                    *(a if d is None else a.select(d, m) for a, d in zip(args, dims))) for m in range(self.size)]
        return torch.utils._pytree.tree_map(lambda *ts: torch.stack(ts), *outs)

    def forward(self, *args, in_dims: int | None | Sequence[int | None] = 0):
        """Every model's forward: ``ensemble(x)`` with x (M, B, …) → (M, B, …); ``in_dims=None`` to share x."""
        return self.map(lambda model, *a: model(*a), *args, in_dims=in_dims)

    @torch.no_grad()
    def unstack(self) -> list[nn.Module]:
        """The M models with the ensemble's current values (the modules given to the constructor, updated in
        place, on the ensemble's device and in its mode)."""
        if self.size == 1:
            return [self.single.train(self.training)]
        params, buffers = self._state()
        stacked = params | buffers
        device = next(iter(stacked.values())).device
        for m, model in enumerate(self._models):
            model.to(device).train(self.training)
            for name, tensor in [*model.named_parameters(), *model.named_buffers()]:
                tensor.copy_(stacked[name][m])
        return list(self._models)


def _pairs(small: nn.Module, large: nn.Module):
    """(small tensor, large tensor, the large one's leading corner of the small one's shape), for every parameter
    and buffer, in order."""
    pairs = zip([*small.parameters(), *small.buffers()], [*large.parameters(), *large.buffers()], strict=True)
    for s, t in pairs:
        if s.dim() != t.dim() or any(a > b for a, b in zip(s.shape, t.shape)):
            raise ValueError(f"cannot fit a tensor of shape {tuple(s.shape)} into one of shape {tuple(t.shape)}")
        yield s, t, t[tuple(slice(0, n) for n in s.shape)]


@torch.no_grad()
def pad_into(small: nn.Module, large: nn.Module) -> nn.Module:
    """``large`` (the same architecture, every dimension ≥) holding ``small``'s values in the leading corner of
    each parameter and buffer, zeros elsewhere; returned for chaining.

    What for: models that differ in one size (an autoencoder's latent L) can then be stacked into one
    :class:`Ensemble`. For an MLP whose hidden size L is padded to L′ this changes nothing: the padded units
    get zero incoming weights and bias, so they output 0 whatever the input; their outgoing weights are 0, so
    they add nothing downstream; and every padded weight then has a gradient of exactly 0, which Adam (and
    SGD) turn into a step of 0. Not so for layers that mix all units of a dimension (a LayerNorm over L, a
    top-k over L, a softmax): check before padding those. :func:`crop_into` takes the trained values back.
    """
    for s, t, corner in _pairs(small, large):
        t.zero_()
        corner.copy_(s)
    return large


@torch.no_grad()
def crop_into(large: nn.Module, small: nn.Module) -> nn.Module:
    """The inverse of :func:`pad_into`: ``small`` given the leading corner of ``large``'s values; returned."""
    for s, _, corner in _pairs(small, large):
        s.copy_(corner)
    return small


class EnsembleBatches:
    """Mini-batches for M models at once, each model with its own shuffled order: ``(M, B, …)`` per tensor.

    Model m sees exactly the batches that ``data.Batches(*tensors, batch_size=…, generator=generators[m])``
    would give it, in the same order: one ``torch.randperm(n, generator=generators[m])`` per pass. The M
    orders are drawn on the CPU, moved to where the data lives once per pass, and every batch is one
    gathering kernel for all M models.

    Args:
        tensors:    aligned tensors of N rows (e.g. images (N, …) and labels (N,)), on any device.
        batch_size: B; the last batch of a pass holds the N mod B rows left (for every model alike).
        generators: one ``torch.Generator`` per model — M of them, distinct objects.
    """

    def __init__(self, *tensors: torch.Tensor, batch_size: int, generators: Sequence[torch.Generator]):
        if not tensors or any(len(t) != len(tensors[0]) for t in tensors):
            raise ValueError("EnsembleBatches needs one or more tensors of the same length")
        if len({id(g) for g in generators}) != len(generators):
            # One generator shared by several models would interleave their draws: no model would see the
            # order it sees when trained alone.
            raise ValueError("give every model its own generator")
        self.tensors, self.batch_size, self.generators = tensors, batch_size, list(generators)

    def __len__(self) -> int:
        return -(-len(self.tensors[0]) // self.batch_size)

    def __iter__(self):
        n = len(self.tensors[0])
        orders = torch.stack([torch.randperm(n, generator=g) for g in self.generators])  # (M, N)
        orders = orders.to(self.tensors[0].device)
        for start in range(0, n, self.batch_size):
            index = orders[:, start:start + self.batch_size]  # (M, B)
            yield tuple(t[index] for t in self.tensors)  # (M, B, …) each


class AdamPerModel(torch.optim.Adam):
    """Adam with a learning rate of its own for every model of an ensemble: ``lrs`` (M,), e.g. a sweep over the
    learning rate trained as one program.

    Adam moves a weight by −lr · u, with u = m̂ / (√v̂ + ε) computed from that weight's gradients alone. So the
    step taken at lr = 1, then scaled slice by slice — θ_m ← θ_old,m + lr_m · (θ_m − θ_old,m) — is the step M
    Adams with learning rates lr_1 … lr_M take (weight decay, which Adam adds to the gradient, stays as it is).
    """

    def __init__(self, params, lrs: torch.Tensor, **adam_kwargs):
        super().__init__(params, lr=1.0, **adam_kwargs)
        self.lrs = lrs  # (M,), on the parameters' device

    @torch.no_grad()
    def step(self, closure=None):
        params = [p for group in self.param_groups for p in group["params"] if p.grad is not None]
        before = [p.clone() for p in params]  # (M, *shape) each
        loss = super().step(closure)
        for p, old in zip(params, before):
            p.copy_(old.lerp(p, self.lrs.view(-1, *[1] * (p.dim() - 1))))  # old + lr_m · (p − old), slice m
        return loss


def train_ensemble(ensemble: Ensemble, loss_fn: Callable[..., torch.Tensor], batches: Iterable | Callable | None = None,
                   *, in_dims: int | None | Sequence[int | None] = 0, lrs: Sequence[float] | None = None,
                   **train_kwargs) -> torch.Tensor:
    """Train the M models of ``ensemble`` together with :func:`pretraining.training.train`; return their losses.

    Args:
        ensemble: the :class:`Ensemble` to train (in place); take the models back with ``ensemble.unstack()``.
        loss_fn:  ``loss_fn(model, *batch) → 0-dim tensor`` for ONE model and ITS batch, e.g.
                  ``lambda model, x: reconstruction_loss(x, model(x))`` — run for all M models by
                  :meth:`Ensemble.map`.
        batches:  as for ``train``, but every batch holds M batches: tensors (M, B, …), e.g.
                  :class:`EnsembleBatches`; or, with ``in_dims=None``, ordinary batches shared by all models.
                  None: ``loss_fn(model)`` takes no batch.
        in_dims:  passed to :meth:`Ensemble.map` for the batch's tensors.
        lrs:      M learning rates, one per model (Adam, :class:`AdamPerModel`), instead of one ``lr`` for all.
        train_kwargs: ``steps``/``epochs``, ``optimizer`` (built over ``ensemble.parameters()``), ``lr``,
                  ``scheduler``, ``progress``, ``desc``, ``device``, ``cuda_graph``, ``generators``,
                  ``after_step`` — as for ``train``.

    Returns:
        (M, steps) tensor on the CPU: row m is model m's loss at every step (what ``train`` returns for one
        model). The losses stay on the device during training and are read once at the end.
    """
    if train_kwargs.get("max_grad_norm") is not None:
        # train() would clip the norm of all M gradients together: one model's large gradient would shrink
        # every other model's step, which training them one at a time never does.
        raise ValueError("max_grad_norm would couple the models of an ensemble; clip inside loss_fn's model instead")
    if lrs is not None:
        if len(lrs) != len(ensemble) or "optimizer" in train_kwargs or "lr" in train_kwargs:
            raise ValueError(f"lrs= needs one learning rate per model ({len(ensemble)}), and no optimizer= or lr=")
        params = list(ensemble.parameters())
        train_kwargs["optimizer"] = (torch.optim.Adam(params, lr=lrs[0]) if len(ensemble) == 1 else  # not stacked
                                     AdamPerModel(params, torch.tensor(lrs, dtype=params[0].dtype, device=params[0].device)))
    def losses(batch=None):  # (M,): loss_fn() without batches, loss_fn(batch) with them
        args = () if batch is None else (batch,) if isinstance(batch, torch.Tensor) else tuple(batch)
        return ensemble.map(loss_fn, *args, in_dims=in_dims)

    # The loop minimises the sum of the M losses (∂/∂θ_m of the sum is ∂L_m/∂θ_m: the models do not interact)
    # and keeps each step's M values, on the device until the end.
    options = {name: p.default for name, p in inspect.signature(train).parameters.items() if p.kind is p.KEYWORD_ONLY}
    unknown = set(train_kwargs) - set(options)
    if unknown:
        raise TypeError(f"train_ensemble() got unexpected keyword arguments: {', '.join(sorted(unknown))}")
    curves = _train(ensemble, losses, batches, **(options | train_kwargs), scalar=False)  # (steps, M)
    return curves.T.contiguous() if len(curves) else torch.zeros(len(ensemble), 0)

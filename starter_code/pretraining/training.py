"""The one training loop every section uses.

    curve = train(model, loss_fn, Batches(x, batch_size=128), epochs=20)            # mini-batches
    curve = train(model, lambda: loss_of(sample_batch(rng)), steps=500, lr=3e-4)    # a fresh batch each step

It moves the model and every batch to :func:`pretraining.device.get_device`, minimises ``loss_fn`` with the
given optimizer (Adam over the trainable parameters by default), shows a progress bar in notebooks and
terminals, and returns the loss of every step.
"""

from __future__ import annotations

import itertools
import sys
import warnings
from typing import Any, Callable, Iterable, Sequence

import torch
from torch import nn
from tqdm.auto import tqdm

from pretraining.device import get_device


def interactive() -> bool:
    """True in a Jupyter kernel or a terminal, where a progress bar is seen; False in a grader or a log file."""
    ipython = sys.modules.get("IPython")  # only look: importing IPython where it is not loaded yet is slow
    shell = ipython.get_ipython() if ipython is not None else None
    return type(shell).__name__ == "ZMQInteractiveShell" or sys.stderr.isatty()


def map_tensors(fn: Callable[[torch.Tensor], Any], batch: Any) -> Any:
    """``batch`` with ``fn(t)`` in place of every tensor t in it (also inside tuples, lists and dicts)."""
    if isinstance(batch, torch.Tensor):
        return fn(batch)
    if isinstance(batch, (tuple, list)):
        return type(batch)(map_tensors(fn, b) for b in batch)
    if isinstance(batch, dict):
        return {k: map_tensors(fn, v) for k, v in batch.items()}
    return batch


def to_device(batch: Any, device: torch.device) -> Any:
    """``batch`` with every tensor in it (also inside tuples, lists and dicts) moved to ``device``."""
    return map_tensors(lambda t: t.to(device, non_blocking=True), batch)


def train(model: nn.Module, loss_fn: Callable[..., torch.Tensor], batches: Iterable | Callable | None = None, *,
          steps: int | None = None, epochs: int | None = None,
          optimizer: torch.optim.Optimizer | None = None, lr: float = 1e-3, scheduler=None,
          max_grad_norm: float | None = None, device: torch.device | str | None = None,
          progress: bool | None = None, desc: str = "training", cuda_graph: bool = False,
          generators: Sequence[torch.Generator] = (), after_step: Callable[[int], None] | None = None) -> list[float]:
    """Minimise ``loss_fn`` by gradient steps; return the loss of every step (a list of ``steps`` floats).

    Args:
        model:     moved to ``device`` and put in training mode; its previous mode is restored at the end.
        loss_fn:   ``loss_fn(batch) → 0-dim tensor``, or ``loss_fn()`` when ``batches`` is None (a closure over
                   its own data, e.g. full-batch training).
        batches:   an iterable of batches, iterated once per epoch (a list, ``data.Batches``, a ``DataLoader``),
                   or a callable ``() → batch`` called once per step; each batch is moved to ``device``.
        steps:     number of optimizer steps (an iterable of batches is cycled through as often as needed) …
        epochs:    … or number of passes over ``batches``: exactly one of ``steps`` and ``epochs``.
        optimizer: defaults to Adam(lr) over the parameters that require a gradient (frozen ones are left out).
        scheduler: optional, stepped after every optimizer step.
        max_grad_norm: clip the gradients' global norm to this before each step.
        progress:  show a tqdm bar; default: only in a notebook or a terminal.
        cuda_graph: on a GPU, record the forward and backward pass once as a CUDA graph and replay it at every
                   step whose batch has the first one's shapes (others run as usual): see :class:`GraphedStep`.
                   Only for a ``loss_fn`` that computes on the GPU alone (no ``.item()``, no CPU tensors, no
                   Python randomness); ignored on a CPU.
        generators: the CUDA generators ``loss_fn`` draws from besides torch's default one (with cuda_graph).
        after_step: called with the number of steps done after every optimizer step (e.g. a validation check
                   every n steps), inside one loop: a recorded graph stays in use across it. What it changes
                   (the model's mode, say) it restores before it returns.
    """
    curve = _train(model, loss_fn, batches, steps=steps, epochs=epochs, optimizer=optimizer, lr=lr,
                   scheduler=scheduler, max_grad_norm=max_grad_norm, device=device, progress=progress, desc=desc,
                   cuda_graph=cuda_graph, generators=generators, after_step=after_step, scalar=True)
    return curve.tolist()


def _train(model, loss_fn, batches, *, steps, epochs, optimizer, lr, scheduler, max_grad_norm, device, progress,
           desc, cuda_graph, generators, after_step, scalar) -> torch.Tensor:
    """:func:`train` for a ``loss_fn`` that returns a tensor of any shape (scalar=False), whose sum is minimised:
    returns the (steps, *shape) tensor of its values, on the CPU."""
    if (steps is None) == (epochs is None):
        raise ValueError("give exactly one of steps= and epochs=")
    if epochs is not None and (batches is None or callable(batches)):
        raise ValueError("epochs= needs an iterable of batches; use steps= with a callable or with batches=None")
    device = torch.device(device) if device is not None else get_device()
    model.to(device)
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = optimizer or torch.optim.Adam(params, lr=lr)

    if batches is None:
        stream = itertools.repeat(None)
    elif callable(batches):
        stream = (batches() for _ in itertools.count())
    else:
        passes = itertools.repeat(batches) if epochs is None else itertools.repeat(batches, epochs)
        stream = itertools.chain.from_iterable(passes)
    total = steps if steps is not None else epochs * len(batches)

    was_training = model.training
    model.train()
    losses = []  # detached, on the device: no host synchronisation per step on a GPU
    show = interactive() if progress is None else progress
    bar = tqdm(total=total, desc=desc, disable=not show, leave=True, dynamic_ncols=True)
    graphed = GraphedStep(loss_fn, params, generators) if cuda_graph and device.type == "cuda" else None
    try:
        for step, batch in zip(range(total), stream):
            batch = None if batches is None else to_device(batch, device)
            if graphed is not None and graphed.fits(batch):
                loss = graphed(batch)  # the forward and backward pass, replayed; the gradients are in p.grad
            else:
                loss = loss_fn() if batches is None else loss_fn(batch)
                # Gradients a graph writes into must stay where they are: zeroed, not dropped, once one exists.
                optimizer.zero_grad(set_to_none=graphed is None or not graphed.recorded)
                loss.sum().backward()
            if scalar and loss.numel() != 1:
                raise ValueError(f"loss_fn must return one number (a 0-dim tensor), not shape {tuple(loss.shape)}")
            if max_grad_norm is not None:
                nn.utils.clip_grad_norm_(params, max_grad_norm)
            optimizer.step()
            if scheduler is not None:
                scheduler.step()
            losses.append(loss.detach().reshape(()) if scalar else loss.detach())
            if after_step is not None:
                after_step(step + 1)
            bar.update()
            if show and (step % max(1, total // 50) == 0 or step == total - 1):  # .item() waits for the GPU
                bar.set_postfix(loss=f"{loss.sum().item():.4g}", refresh=False)
    finally:
        bar.close()
        model.train(was_training)
    return torch.stack(losses).cpu() if losses else torch.zeros(0)


class GraphedStep:
    """A training step's forward and backward pass recorded once as a CUDA graph, then replayed.

    Why: a small model's step is hundreds of tiny kernels, and on a GPU their launching (Python, the dispatcher,
    vmap's batching rules) takes far longer than their arithmetic. A CUDA graph launches all of them at once.

    How (PyTorch's recipe for partial-network capture): the first ``WARMUP`` steps run as usual on a side stream
    (lazy initialisations must not be recorded); the next step's batch is copied into static input tensors and
    ``loss_fn`` and its backward pass are recorded — with every ``p.grad`` unset, so the recorded backward
    *writes* each gradient, as ``zero_grad`` then ``backward`` would; later steps copy their batch into the
    same inputs and replay. The optimizer and the scheduler run as usual after each replay, on the gradients
    it left in ``p.grad``. A batch of other shapes (the last, partial batch of an epoch) runs as usual.

    Exactly what a graph replays was decided while recording: anything ``loss_fn`` computes on the CPU
    (Python or NumPy randomness, a tensor built on the CPU) is frozen at the values it had then. Operations a
    graph cannot record (``.item()``, copies to or from the CPU) raise while recording: the step then runs as
    usual, the next step of those shapes tries once more, and after a second failure every later step runs as
    usual, with a warning. Random numbers drawn on the GPU are new at every replay,
    from torch's default CUDA generator and from the ones named in ``generators``.
    """

    WARMUP = 2
    # Set for the rest of the process once the GPU's memory ran out while recording: torch (2.11 at least) then
    # keeps the memory that recording took in the graph's own pool until the process ends (pytorch/pytorch#190348),
    # so every further attempt would leave less for the steps that run as usual.
    out_of_memory = False

    def __init__(self, loss_fn: Callable, params: list[torch.Tensor], generators: Sequence[torch.Generator] = ()):
        self.loss_fn, self.params, self.generators = loss_fn, params, list(generators)
        self.seen, self.recorded, self.failed, self.attempts = 0, False, False, 0
        self.static_batch = self.static_loss = self.graph = None
        # Warm-up and recording on one side stream: the autograd engine runs each parameter's gradient
        # accumulation on the stream it first met that parameter on, and a recording must not wait on another.
        self.stream = torch.cuda.Stream()

    def fits(self, batch) -> bool:
        """Whether this step can be (or be recorded as) the graph: the same shapes as the first batch."""
        if self.failed or GraphedStep.out_of_memory:
            return False
        shapes = map_tensors(lambda t: (tuple(t.shape), t.dtype, t.device), batch)
        if self.seen == 0:
            self.shapes = shapes
        return shapes == self.shapes

    def __call__(self, batch) -> torch.Tensor:
        """Forward and backward on ``batch`` (gradients into ``p.grad``); the loss, detached."""
        self.seen += 1
        if self.seen <= self.WARMUP:  # as usual, on the side stream
            self.stream.wait_stream(torch.cuda.current_stream())
            with torch.cuda.stream(self.stream):
                loss = self._forward_backward(batch)
            torch.cuda.current_stream().wait_stream(self.stream)
            return loss
        if not self.recorded:
            reason = None
            try:
                self._record(batch)
            except Exception as exc:  # noqa: BLE001 — an operation a graph cannot hold: run as usual from now on
                reason = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
                out_of_memory = isinstance(exc, torch.OutOfMemoryError)
            if reason is not None:  # out of the except block: the failed recording's tensors are freed by now
                self._forget_recording()
                self.attempts += 1
                if out_of_memory:
                    GraphedStep.out_of_memory = self.failed = True
                    warnings.warn("the GPU's memory ran out while recording a training step as a CUDA graph: "
                                  "every training step runs as usual from now on in this process, only slower. "
                                  "Torch keeps the memory that recording took until the kernel restarts: if what "
                                  "you train no longer fits, restart the kernel.", stacklevel=3)
                else:
                    # The first recording of some backward passes fails where the second succeeds (seen on an
                    # H200, torch 2.11: the MAE's); this step runs as usual, the next one of these shapes tries
                    # again once.
                    self.failed = self.attempts >= 2
                    if self.failed:
                        warnings.warn(f"this training step could not be recorded as a CUDA graph ({reason}); it "
                                      "runs as usual, only slower.", stacklevel=3)
                return self._forward_backward(batch)
        else:
            for static, fresh in zip(_tensors(self.static_batch), _tensors(batch)):
                static.copy_(fresh)
        self.graph.replay()
        return self.static_loss.detach().clone()  # the next replay overwrites static_loss

    def _forget_recording(self) -> None:
        """Undo a failed recording. Torch leaves the generators it recorded from marked as "recording", and every
        later draw from them would raise: each gets a copy of its own state (same seed and offset). The graph
        keeps the memory it took while recording in a pool of its own, which no step run as usual can use: it
        is dropped, and that memory handed back where torch can (not after running out of memory: see
        ``out_of_memory``)."""
        for generator in [torch.cuda.default_generators[torch.cuda.current_device()], *self.generators]:
            generator.graphsafe_set_state(generator.graphsafe_get_state().clone_state())
        self.graph = self.static_batch = self.static_loss = None
        torch.cuda.empty_cache()

    def _forward_backward(self, batch) -> torch.Tensor:
        """``loss_fn`` and its backward pass, every ``p.grad`` unset first (so that the backward writes each
        gradient instead of adding to it, recorded or not); the loss, detached."""
        for p in self.params:
            p.grad = None
        loss = self.loss_fn() if batch is None else self.loss_fn(batch)
        loss.sum().backward()
        return loss.detach()

    def _record(self, batch) -> None:
        torch.cuda.synchronize()
        self.static_batch = map_tensors(torch.clone, batch)
        self.graph = torch.cuda.CUDAGraph()
        for generator in self.generators:
            self.graph.register_generator_state(generator)
        with warnings.catch_warnings():  # a failed recording also leaves an empty graph: our own warning says why
            warnings.filterwarnings("ignore", message="The CUDA Graph is empty")
            with torch.cuda.graph(self.graph, stream=self.stream):
                self.static_loss = self._forward_backward(self.static_batch)  # what every replay overwrites
        self.recorded = True


def _tensors(batch: Any) -> list[torch.Tensor]:
    """Every tensor in ``batch``, in the order :func:`map_tensors` visits them."""
    found = []
    map_tensors(found.append, batch)
    return found

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
from typing import Any, Callable, Iterable

import torch
from torch import nn
from tqdm.auto import tqdm

from pretraining.device import get_device


def interactive() -> bool:
    """True in a Jupyter kernel or a terminal, where a progress bar is seen; False in a grader or a log file."""
    ipython = sys.modules.get("IPython")  # only look: importing IPython where it is not loaded yet is slow
    shell = ipython.get_ipython() if ipython is not None else None
    return type(shell).__name__ == "ZMQInteractiveShell" or sys.stderr.isatty()


def to_device(batch: Any, device: torch.device) -> Any:
    """``batch`` with every tensor in it (also inside tuples, lists and dicts) moved to ``device``."""
    if isinstance(batch, torch.Tensor):
        return batch.to(device, non_blocking=True)
    if isinstance(batch, (tuple, list)):
        return type(batch)(to_device(b, device) for b in batch)
    if isinstance(batch, dict):
        return {k: to_device(v, device) for k, v in batch.items()}
    return batch


def train(model: nn.Module, loss_fn: Callable[..., torch.Tensor], batches: Iterable | Callable | None = None, *,
          steps: int | None = None, epochs: int | None = None,
          optimizer: torch.optim.Optimizer | None = None, lr: float = 1e-3, scheduler=None,
          max_grad_norm: float | None = None, device: torch.device | str | None = None,
          progress: bool | None = None, desc: str = "training") -> list[float]:
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
    """
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
    losses = []  # detached 0-dim tensors: no host synchronisation per step on a GPU
    show = interactive() if progress is None else progress
    bar = tqdm(total=total, desc=desc, disable=not show, leave=True, dynamic_ncols=True)
    try:
        for step, batch in zip(range(total), stream):
            loss = loss_fn() if batches is None else loss_fn(to_device(batch, device))
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if max_grad_norm is not None:
                nn.utils.clip_grad_norm_(params, max_grad_norm)
            optimizer.step()
            if scheduler is not None:
                scheduler.step()
            losses.append(loss.detach())
            bar.update()
            if show and (step % max(1, total // 50) == 0 or step == total - 1):  # .item() waits for the GPU
                bar.set_postfix(loss=f"{loss.item():.4g}", refresh=False)
    finally:
        bar.close()
        model.train(was_training)
    return torch.stack(losses).cpu().tolist() if losses else []

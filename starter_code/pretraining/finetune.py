"""Fine-tuning a pre-trained model "a little bit": what to do with the pre-trained parameters?

Freeze them (train only a new head), fine-tune them all, fine-tune some of them (the first, middle or last
block), or freeze them and inject a few new ones (LoRA). Every choice is a *mode*; one loop trains them all.

Shapes: B batch, T positions, D hidden size, C classes.
"""

from __future__ import annotations

import gc
import warnings
from typing import Callable, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from pretraining.device import get_device
from pretraining.ensembles import Ensemble, train_ensemble
from pretraining.lora import LoRALinear
from pretraining.seeding import seed_everything

MODES = ("all", "head", "first", "middle", "last", "lora")


def blocks(backbone: nn.Module) -> nn.ModuleList:
    """The transformer blocks of a Hugging Face backbone, in order (GPT-2: ``.h``; Llama / SmolLM2: ``.layers``;
    BERT: ``.encoder.layer``). A whole language model works too: its ``base_model`` is searched."""
    if hasattr(backbone, "h"):
        return backbone.h
    if isinstance(getattr(backbone, "layers", None), nn.ModuleList):
        return backbone.layers
    if hasattr(backbone, "encoder") and hasattr(backbone.encoder, "layer"):
        return backbone.encoder.layer
    inner = getattr(backbone, "base_model", backbone)
    if inner is not backbone:
        return blocks(inner)
    raise TypeError(f"don't know where the blocks of a {type(backbone).__name__} are")


def backbone_of(model: nn.Module) -> nn.Module:
    """The body of a language model without its output layer: GPT-2's ``.transformer``, Llama's ``.model``,
    BERT's ``.bert`` (Hugging Face calls it ``base_model``); a backbone is returned as it is."""
    return model.base_model


def pool(hidden: torch.Tensor, attention_mask: torch.Tensor, how: str) -> torch.Tensor:
    """One vector per sequence from the per-position representations.

    Args:
        hidden:         (B, T, D) the backbone's last hidden states.
        attention_mask: (B, T) 1 for real tokens, 0 for padding — padding may be on the left or the right.
        how:            ``"cls"``: the first position (BERT's [CLS]); ``"last"``: the last *real* token of
                        each row (a causal model's only position that has seen the whole input);
                        ``"mean"``: the average over each row's real tokens, Σ_t m_t h_t / Σ_t m_t (what
                        sentence encoders such as all-MiniLM-L6-v2 were trained with).

    Returns:
        (B, D).
    """
    raise NotImplementedError('pool is not implemented yet (pretraining/finetune.py). Hint: "cls" → hidden[:, 0]; "last" → the largest index t with attention_mask[b, t] == 1, gathered per row; "mean" → masked sum / count.')


def is_causal(backbone: nn.Module) -> bool:
    """Whether the backbone's self-attention is causal (GPT-2, Llama: a position sees only itself and earlier
    ones) or bidirectional (BERT) — what Hugging Face's attention layers say in their ``is_causal`` flag."""
    return any(getattr(m, "is_causal", False) is True for m in backbone.modules())


def attention_mask_4d(attention_mask: torch.Tensor, causal: bool, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """(B, T) padding mask (1 = real token) → (B, 1, T, T) additive mask: 0 where query t may attend to key s,
    the dtype's most negative number where it may not. Query t attends to the real keys s (s ≤ t if ``causal``),
    and always to itself, so that no row is masked entirely (a padded query would otherwise get NaN, 0/0).

    The mask a Hugging Face model builds for itself from the 2-D one, given ready-made. Why: from a 2-D mask,
    transformers first asks whether the mask is all ones (to skip it) — an ``if`` on a tensor's value, which
    ``torch.func.vmap`` refuses, so M classifiers in one :class:`~pretraining.ensembles.Ensemble` would run one
    after another. A 4-D mask is used as it is (additive, so both the "sdpa" and the "eager" attention read it).
    """
    T = attention_mask.shape[-1]
    allowed = (attention_mask[:, None, :] > 0) | torch.eye(T, dtype=torch.bool, device=attention_mask.device)  # (B, T, T)
    if causal:
        allowed = allowed & torch.ones(T, T, dtype=torch.bool, device=attention_mask.device).tril()  # s ≤ t
    blocked = torch.zeros(allowed.shape, dtype=dtype, device=attention_mask.device)
    return blocked.masked_fill(~allowed, torch.finfo(dtype).min)[:, None]  # (B, 1, T, T)


class Classifier(nn.Module):
    """A pre-trained backbone with a new linear head on one position's representation: (B, T) → (B, C)."""

    def __init__(self, backbone: nn.Module, n_classes: int, pooling: str):
        super().__init__()
        self.backbone, self.pooling, self.causal = backbone, pooling, is_causal(backbone)
        self.head = nn.Linear(backbone.config.hidden_size, n_classes)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """input_ids, attention_mask: (B, T) → logits (B, C)."""
        mask = attention_mask_4d(attention_mask, self.causal, self.head.weight.dtype)  # (B, 1, T, T): see there why
        hidden = self.backbone(input_ids=input_ids, attention_mask=mask).last_hidden_state  # (B, T, D)
        return self.head(pool(hidden, attention_mask, self.pooling))  # (B, C)


def classification_loss(model: Classifier, input_ids: torch.Tensor, attention_mask: torch.Tensor,
                        labels: torch.Tensor) -> torch.Tensor:
    """The cross-entropy of ``model``'s logits (B, C) against ``labels`` (B,): what fine-tuning minimises."""
    return F.cross_entropy(model(input_ids, attention_mask), labels)


def set_trainable(model: Classifier, mode: str) -> None:
    """Make exactly the parameters of ``mode`` trainable (``requires_grad=True``) and freeze all others.

    The new head always trains. Besides it: ``"all"`` every backbone parameter; ``"head"`` nothing else;
    ``"first"`` / ``"middle"`` / ``"last"`` the parameters of block 0, block len//2, block −1 (see
    :func:`blocks`); ``"lora"`` only the A and B factors of the LoRA wrappers already added to the backbone.
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    raise NotImplementedError("set_trainable is not implemented yet (pretraining/finetune.py). Hint: requires_grad_(False) on the whole model, then True on the head and on the mode's part.")


def count_parameters(model: nn.Module) -> tuple[int, int]:
    """(trainable, total) numbers of parameters — each shared tensor counted once."""
    raise NotImplementedError('count_parameters is not implemented yet (pretraining/finetune.py). Hint: sum p.numel() over model.parameters() (which already skips repeats), split by p.requires_grad.')


@torch.no_grad()
def pooled_features(backbone: nn.Module, input_ids: torch.Tensor, attention_mask: torch.Tensor, pooling: str,
                    batch_size: int = 64) -> torch.Tensor:
    """(N, D) frozen features: the backbone's last hidden states pooled with :func:`pool`, on the CPU in fp32.
    What a "head only" baseline sees (fit it with ``pretraining.evaluation.linear_probe``)."""
    was_training = backbone.training
    backbone.eval()
    device = next(backbone.parameters()).device
    out = []
    for i in range(0, len(input_ids), batch_size):
        ids, mask = input_ids[i:i + batch_size].to(device), attention_mask[i:i + batch_size].to(device)
        out.append(pool(backbone(input_ids=ids, attention_mask=mask).last_hidden_state, mask, pooling).float().cpu())
    backbone.train(was_training)
    return torch.cat(out)


def finetune_runs(make_model: Callable[[], Classifier], seeds: Sequence[int], train_data: Sequence[tuple],
                  val_data: tuple, test_data: tuple, steps: int, checks: int, lr: float, batch_size: int = 16,
                  together: bool | None = None) -> list[float]:
    """Fine-tune one model per seed, each on its own training set; return each one's test accuracy.

    Run m: ``seed_everything(seeds[m])``, ``make_model()`` (the mode decides which parameters train: one loop
    for every mode), then AdamW for ``steps`` steps on ``train_data[m]`` = (input_ids (N_m, T_m),
    attention_mask (N_m, T_m), labels (N_m,)), each step on B = min(batch_size, N_m) of them drawn with
    replacement by a generator seeded from the seed. The training length is a hyper-parameter chosen on
    validation, never on test: every ``steps // checks`` steps each run's accuracy on ``val_data`` is checked,
    and each run keeps its own best state. Returns each run's accuracy on ``test_data`` (a list of M floats).
    ``val_data`` and ``test_data`` are (input_ids, attention_mask, labels) tuples shared by all runs.

    ``together`` (default: on a GPU) trains all the runs as one :class:`~pretraining.ensembles.Ensemble`: one
    program instead of one per run. A run whose B is smaller than the largest gets its batch padded with rows
    labelled ``IGNORE`` (-100), which the cross-entropy leaves out of its mean: its loss and gradients are those
    of its own B rows. Each run gets the result it gets alone, up to float rounding (``tests/test_section4.py``
    shows it). On a CPU one at a time is faster. Runs that do not fit in the GPU's memory together (20 copies
    of a 135 M model fine-tuned in full, with AdamW's states and a best-state copy, need about 54 GB before any
    activation) train in two halves, each split again while it does not fit, down to one run: the same results
    on a smaller GPU, with a warning.
    """
    if len(seeds) != len(train_data):
        raise ValueError(f"one training set per seed: {len(seeds)} seeds, {len(train_data)} training sets")
    together = get_device().type == "cuda" if together is None else together
    if not together:
        return [acc for m in range(len(seeds)) for acc in _finetune_together(
            make_model, seeds[m:m + 1], train_data[m:m + 1], val_data, test_data, steps, checks, lr, batch_size)]
    return _finetune_in_groups(make_model, seeds, train_data, val_data, test_data, steps, checks, lr, batch_size)


def _finetune_in_groups(make_model, seeds, train_data, *settings) -> list[float]:
    """:func:`_finetune_together` for all the runs if they fit in memory; else for each half, the same way."""
    try:
        return _finetune_together(make_model, seeds, train_data, *settings)
    except torch.OutOfMemoryError:
        if len(seeds) == 1:
            raise
    # Out of the except block, so that the failed attempt's tensors (held by its traceback) are freed first.
    gc.collect()
    torch.cuda.empty_cache()
    half = len(seeds) // 2
    warnings.warn(f"{len(seeds)} fine-tuning runs do not fit in the GPU's memory together: they train in groups "
                  f"of {half} and {len(seeds) - half} (the same results, a little slower).", stacklevel=3)
    return [acc for part in (slice(0, half), slice(half, None))
            for acc in _finetune_in_groups(make_model, seeds[part], train_data[part], *settings)]


IGNORE = -100  # the label of a padding row: F.cross_entropy's default ignore_index, left out of its mean


def _finetune_together(make_model, seeds, train_data, val_data, test_data, steps, checks, lr, batch_size
                       ) -> list[float]:
    """:func:`finetune_runs` for the given runs as one Ensemble (of one model: the model itself). Shorter training
    sets are padded with examples that are never drawn, shorter rows with masked positions on the right, which
    no real token attends to (so a row's real tokens keep their positions), and smaller batches with rows
    labelled IGNORE."""
    device = get_device()
    models = []
    for seed in seeds:
        seed_everything(seed)
        models.append(make_model())
    ensemble = Ensemble(models).to(device)
    sizes = [len(labels) for _, _, labels in train_data]  # N_m
    ids, mask, labels = (_stack_padded([d[i] for d in train_data]).to(device) for i in range(3))  # (M, N, T), (M, N)
    n_runs = len(sizes)
    rows = torch.arange(n_runs, device=device)[:, None]  # (M, 1)
    run_batch = [min(batch_size, n) for n in sizes]  # B_m
    batch = max(run_batch)  # B: every run's batch is padded to it
    real = (torch.arange(batch)[None] < torch.tensor(run_batch)[:, None]).to(device)  # (M, B): row b < B_m
    trainable = {name: p for name, p in ensemble.stacked_parameters().items() if p.requires_grad}  # (M, *shape)
    # On a GPU, AdamW's fused kernel: one pass over each parameter's p, grad and moments instead of several
    # (20 SmolLM2-sized classifiers fine-tuned in full on an H200: 167 → 150 ms a step); the same update.
    optimizer = torch.optim.AdamW([p for p in ensemble.parameters() if p.requires_grad], lr=lr,
                                  fused=device.type == "cuda")
    best_acc = torch.full((n_runs,), -1.0)
    best = {name: p.detach().clone() for name, p in trainable.items()}
    chunk = steps // checks  # steps between two validation checks
    generators = []

    def draw():  # run m's B_m examples, drawn from its own N_m by its own generator, then B − B_m ignored rows
        pick = torch.stack([F.pad(torch.randint(n, (b,), generator=g), (0, batch - b))
                            for n, b, g in zip(sizes, run_batch, generators)]).to(device)  # (M, B)
        return ids[rows, pick], mask[rows, pick], labels[rows, pick].masked_fill(~real, IGNORE)  # (M, B, T) ×2, (M, B)

    def start_chunk(check: int) -> None:  # each chunk's draws come from generators seeded by (seed, check)
        generators[:] = [torch.Generator().manual_seed(1000 * seed + check) for seed in seeds]

    def validate(done: int) -> None:  # after every chunk: each run keeps its best state on validation
        nonlocal best_acc
        if done % chunk:
            return
        acc = accuracies(ensemble, *val_data)  # (M,); leaves the ensemble in evaluation mode
        ensemble.train()
        better = acc > best_acc
        best_acc = torch.where(better, acc, best_acc)
        with torch.no_grad():
            for name, p in trainable.items():
                best[name][better.to(device)] = p[better.to(device)]
        start_chunk(done // chunk)

    # One loop for all the chunks, so that its CUDA graph is recorded once, not once per chunk.
    start_chunk(0)
    train_ensemble(ensemble, classification_loss, draw, steps=chunk * checks, optimizer=optimizer,
                   progress=False, desc="fine-tuning", cuda_graph=True, after_step=validate)
    with torch.no_grad():
        for name, p in trainable.items():
            p.copy_(best[name])
    return accuracies(ensemble, *test_data).tolist()


def _stack_padded(tensors: Sequence[torch.Tensor]) -> torch.Tensor:
    """M tensors of one rank, e.g. (N_m, T_m) → (M, max N_m, max T_m): each zero-padded at the end of every axis."""
    shape = [max(sizes) for sizes in zip(*(t.shape for t in tensors))]
    return torch.stack([F.pad(t, [pad for d in reversed(range(t.dim())) for pad in (0, shape[d] - t.shape[d])])
                        for t in tensors])


@torch.no_grad()
def accuracies(ensemble: Ensemble, input_ids: torch.Tensor, attention_mask: torch.Tensor, labels: torch.Tensor,
               batch_size: int = 256) -> torch.Tensor:
    """(M,) for the M classifiers of ``ensemble``: the fraction of the (N,) examples whose arg-max class is the
    label. Every model reads the same inputs (N, T); the ensemble is left in evaluation mode."""
    ensemble.eval()
    device = next(ensemble.parameters()).device
    correct = torch.zeros(len(ensemble), dtype=torch.long)
    for i in range(0, len(labels), batch_size):
        logits = ensemble(input_ids[i:i + batch_size].to(device), attention_mask[i:i + batch_size].to(device),
                          in_dims=None)  # (M, b, C)
        correct += (logits.argmax(-1).cpu() == labels[i:i + batch_size]).sum(dim=1)
    return correct / len(labels)

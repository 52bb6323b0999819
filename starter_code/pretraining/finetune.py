"""Fine-tuning a pre-trained model "a little bit": what to do with the pre-trained parameters?

Freeze them (train only a new head), fine-tune them all, fine-tune some of them (the first, middle or last
block), or freeze them and inject a few new ones (LoRA). Every choice is a *mode*; one loop trains them all.

Shapes: B batch, T positions, D hidden size, C classes.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from pretraining.lora import LoRALinear
from pretraining.training import train

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


class Classifier(nn.Module):
    """A pre-trained backbone with a new linear head on one position's representation: (B, T) → (B, C)."""

    def __init__(self, backbone: nn.Module, n_classes: int, pooling: str):
        super().__init__()
        self.backbone, self.pooling = backbone, pooling
        self.head = nn.Linear(backbone.config.hidden_size, n_classes)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        hidden = self.backbone(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state  # (B, T, D)
        return self.head(pool(hidden, attention_mask, self.pooling))  # (B, C)


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


def finetune(model: Classifier, input_ids: torch.Tensor, attention_mask: torch.Tensor, labels: torch.Tensor,
             steps: int, lr: float, batch_size: int = 16, seed: int = 0, progress: bool | None = None,
             optimizer: torch.optim.Optimizer | None = None) -> list[float]:
    """Train ``model``'s trainable parameters with cross-entropy on (input_ids, attention_mask, labels).

    One loop for every mode: the mode only decides which parameters require a gradient. Batches of
    ``batch_size`` examples are drawn with a seeded generator. Pass the same ``optimizer`` to continue
    training in several calls (e.g. to check a validation split in between). Returns the loss of every step.
    """
    generator = torch.Generator().manual_seed(seed)

    def batch():
        pick = torch.randint(len(labels), (min(batch_size, len(labels)),), generator=generator)
        return input_ids[pick], attention_mask[pick], labels[pick]

    def loss(batch):
        ids, mask, y = batch
        return F.cross_entropy(model(ids, mask), y)

    return train(model, loss, batch, steps=steps, lr=lr, optimizer=optimizer, progress=progress, desc="fine-tuning")


@torch.no_grad()
def accuracy(model: Classifier, input_ids: torch.Tensor, attention_mask: torch.Tensor, labels: torch.Tensor,
             batch_size: int = 256) -> float:
    """Fraction of examples whose arg-max class is the label."""
    model.eval()
    device = next(model.parameters()).device
    correct = 0
    for i in range(0, len(labels), batch_size):
        logits = model(input_ids[i:i + batch_size].to(device), attention_mask[i:i + batch_size].to(device))
        correct += (logits.argmax(-1).cpu() == labels[i:i + batch_size]).sum().item()
    return correct / len(labels)


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


def finetune_with_validation(model: Classifier, train_data: tuple, val_data: tuple, steps: int, checks: int, lr: float,
                             batch_size: int = 16, seed: int = 0) -> float:
    """Fine-tune for ``steps`` AdamW steps and keep the state of the best validation accuracy, checked every
    ``steps // checks`` steps: the training length is a hyper-parameter chosen on validation, never on test.

    ``train_data`` and ``val_data`` are (input_ids, attention_mask, labels). Returns the best validation accuracy;
    ``model`` is left holding the trainable parameters that reached it.
    """
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=lr)
    best_acc, best_state = -1.0, None
    for check in range(checks):
        finetune(model, *train_data, steps=steps // checks, lr=lr, batch_size=batch_size, seed=1000 * seed + check,
                 progress=False, optimizer=optimizer)
        acc = accuracy(model, *val_data)
        if acc > best_acc:
            best_acc = acc
            best_state = {n: p.detach().clone() for n, p in model.named_parameters() if p.requires_grad}
    with torch.no_grad():
        for n, p in model.named_parameters():
            if n in best_state:
                p.copy_(best_state[n])
    return best_acc

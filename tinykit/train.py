"""Training and evaluation loops shared by every stage (train, fine-tune, QAT)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from tinykit.data import DataSet
from tinykit.progress import progress_bar


@dataclass
class TrainConfig:
    epochs: int = 15
    lr: float = 3e-3
    batch_size: int = 64
    weight_decay: float = 5e-4
    shift: int = 2  # random translation (pixels of the model input) as augmentation
    seed: int = 0

    def __post_init__(self) -> None:
        check_recipe(self)


def check_recipe(cfg) -> None:
    """One line for an impossible epochs / learning rate / batch size (any training config)."""
    from tinykit.errors import TinykitError

    if cfg.epochs < 0:
        raise TinykitError(f"epochs must be >= 0, got {cfg.epochs}")
    if cfg.lr <= 0:
        raise TinykitError(f"learning rate must be positive, got {cfg.lr}")
    if cfg.batch_size < 1:
        raise TinykitError(f"batch size must be >= 1, got {cfg.batch_size}")


def random_shift(x: torch.Tensor, max_shift: int, gen: torch.Generator) -> torch.Tensor:
    """Translate each image by up to ``max_shift`` pixels, replicating the border."""
    if max_shift <= 0:
        return x
    n, c, h, w = x.shape
    pad = nn.functional.pad(x, (max_shift,) * 4, mode="replicate")
    dy = torch.randint(0, 2 * max_shift + 1, (n,), generator=gen)
    dx = torch.randint(0, 2 * max_shift + 1, (n,), generator=gen)
    rows = (dy[:, None] + torch.arange(h)).view(n, 1, h, 1)
    cols = (dx[:, None] + torch.arange(w)).view(n, 1, 1, w)
    return pad[torch.arange(n).view(n, 1, 1, 1), torch.arange(c).view(1, c, 1, 1), rows, cols]


def minibatch_train(
    params: list[nn.Parameter],
    n: int,
    batch_loss: Callable[[torch.Tensor], torch.Tensor],
    *,
    cfg,
    gen: torch.Generator,
    after_step: Callable[[], None] | None = None,
    after_epoch: Callable[[], dict] | None = None,
    desc: str = "train",
    progress: bool = True,
) -> None:
    """tinykit's one training recipe: AdamW with a one-cycle schedule over ``cfg.epochs``
    shuffled passes of ``n`` examples. ``batch_loss(idx)`` is one batch's loss; ``after_epoch``
    returns extra figures for the progress bar."""
    opt = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    steps = max(1, cfg.epochs * ((n + cfg.batch_size - 1) // cfg.batch_size))
    sched = torch.optim.lr_scheduler.OneCycleLR(
        opt, max_lr=cfg.lr, total_steps=steps, pct_start=0.15
    )
    bar = progress_bar(range(cfg.epochs), desc=desc, enabled=progress)
    for _ in bar:
        perm = torch.randperm(n, generator=gen)
        total = 0.0
        for i in range(0, n, cfg.batch_size):
            idx = perm[i : i + cfg.batch_size]
            loss = batch_loss(idx)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            if after_step is not None:
                after_step()
            total += loss.item() * len(idx)
        extra = after_epoch() if after_epoch is not None else {}
        bar.set_postfix(loss=f"{total / n:.3f}", **extra)


def fit(
    model: nn.Module,
    data: DataSet,
    config: TrainConfig | None = None,
    *,
    after_step: Callable[[nn.Module], None] | None = None,
    params: list[nn.Parameter] | None = None,
    desc: str = "train",
    progress: bool = True,
) -> list[float]:
    """Train ``model`` on ``data.train``; returns per-epoch validation accuracy.

    ``after_step`` runs after every optimizer step: pruning masks and codebooks re-apply their
    constraints there, so the model never drifts off them.
    """
    cfg = config or TrainConfig()
    torch.manual_seed(cfg.seed)
    gen = torch.Generator().manual_seed(cfg.seed)
    x = torch.from_numpy(data.inputs("train"))
    y = torch.from_numpy(data.train.y)
    xv, yv = data.inputs("val"), data.val.y
    trainable = params if params is not None else [p for p in model.parameters() if p.requires_grad]
    loss_fn = nn.CrossEntropyLoss()
    history: list[float] = []

    def batch_loss(idx):
        return loss_fn(model(random_shift(x[idx], cfg.shift, gen)), y[idx])

    def after_epoch():
        history.append(evaluate(model, xv, yv) if len(yv) else float("nan"))
        model.train()
        return {"val_acc": f"{history[-1]:.4f}"}

    model.train()
    minibatch_train(
        trainable,
        len(y),
        batch_loss,
        cfg=cfg,
        gen=gen,
        after_step=(lambda: after_step(model)) if after_step is not None else None,
        after_epoch=after_epoch,
        desc=desc,
        progress=progress,
    )
    model.eval()
    return history


@torch.no_grad()
def predict(model: nn.Module, x: np.ndarray, batch_size: int = 256) -> np.ndarray:
    """Top-1 class of each input (model-ready float32 N,C,H,W)."""
    model.eval()
    out = []
    for i in range(0, len(x), batch_size):
        out.append(model(torch.from_numpy(np.ascontiguousarray(x[i : i + batch_size]))).argmax(1))
    return torch.cat(out).numpy() if out else np.zeros(0, dtype=np.int64)


def evaluate(model: nn.Module, x: np.ndarray, y: np.ndarray) -> float:
    """Top-1 accuracy."""
    return float((predict(model, x) == y).mean()) if len(y) else float("nan")

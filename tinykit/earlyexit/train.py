"""Training exit heads: with the backbone frozen (cheap, the backbone's accuracy untouched) or
jointly with it (each head's loss added to the final one, so early blocks learn to be read).

Frozen training runs the backbone once over the training split and caches each head's pooled
input (the heads' pooling has no parameters), then trains only the heads' linear layers on
those small vectors: seconds, not minutes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass

import numpy as np
import torch
from torch import nn

from tinykit.earlyexit.heads import EarlyExitModel
from tinykit.errors import TinykitError
from tinykit.train import check_recipe, minibatch_train, random_shift

MODES = ("frozen", "joint")


@dataclass
class HeadTrainConfig:
    mode: str = "frozen"
    epochs: int = 30
    lr: float = 3e-3
    batch_size: int = 64
    weight_decay: float = 5e-4
    exit_weight: float = 1.0  # joint: weight of each head's loss next to the final loss (1)
    shift: int = 2  # joint: random translation (pixels) as augmentation, as in tinykit.train
    seed: int = 0

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise TinykitError(f"unknown head training mode '{self.mode}': use {', '.join(MODES)}")
        check_recipe(self)

    def to_dict(self) -> dict:
        return asdict(self)


@torch.no_grad()
def exit_logits(model: EarlyExitModel, x: np.ndarray, batch_size: int = 256) -> np.ndarray:
    """Logits of every exit on model-ready inputs: (exits, N, classes), float32."""
    model.eval()
    outs: list[list[np.ndarray]] = [[] for _ in range(model.num_exits)]
    for i in range(0, len(x), batch_size):
        xb = torch.from_numpy(np.ascontiguousarray(x[i : i + batch_size]))
        for k, z in enumerate(model(xb)):
            outs[k].append(z.float().numpy())
    return np.stack([np.concatenate(o) for o in outs])


def exit_accuracies(model: EarlyExitModel, x: np.ndarray, y: np.ndarray) -> list[float]:
    """Accuracy of every exit if all inputs left there."""
    if not len(y):
        return [float("nan")] * model.num_exits
    return [float((z.argmax(-1) == y).mean()) for z in exit_logits(model, x)]


@torch.no_grad()
def _pooled_features(
    model: EarlyExitModel, x: np.ndarray, batch_size: int = 256
) -> list[torch.Tensor]:
    model.eval()
    parts: list[list[torch.Tensor]] = [[] for _ in model.heads]
    for i in range(0, len(x), batch_size):
        feats, _ = model.features(torch.from_numpy(np.ascontiguousarray(x[i : i + batch_size])))
        for k, (head, f) in enumerate(zip(model.heads, feats, strict=True)):
            parts[k].append(head.pooled(f))
    return [torch.cat(p) for p in parts]


def _train_frozen(
    model: EarlyExitModel,
    data,
    cfg: HeadTrainConfig,
    progress: bool,
    after_step: Callable[[nn.Module], None] | None,
) -> None:
    from tinykit.meta.threads import one_thread  # tiny matrices: a 2nd thread only costs

    feats = _pooled_features(model, data.inputs("train"))
    y = torch.from_numpy(data.train.y)
    with one_thread():
        for k, f in enumerate(feats):
            _fit_head(model, k, f, y, cfg, progress, after_step)


def _fit_head(
    model: EarlyExitModel,
    k: int,
    f: torch.Tensor,
    y: torch.Tensor,
    cfg: HeadTrainConfig,
    progress: bool,
    after_step: Callable[[nn.Module], None] | None,
) -> None:
    """Train head ``k``'s linear layers on its cached pooled features ``f``."""
    head = model.heads[k]
    torch.manual_seed(cfg.seed + k)
    loss_fn = nn.CrossEntropyLoss()
    head.train()
    minibatch_train(
        list(head.fc.parameters()),
        len(y),
        lambda idx: loss_fn(head.fc(f[idx]), y[idx]),
        cfg=cfg,
        gen=torch.Generator().manual_seed(cfg.seed + k),
        after_step=(lambda: after_step(model)) if after_step is not None else None,
        desc=f"train head {model.exits[k]}",
        progress=progress,
    )
    head.eval()


def _train_joint(
    model: EarlyExitModel,
    data,
    cfg: HeadTrainConfig,
    progress: bool,
    after_step: Callable[[nn.Module], None] | None,
) -> None:
    torch.manual_seed(cfg.seed)
    gen = torch.Generator().manual_seed(cfg.seed)
    x = torch.from_numpy(data.inputs("train"))
    y = torch.from_numpy(data.train.y)
    loss_fn = nn.CrossEntropyLoss()

    def batch_loss(idx):
        outs = model(random_shift(x[idx], cfg.shift, gen))
        heads = sum(loss_fn(z, y[idx]) for z in outs[:-1])
        return loss_fn(outs[-1], y[idx]) + cfg.exit_weight * heads

    model.train()
    minibatch_train(
        [p for p in model.parameters() if p.requires_grad],
        len(y),
        batch_loss,
        cfg=cfg,
        gen=gen,
        after_step=(lambda: after_step(model)) if after_step is not None else None,
        desc="train backbone + heads jointly",
        progress=progress,
    )
    model.eval()


def train_heads(
    model: EarlyExitModel,
    data,
    config: HeadTrainConfig | None = None,
    *,
    after_step: Callable[[nn.Module], None] | None = None,
    progress: bool = True,
) -> dict:
    """Train ``model``'s heads (and, jointly, its backbone) on ``data.train``.

    ``after_step`` runs after every optimizer step: pruning masks and k-means
    codebooks re-impose themselves there. Returns each exit's validation accuracy.
    """
    cfg = config or HeadTrainConfig()
    if cfg.mode == "frozen":
        _train_frozen(model, data, cfg, progress, after_step)
    else:
        _train_joint(model, data, cfg, progress, after_step)
    model.eval()
    return {"val_accuracy": exit_accuracies(model, data.inputs("val"), data.val.y)}

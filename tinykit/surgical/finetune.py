"""Surgical fine-tuning (Lee et al., 2022): adapt one block of a network to corrupted inputs.

Everything but the chosen block is frozen and batch norm stays in eval mode (its running
statistics are never updated), so the rest of the network is bit-identical afterwards and
the adaptation ships as the block's weights alone (see :mod:`tinykit.surgical.delta`).
"""

from __future__ import annotations

import copy
from dataclasses import asdict, dataclass

import numpy as np

from tinykit.data import DataSet, Split
from tinykit.errors import TinykitError
from tinykit.surgical.corruptions import check_corruption, corrupt


@dataclass
class SurgicalConfig:
    """Which corruptions, which blocks, and how much labelled corrupted data to tune on."""

    corruptions: tuple[str, ...] = ("impulse_noise", "contrast")
    severity: int = 5
    blocks: tuple[str, ...] = ()  # empty: each block in turn, then all of them
    n_train: int = 200
    epochs: int = 10
    lrs: tuple[float, ...] = (1e-3, 1e-2)  # each choice gets the best on the corrupted val split
    batch_size: int = 32
    seed: int = 0

    def __post_init__(self) -> None:
        for c in self.corruptions:
            check_corruption(c, self.severity)
        if self.n_train < 1 or self.epochs < 1 or self.batch_size < 1:
            raise TinykitError("n_train, epochs and batch size must be >= 1")
        if not self.lrs or any(lr <= 0 for lr in self.lrs):
            raise TinykitError("learning rates must be positive")


def model_blocks(model) -> list[str]:
    """The top-level children that hold parameters, in order (ResNet-8: stem, stage1,
    stage2, stage3, fc)."""
    return [n for n, m in model.named_children() if any(True for _ in m.parameters())]


def resolve_block(model, choice: str) -> list[str]:
    """A choice (a block name, 'first', 'last' or 'all') as the list of blocks it trains."""
    blocks = model_blocks(model)
    if choice == "all":
        return blocks
    if choice == "first":
        return blocks[:1]
    if choice == "last":
        return blocks[-1:]
    if choice not in blocks:
        raise TinykitError(
            f"no block named '{choice}': this model's blocks are {', '.join(blocks)} "
            "(or first, last, all)"
        )
    return [choice]


def corrupted_inputs(
    data: DataSet, split: Split, name: str, severity: int, *, seed: int
) -> np.ndarray:
    """Model-ready inputs of ``split`` corrupted at the model's resolution.

    Raw images are brought to [0, 1] (the spec's value scale) and resized to the model's
    input size, corrupted there (like CIFAR-10-C at 32x32), then normalised with the spec's
    mean and std.
    """
    from tinykit.preprocess import preprocess

    p = data.spec.preprocess
    unit = preprocess(split.x, scale=p.scale, mean=(0.0,), std=(1.0,), resize=p.resize)
    bad = corrupt(np.clip(unit, 0, 1), name, severity, seed=seed)
    mean = np.asarray(p.mean, dtype=np.float32).reshape(1, -1, 1, 1)
    std = np.asarray(p.std, dtype=np.float32).reshape(1, -1, 1, 1)
    return ((bad - mean) / std).astype(np.float32)


def freeze_except(model, blocks: list[str]) -> list:
    """requires_grad only inside ``blocks``; returns those parameters."""
    keep = []
    for name, child in model.named_children():
        on = name in blocks
        for p in child.parameters():
            p.requires_grad_(on)
            if on:
                keep.append(p)
    return keep


def tune_blocks(
    model,
    blocks: list[str],
    x: np.ndarray,
    y: np.ndarray,
    *,
    epochs: int,
    lr: float,
    batch_size: int,
    seed: int,
):
    """A copy of ``model`` with only ``blocks`` trained on (x, y); batch norm in eval mode."""
    import torch
    from torch import nn

    tuned = copy.deepcopy(model)
    params = freeze_except(tuned, blocks)
    tuned.eval()  # batch norm uses (and keeps) its running statistics
    opt = torch.optim.Adam(params, lr=lr)
    gen = torch.Generator().manual_seed(seed)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    for _ in range(epochs):
        perm = torch.randperm(len(yt), generator=gen)
        for i in range(0, len(yt), batch_size):
            idx = perm[i : i + batch_size]
            loss = nn.functional.cross_entropy(tuned(xt[idx]), yt[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
    for p in tuned.parameters():
        p.requires_grad_(True)
    return tuned


def _subset(split: Split, n: int, seed: int) -> Split:
    if n >= len(split):
        return split
    idx = np.sort(np.random.default_rng(seed).choice(len(split), n, replace=False))
    return Split(split.x[idx], split.y[idx])


def run_surgical(
    model, data: DataSet, cfg: SurgicalConfig, *, progress: bool = True, on_tuned=None
) -> dict:
    """Accuracy on corrupted test data for no tuning and for each block choice.

    ``on_tuned(corruption, choice, blocks, tuned_model)`` is called for every tuned model
    (the CLI writes the deltas there).
    """
    from tinykit.progress import progress_bar
    from tinykit.train import evaluate

    model = model.eval()
    choices = list(cfg.blocks) or [*model_blocks(model), "all"]
    plan = {c: resolve_block(model, c) for c in choices}
    train = _subset(data.train, cfg.n_train, cfg.seed)
    rows = []
    total = len(cfg.corruptions) * len(choices) * len(cfg.lrs)
    bar = progress_bar(range(total), desc="surgical fine-tuning", enabled=progress)
    it = iter(bar)
    for ci, name in enumerate(cfg.corruptions):
        s = cfg.seed * 1000 + ci * 10
        x_tr = corrupted_inputs(data, train, name, cfg.severity, seed=s + 1)
        x_va = corrupted_inputs(data, data.val, name, cfg.severity, seed=s + 2)
        x_te = corrupted_inputs(data, data.test, name, cfg.severity, seed=s + 3)
        row = {
            "corruption": name,
            "severity": cfg.severity,
            "clean": evaluate(model, data.inputs("test"), data.test.y),
            "none": evaluate(model, x_te, data.test.y),
            "choices": {},
        }
        for choice, blocks in plan.items():
            best = None
            for lr in cfg.lrs:
                next(it, None)
                tuned = tune_blocks(
                    model,
                    blocks,
                    x_tr,
                    train.y,
                    epochs=cfg.epochs,
                    lr=lr,
                    batch_size=cfg.batch_size,
                    seed=cfg.seed,
                )
                val = evaluate(tuned, x_va, data.val.y) if len(data.val) else 0.0
                if best is None or val > best[0]:
                    best = (val, lr, tuned)
            val, lr, tuned = best
            row["choices"][choice] = {
                "blocks": blocks,
                "lr": lr,
                "val_accuracy": val,
                "accuracy": evaluate(tuned, x_te, data.test.y),
                "trained_params": sum(
                    p.numel() for b in blocks for p in getattr(tuned, b).parameters()
                ),
            }
            if on_tuned is not None:
                on_tuned(name, choice, blocks, tuned)
        rows.append(row)
    bar.close()
    return {
        "config": asdict(cfg),
        "blocks": model_blocks(model),
        "choices": choices,
        "results": rows,
    }

"""The embedded reference model: ResNet-8 on the digits, trained on first use and cached."""

from __future__ import annotations

import os
from pathlib import Path

from tinykit.checkpoint import Checkpoint, load_checkpoint, save_checkpoint

REFERENCE_NAME = "digits-resnet8"
REFERENCE_VERSION = 1  # bump when the architecture, data split or training recipe changes


def cache_dir() -> Path:
    """tinykit's folder in the user's cache ($XDG_CACHE_HOME, else ~/.cache)."""
    root = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(root) / "tinykit"


def reference_path() -> Path:
    return cache_dir() / f"{REFERENCE_NAME}-v{REFERENCE_VERSION}.pt"


def reference_checkpoint(*, progress: bool = True) -> Checkpoint:
    """Load the cached reference checkpoint, training it first if it is not there (~30 s)."""
    path = reference_path()
    if not path.is_file():
        train_reference(path, progress=progress)
    return load_checkpoint(path)


def train_reference(path: Path, *, progress: bool = True) -> Path:
    import torch

    from tinykit.data import load_digits_data
    from tinykit.models import build_model
    from tinykit.train import TrainConfig, evaluate, fit

    data = load_digits_data(seed=0)
    torch.manual_seed(0)
    model = build_model("resnet8", num_classes=10, in_channels=1)
    cfg = TrainConfig(epochs=15, lr=3e-3, seed=0)
    fit(model, data, cfg, desc="training reference ResNet-8 on digits (once)", progress=progress)
    acc = evaluate(model, data.inputs("test"), data.test.y)
    ckpt = Checkpoint(
        arch="resnet8",
        spec=data.spec,
        state_dict={},
        recipe={"train": {"epochs": cfg.epochs, "lr": cfg.lr, "seed": cfg.seed}},
        metrics={"test_accuracy": acc},
    )
    return save_checkpoint(path, model, ckpt)

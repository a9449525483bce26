"""The soft prompt's training loss as a PNG."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tinykit.plots import pyplot, save_png


def loss_curve(losses: list[float], path: Path, *, title: str) -> Path:
    """Per-step loss (light) and its running mean over 20 steps (dark)."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6.4, 3.6))
    steps = np.arange(1, len(losses) + 1)
    ax.plot(steps, losses, color="C0", alpha=0.3, lw=1, label="loss per step")
    w = min(20, len(losses))
    smooth = np.convolve(losses, np.ones(w) / w, mode="valid")
    ax.plot(steps[w - 1 :], smooth, color="C0", lw=2, label=f"mean of {w} steps")
    ax.set_xlabel("step")
    ax.set_ylabel("cross-entropy on target tokens")
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return save_png(fig, path)

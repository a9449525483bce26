"""PNG plots a person reads at a glance (matplotlib, Agg backend, no screen needed)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from tinykit.fileio import atomic_path


def pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_png(fig, path: Path) -> Path:
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=110, bbox_inches="tight", format="png")
    pyplot().close(fig)
    return path


def weight_histograms(
    before: dict[str, np.ndarray],
    after: dict[str, np.ndarray] | None,
    path: Path,
    *,
    title: str = "Weight distributions",
    labels: tuple[str, str] = ("baseline", "compressed"),
) -> Path:
    """One panel per layer: the baseline's histogram, and the compressed weights over it.

    Zeros of a pruned layer are left out of the histogram and counted in the panel title, so
    the surviving weights stay visible; a k-means layer shows as a comb of its centroids.
    """
    plt = pyplot()
    names = list(before)
    cols = min(4, len(names))
    rows = math.ceil(len(names) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(3.6 * cols, 2.6 * rows), squeeze=False)
    for ax, name in zip(axes.flat, names, strict=False):
        w0 = before[name].ravel()
        lo, hi = float(w0.min()), float(w0.max())
        if after is not None and name in after:
            w1 = after[name].ravel()
            lo, hi = min(lo, float(w1.min())), max(hi, float(w1.max()))
        bins = np.linspace(lo, hi, 81) if hi > lo else 10
        ax.hist(w0, bins=bins, color="0.7", label=labels[0])
        t = f"{name}  ({w0.size:,} w)"
        if after is not None and name in after:
            w1 = after[name].ravel()
            nz = w1[w1 != 0]
            uniq = np.unique(nz)
            if 0 < uniq.size <= 256:  # codebook: draw each centroid's count as a stem
                vals, cnt = np.unique(nz, return_counts=True)
                ax2 = ax.twinx()  # counts per centroid: its own scale, in red
                ax2.vlines(vals, 0, cnt, color="C3", lw=1.5)
                ax2.tick_params(labelsize=6, colors="C3")
                ax.plot([], [], color="C3", label=f"{labels[1]} (codebook, right axis)")
            else:
                ax.hist(nz, bins=bins, histtype="step", color="C3", lw=1.2, label=labels[1])
            t += f"\n{100 * (w1 == 0).mean():.0f}% zero after"
        ax.set_title(t, fontsize=8)
        ax.tick_params(labelsize=7)
    for ax in list(axes.flat)[len(names) :]:
        ax.axis("off")
    handles, leg = axes.flat[0].get_legend_handles_labels()
    fig.legend(handles, leg, loc="upper right", fontsize=8)
    fig.suptitle(title, fontsize=11)
    fig.tight_layout(rect=(0, 0, 1, 0.96))
    return save_png(fig, path)


def layer_weights(model) -> dict[str, np.ndarray]:
    from torch import nn

    return {
        n: m.weight.detach().cpu().numpy().copy()
        for n, m in model.named_modules()
        if isinstance(m, (nn.Conv2d, nn.Linear))
    }


def sensitivity_curves(scan, path: Path, *, chosen: dict[str, float] | None = None) -> Path:
    """Validation accuracy against sparsity, one curve per layer (pruned alone)."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(8, 5))
    for i, (name, accs) in enumerate(scan.accuracy.items()):
        color = plt.cm.tab20(i % 20)
        ax.plot(scan.sparsities, [100 * a for a in accs], marker="o", ms=3, color=color, label=name)
        if chosen and name in chosen:
            s = chosen[name]
            a = accs[scan.sparsities.index(s)] if s in scan.sparsities else None
            if a is not None:
                ax.plot([s], [100 * a], marker="*", ms=12, color=color, mec="k", mew=0.6)
    ax.axhline(100 * scan.base_accuracy, color="k", lw=0.8, ls="--", label="unpruned")
    ax.set_xlabel("sparsity of the one pruned layer")
    ax.set_ylabel("validation accuracy (%)")
    title = "Per-layer pruning sensitivity (validation split)"
    if chosen:
        title += "\nstars: sparsity chosen for each layer"
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, ncol=2, loc="lower left")
    fig.tight_layout()
    return save_png(fig, path)


def param_bars(params: dict[str, int], path: Path) -> Path:
    """Weights per prunable layer: where pruning can save the most."""
    plt = pyplot()
    names = list(params)
    fig, ax = plt.subplots(figsize=(max(6, 0.55 * len(names) + 2), 4))
    bars = ax.bar(range(len(names)), [params[n] for n in names], color="C0")
    ax.bar_label(bars, labels=[f"{params[n]:,}" for n in names], fontsize=7, rotation=90, padding=2)
    ax.set_xticks(range(len(names)), names, rotation=60, ha="right", fontsize=8)
    ax.set_ylabel("weights")
    ax.set_title("Weights per layer")
    ax.margins(y=0.2)
    fig.tight_layout()
    return save_png(fig, path)

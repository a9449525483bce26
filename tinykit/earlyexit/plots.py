"""PNG figures of example difficulty and early exit (matplotlib, Agg)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tinykit.plots import pyplot, save_png


def _depth_labels(blocks: list[str]) -> list[str]:
    return [*blocks, "final\nhead"]


def depth_histogram(
    per_depth: list[dict], blocks: list[str], path: Path, *, k: int, split: str = "test"
) -> Path:
    """How many examples reach their final answer at each block."""
    plt = pyplot()
    counts = [d["count"] for d in per_depth]
    fig, ax = plt.subplots(figsize=(max(5, 1.1 * len(counts) + 2), 3.8))
    bars = ax.bar(range(len(counts)), counts, color="C0")
    total = sum(counts) or 1
    ax.bar_label(
        bars, labels=[f"{c}\n({100 * c / total:.1f}%)" for c in counts], fontsize=8, padding=2
    )
    ax.set_xticks(range(len(counts)), _depth_labels(blocks), fontsize=8)
    ax.set_xlabel(
        "prediction depth (earliest block whose k-NN probe, and every later one, "
        "agrees with the network)",
        fontsize=8,
    )
    ax.set_ylabel(f"{split} examples")
    ax.set_title(f"Prediction depth of {total} {split} examples (k-NN probes, k = {k})")
    ax.margins(y=0.25)
    fig.tight_layout()
    return save_png(fig, path)


def accuracy_by_depth(
    per_depth: list[dict], probe_accuracy: dict[str, float], blocks: list[str], path: Path
) -> Path:
    """The network's accuracy on the examples of each depth, next to each probe's accuracy."""
    plt = pyplot()
    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(11, 3.8))
    xs = range(len(per_depth))
    accs = [100 * d["accuracy"] if d["accuracy"] is not None else 0 for d in per_depth]
    bars = ax.bar(xs, accs, color=["C2" if d["count"] else "0.85" for d in per_depth])
    ax.bar_label(
        bars,
        labels=[
            f"{a:.1f}%\nn={d['count']}" if d["count"] else "no\nexamples"
            for a, d in zip(accs, per_depth, strict=True)
        ],
        fontsize=7,
        padding=2,
    )
    ax.set_xticks(list(xs), _depth_labels(blocks), fontsize=8)
    ax.set_xlabel("prediction depth", fontsize=8)
    ax.set_ylabel("network accuracy (%)")
    ax.set_ylim(0, 119)
    ax.set_title("Accuracy of the examples at each depth", fontsize=10)
    pa = [100 * probe_accuracy[b] for b in blocks]
    ax2.plot(range(len(blocks)), pa, marker="o", color="C1")
    for i, a in enumerate(pa):
        ax2.annotate(
            f"{a:.1f}%", (i, a), textcoords="offset points", xytext=(0, 6), ha="center", fontsize=8
        )
    ax2.set_xticks(range(len(blocks)), blocks, fontsize=8)
    ax2.set_ylabel("k-NN probe accuracy (%)")
    lo = min(pa) if pa else 0
    ax2.set_ylim(max(0, lo - 10), 103)
    ax2.grid(alpha=0.3)
    ax2.set_title("Accuracy of each block's k-NN probe alone", fontsize=10)
    fig.tight_layout()
    return save_png(fig, path)


def example_grid(
    images: np.ndarray,
    order: np.ndarray,
    depth: np.ndarray,
    labels: np.ndarray,
    preds: np.ndarray,
    blocks: list[str],
    path: Path,
    *,
    per_row: int = 8,
    names: list[str] | None = None,
) -> Path:
    """The easiest examples (top rows) and the hardest (bottom rows), raw images."""
    plt = pyplot()
    n = min(2 * per_row, len(order) // 2 * 2) // 2 or 1
    easy, hard = order[:n], order[::-1][:n]
    fig, axes = plt.subplots(2, n, figsize=(1.4 * n + 0.4, 4.4), squeeze=False)
    lab = names or [str(i) for i in range(int(max(labels.max(), preds.max())) + 1)]
    for row, (sel, title) in enumerate(((easy, "easiest"), (hard, "hardest"))):
        for j, ax in enumerate(axes[row]):
            ax.axis("off")
            if j >= len(sel):
                continue
            i = sel[j]
            img = images[i]
            img = img[0] if img.shape[0] == 1 else np.transpose(img, (1, 2, 0))
            lo, hi = float(img.min()), float(img.max())
            img = (img - lo) / (hi - lo) if hi > lo else img * 0
            ax.imshow(img, cmap="gray_r" if img.ndim == 2 else None, interpolation="nearest")
            d = int(depth[i])
            where = blocks[d] if d < len(blocks) else "final"
            wrong = preds[i] != labels[i]
            ax.set_title(
                f"y={lab[labels[i]]} p={lab[preds[i]]}\ndepth {d} ({where})",
                fontsize=7,
                color="C3" if wrong else "k",
            )
        axes[row][0].text(
            -0.15,
            0.5,
            title,
            transform=axes[row][0].transAxes,
            rotation=90,
            va="center",
            ha="right",
            fontsize=9,
        )
    fig.tight_layout(rect=(0.02, 0, 1, 0.95), h_pad=1.5)
    top = max(ax.get_position().y1 for ax in axes[0])  # the title just above the first row
    fig.suptitle(
        "Easiest (top) and hardest (bottom) examples by prediction depth; red: misclassified",
        fontsize=9,
        y=min(0.99, top + 0.12),
    )
    return save_png(fig, path)


def accuracy_vs_macs(
    sweep: list[dict],
    chosen: dict,
    exit_points: list[tuple[int, float]],
    full_macs: float,
    full_accuracy: float,
    path: Path,
    *,
    exit_names: list[str],
) -> Path:
    """Test accuracy against average MACs: a shared-threshold sweep, the calibrated per-head
    thresholds, every input at one exit, and the full network as the reference."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(8, 5))
    m = [100 * s["average_macs"] / full_macs for s in sweep]
    a = [100 * s["accuracy"] for s in sweep]
    ax.plot(m, a, marker="o", ms=4, color="C0", label="one threshold for every head (sweep)")
    em = [100 * c / full_macs for c, _ in exit_points]
    ea = [100 * acc for _, acc in exit_points]
    star = (100 * chosen["average_macs"] / full_macs, 100 * chosen["accuracy"])
    # a sweep label is left out where it would sit on another label or a marker
    taken = [(100.0, 100 * full_accuracy), star, *zip(em, ea, strict=True)]
    span = max(1.0, 100.8 - min([*a, *ea, 100 * full_accuracy]))
    for s, x, y in zip(sweep, m, a, strict=True):
        if any(abs(x - tx) < 5 and abs(y - ty) < 0.06 * span for tx, ty in taken):
            continue
        ax.annotate(
            f"{s['thresholds'][0]:g}",
            (x, y),
            textcoords="offset points",
            xytext=(4, -10),
            fontsize=7,
            color="C0",
        )
        taken.append((x, y))
    ax.plot(em, ea, ls=":", marker="s", ms=5, color="0.5", label="every input at one exit")
    for name, x, y in zip(exit_names, em, ea, strict=True):
        left = x < 15  # near the y axis the label goes right of its marker
        ax.annotate(
            name,
            (x, y),
            textcoords="offset points",
            xytext=(6, 6) if left else (-6, 6),
            fontsize=7,
            color="0.4",
            ha="left" if left else "right",
        )
    ax.plot(
        [star[0]],
        [star[1]],
        marker="*",
        ms=16,
        color="C3",
        mec="k",
        ls="none",
        label="calibrated thresholds (validation split)",
    )
    ax.plot(
        [100.0], [100 * full_accuracy], marker="D", ms=9, color="k", ls="none", label="full network"
    )
    ax.set_xlabel("average MACs per input (% of the full network)")
    ax.set_ylabel("test accuracy (%)")
    lo = min([*a, *ea, 100 * full_accuracy])
    ax.set_ylim(max(0, lo - 2), 100.8)
    ax.set_xlim(0, 108)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")
    ax.set_title("Early exit: accuracy against average MACs (test split)")
    fig.tight_layout()
    return save_png(fig, path)


def exit_vs_depth_plot(
    counts: list[list[int]],
    depth_blocks: list[str],
    exit_names: list[str],
    path: Path,
    *,
    spearman: float | None,
) -> Path:
    """Where each test input left the early-exit network, by its prediction depth."""
    plt = pyplot()
    m = np.asarray(counts)
    fig, ax = plt.subplots(figsize=(1.3 * m.shape[1] + 3, 0.7 * m.shape[0] + 2))
    ax.imshow(np.log1p(m), cmap="Blues", aspect="auto")
    for i in range(m.shape[0]):
        for j in range(m.shape[1]):
            ax.text(
                j,
                i,
                str(m[i, j]),
                ha="center",
                va="center",
                fontsize=9,
                color="w" if m[i, j] > m.max() / 2 else "k",
            )
    ax.set_xticks(range(m.shape[1]), exit_names, fontsize=8)
    ax.set_yticks(
        range(m.shape[0]), [b.replace("\n", " ") for b in _depth_labels(depth_blocks)], fontsize=8
    )
    ax.set_xlabel("exit taken")
    ax.set_ylabel("prediction depth")
    rho = "n/a (one side constant)" if spearman is None else f"{spearman:.2f}"
    ax.set_title(
        f"Exit taken vs prediction depth (test inputs)\nSpearman rank correlation: {rho}",
        fontsize=10,
    )
    fig.tight_layout()
    return save_png(fig, path)

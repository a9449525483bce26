"""Accuracy on corrupted test data for each fine-tuned block, as grouped bars."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tinykit.plots import pyplot, save_png


def block_accuracy_bars(report: dict, path: Path) -> Path:
    """One group of bars per corruption: no tuning, then each block choice."""
    plt = pyplot()
    rows = report["results"]
    names = ["none", *report["choices"]]
    fig, ax = plt.subplots(figsize=(max(6.0, 1.2 * len(rows) * len(names) / 2), 4.0))
    width = 0.8 / len(names)
    x = np.arange(len(rows))
    for i, name in enumerate(names):
        vals = [
            100 * (r["none"] if name == "none" else r["choices"][name]["accuracy"]) for r in rows
        ]
        color = "0.6" if name == "none" else f"C{i - 1}"
        bars = ax.bar(
            x + (i - (len(names) - 1) / 2) * width,
            vals,
            width,
            color=color,
            label="no tuning" if name == "none" else name,
        )
        for b, v in zip(bars, vals, strict=True):
            ax.text(
                b.get_x() + b.get_width() / 2,
                v + 0.3,
                f"{v:.1f}",
                ha="center",
                va="bottom",
                fontsize=6,
                rotation=90,
            )
    ax.set_ylim(0, 108)
    ax.set_xticks(x, [f"{r['corruption']}\n(severity {r['severity']})" for r in rows], fontsize=8)
    ax.set_ylabel("test accuracy on corrupted data (%)")
    ax.set_title("Surgical fine-tuning: which block to tune", fontsize=10)
    ax.legend(
        fontsize=7,
        ncol=min(7, len(names)),
        loc="upper center",
        bbox_to_anchor=(0.5, -0.14),
        frameon=False,
    )
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    return save_png(fig, path)

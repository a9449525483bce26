"""Latency against MACs: one point per stage and runtime, so each stage's gain shows at a glance."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any


def _latency(p: dict[str, Any]) -> tuple[float, bool]:
    lat = p.get("latency_ms", p.get("latency"))
    if isinstance(lat, dict):
        return float(lat["median"]), bool(lat.get("measured", True))
    return float(lat), bool(p.get("measured", True))


def latency_vs_macs_plot(
    points: list[dict[str, Any]],
    path: str | os.PathLike[str],
    *,
    title: str = "Latency against MACs",
) -> Path:
    """Write a PNG: x = MACs (millions), y = median latency (ms), one marker per runtime.

    Args:
        points: dicts with ``stage``, ``runtime``, ``macs`` and ``latency_ms`` (a number, or a
            latency record with ``median`` and ``measured``). Estimates (``measured: False``)
            are drawn hollow and labelled "est.". Points of one runtime are joined in the
            order given (the order of the stages).
        path: where the PNG goes (written atomically).

    Returns:
        the path written.
    """
    from tinykit.errors import TinykitError
    from tinykit.plots import pyplot, save_png

    if not points:
        raise TinykitError("no points to plot")
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6.4, 4.4))
    runtimes = list(dict.fromkeys(p["runtime"] for p in points))
    markers = "osD^vP*X"
    labels: list[tuple[float, float, str]] = []
    for i, rt in enumerate(runtimes):
        pts = [p for p in points if p["runtime"] == rt]
        xs = [p["macs"] / 1e6 for p in pts]
        ys, measured = zip(*(_latency(p) for p in pts), strict=True)
        color = f"C{i}"
        ax.plot(xs, ys, "-", color=color, alpha=0.4, lw=1)
        for x, y, m, p in zip(xs, ys, measured, pts, strict=True):
            ax.plot(
                [x],
                [y],
                markers[i % len(markers)],
                ms=8,
                color=color,
                mfc=color if m else "white",
                mew=1.5,
            )
            labels.append((x, y, p["stage"] + ("" if m else " (est.)")))
        ax.plot(
            [],
            [],
            markers[i % len(markers)],
            color=color,
            label=rt,
            mfc=color if any(measured) else "white",
            mew=1.5,
        )
    kinds = {_latency(p)[1] for p in points}
    if kinds == {True, False}:  # measured and estimated side by side: say which is which
        ax.plot([], [], "o", color="0.3", mfc="white", label="estimate (roofline)")
    xs_all = [p["macs"] for p in points]
    ys_all = [_latency(p)[0] for p in points]
    if min(xs_all) > 0 and max(xs_all) / min(xs_all) > 20:
        ax.set_xscale("log")
    if min(ys_all) > 0 and max(ys_all) / min(ys_all) > 20:
        ax.set_yscale("log")
    ax.set_xlabel("MACs per inference (millions)")
    ax.set_ylabel("median latency, batch 1 (ms)")
    ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3)
    ax.margins(x=0.15, y=0.15)
    ax.legend(fontsize=8)
    fig.tight_layout()
    _place_labels(ax, fig, labels)
    return save_png(fig, Path(path))


def _place_labels(ax, fig, labels: list[tuple[float, float, str]], gap_px: float = 11.0) -> None:
    """Label every point without overlaps: points that share an x position (stages of a
    fine-pruned model have the same dense MACs) get their labels stacked upwards, each joined
    to its point by a thin line."""
    fig.canvas.draw()
    disp = [(ax.transData.transform((x, y)), text) for x, y, text in labels]
    order = sorted(range(len(disp)), key=lambda i: (round(disp[i][0][0] / 40), disp[i][0][1]))
    placed: dict[int, float] = {}
    last_col, last_y = None, -1e9
    for i in order:
        (px, py), _ = disp[i]
        col = round(px / 40)
        y = py if col != last_col else max(py, last_y + gap_px)
        placed[i], last_col, last_y = y, col, y
    pt_per_px = 72.0 / fig.dpi
    for i, (x, y, text) in enumerate(labels):
        dy = (placed[i] - disp[i][0][1]) * pt_per_px
        ax.annotate(
            text,
            (x, y),
            xytext=(8, 3 + dy),
            textcoords="offset points",
            fontsize=7,
            arrowprops={"arrowstyle": "-", "lw": 0.4, "color": "0.5"} if dy > 1 else None,
        )

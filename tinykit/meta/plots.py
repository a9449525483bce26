"""PNG figures of the meta-learning runs (matplotlib Agg through tinykit.plots)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tinykit.meta.features import grid_aliases
from tinykit.plots import pyplot, save_png

COLORS = {"meta": "C0", "ones": "C1", "oracle": "C2"}
LABELS = {"meta": "meta-learned c", "ones": "c = 1", "oracle": "oracle (knows S)"}


def alias_plot(summary: dict, path: Path) -> Path:
    """(4c): c_0 and c_1 against iterations, the path of c on its circle, and beta."""
    plt = pyplot()
    h = summary["history"]
    it = np.maximum(np.array(h["iteration"]), 1)  # log axis: iteration 0 drawn at 1
    c0, c1 = np.array(h["c0"]), np.array(h["c1"])
    r = summary["norm_start"]
    fig, axes = plt.subplots(1, 3, figsize=(14, 4))
    ax = axes[0]
    ax.plot(it, c0, label="$c_0$ (true feature)")
    ax.plot(it, c1, label="$c_1$ (alias)")
    ax.axhline(
        summary["c_limit"][0],
        ls="--",
        color="0.5",
        lw=1,
        label=f"limit of $c_0$: {summary['c_limit'][0]:.4g} ($|c^{{(0)}}|$ = {r:.4g})",
    )
    ax.axhline(0, color="0.8", lw=0.8)
    ax.set_xscale("log")
    ax.set_xlabel("iteration (log)")
    ax.set_ylabel("weight")
    ax.set_title(f"GD on c from {fmt_vec(summary['c_start'])}, step {summary['lr']:g}")
    ax.legend(fontsize=8)
    ax = axes[1]
    t = np.linspace(0, 2 * np.pi, 400)
    ax.plot(r * np.cos(t), r * np.sin(t), color="0.85", lw=1, label="circle $|c| = |c^{(0)}|$")
    ax.plot(c0, c1, ".-", ms=3, color="C3", label="path of c")
    ax.plot(*summary["c_start"], "o", color="k", label="start")
    ax.plot(*summary["c_final"], "s", color="C2", label=f"end {fmt_vec(summary['c_final'])}")
    ax.set_aspect("equal")
    ax.set_xlabel("$c_0$")
    ax.set_ylabel("$c_1$")
    ax.set_title("c moves at right angles to itself")
    ax.legend(fontsize=7, loc="lower left")
    ax = axes[2]
    s = c0**2 + c1**2
    ax.plot(it, c0 / s, label="$\\hat\\beta_0$")
    ax.plot(it, c1 / s, label="$\\hat\\beta_1$")
    if summary["beta_limit"]:
        ax.axhline(
            summary["beta_limit"][0],
            ls="--",
            color="0.5",
            lw=1,
            label=f"$1/c_0$ limit = {summary['beta_limit'][0]:.3f}",
        )
    ax.set_xscale("log")
    ax.set_xlabel("iteration (log)")
    ax.set_title(
        f"$\\hat\\beta$; test loss {summary['loss_start']:.3g} -> {summary['loss_final']:.2g}"
    )
    ax.legend(fontsize=8)
    fig.tight_layout()
    return save_png(fig, path)


def fmt_vec(v) -> str:
    return "(" + ", ".join(f"{x:.5g}" for x in v) + ")"


def curves_plot(result: dict, path: Path, *, ylabel: str, title: str, log_y: bool = True) -> Path:
    """Test figure against n_train_post: mean and 10-90th percentile band for each learner."""
    plt = pyplot()
    cfg = result["config"]
    fig, ax = plt.subplots(figsize=(10.5, 5))
    for name, cu in result["curves"].items():
        n = np.array(cu["n_train_post"])
        ax.plot(n, cu["mean"], ".-", color=COLORS[name], label=LABELS[name], lw=1.4)
        ax.fill_between(n, cu["p10"], cu["p90"], color=COLORS[name], alpha=0.15, lw=0)
    k = len(cfg["subset"])
    ax.axvline(
        cfg["n_inner"],
        color="C3",
        ls=":",
        lw=1.2,
        label=f"n_inner = {cfg['n_inner']} ({cfg['x_type']} used in meta-training)",
    )
    ax.axvline(k, color="0.5", ls="--", lw=0.8, label=f"|S| = {k}")
    ax.axvline(cfg["d"], color="0.5", ls="-.", lw=0.8, label=f"d = {cfg['d']}")
    ref = result["reference"]
    if "zero_predictor_mse" in ref:
        ax.axhline(ref["zero_predictor_mse"], color="0.6", lw=0.8, label="predict 0")
    if "chance_error" in ref:
        ax.axhline(ref["chance_error"], color="0.6", lw=0.8, label="chance")
    ax.set_xscale("log")
    if log_y:
        ax.set_yscale("log")
    ax.set_xlabel("n_train_post (training points at test time, log)")
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=10)
    # beside the axes: inside, some corner always covers a curve or its band
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0)
    ax.grid(alpha=0.3, which="both", lw=0.4)
    fig.tight_layout()
    return save_png(fig, path)


def weights_plot(result: dict, path: Path, *, title: str) -> Path:
    """(4e/4h): |c_k| per feature at a few snapshots, and group means over meta-training."""
    plt = pyplot()
    cfg = result["config"]
    w = result["weights"]
    steps, snaps = w["snapshot_steps"], np.abs(np.array(w["snapshots"]))
    d, subset = cfg["d"], tuple(cfg["subset"])
    alias = grid_aliases(subset, d, cfg["n_inner"]) if cfg["x_type"] == "grid" else ()
    fig, axes = plt.subplots(1, 2, figsize=(14, 4.5), gridspec_kw={"width_ratios": [1.6, 1]})
    ax = axes[0]
    picks = sorted({0, len(steps) // 3, 2 * len(steps) // 3, len(steps) - 1})
    cmap = plt.get_cmap("viridis")
    for j, i in enumerate(picks):
        ax.plot(
            np.arange(d),
            snaps[i],
            lw=0.8,
            color=cmap(j / max(1, len(picks) - 1)),
            label=f"iteration {steps[i]}",
        )
    ax.plot(list(subset), snaps[-1][list(subset)], "o", color="C3", ms=5, label="S (true support)")
    if alias:
        ax.plot(
            list(alias),
            snaps[-1][list(alias)],
            "x",
            color="k",
            ms=4,
            label=f"aliases of S on the {cfg['n_inner']}-point grid",
        )
    ax.set_yscale("log")
    ax.set_xlabel("feature k  (0: constant, 2m-1: sin m, 2m: cos m)")
    ax.set_ylabel("|c_k|")
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=7)
    ax = axes[1]
    groups = {"S": list(subset)}
    if alias:
        groups["grid aliases of S"] = list(alias)
    rest = sorted(set(range(d)) - set(subset) - set(alias))
    if rest:
        groups["other features" if alias else "outside S"] = rest
    for name, idx in groups.items():
        ax.plot(steps, snaps[:, idx].mean(1), ".-", label=f"mean |c| over {name} ({len(idx)})")
    ax.set_yscale("log")
    ax.set_xlabel("meta-iteration")
    ax.set_ylabel("mean |c_k| over the group")
    ax.set_title("Feature weights during meta-training", fontsize=10)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return save_png(fig, path)


def gd_compare_plot(results: dict[int, dict], path: Path, *, ylabel: str) -> Path:
    """(4f): test MSE against n_train_post for each num_gd_steps, with c = 1 and the oracle."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(8, 5))
    first = next(iter(results.values()))
    for name in ("ones", "oracle"):
        cu = first["curves"][name]
        ax.plot(cu["n_train_post"], cu["mean"], ".-", color=COLORS[name], label=LABELS[name])
    for j, (steps, res) in enumerate(results.items()):
        cu = res["curves"]["meta"]
        n = np.array(cu["n_train_post"])
        color = f"C{4 + j}"
        ax.plot(n, cu["mean"], ".-", color=color, label=f"meta-learned c, {steps} GD step(s)")
        ax.fill_between(n, cu["p10"], cu["p90"], color=color, alpha=0.12, lw=0)
    ax.axvline(first["config"]["n_inner"], color="C3", ls=":", lw=1.2, label="n_inner")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("n_train_post (log)")
    ax.set_ylabel(ylabel)
    ax.set_title("MAML with a gradient-descent inner loop: test-time min-norm learner", fontsize=10)
    ax.legend(fontsize=8, loc="best")
    ax.grid(alpha=0.3, which="both", lw=0.4)
    fig.tight_layout()
    return save_png(fig, path)


def sine_plot(result: dict, path: Path) -> Path:
    """Finn et al. Fig. 2/3 in one: example fits, MSE against steps, training losses."""
    plt = pyplot()
    fig, grid = plt.subplots(2, 2, figsize=(12, 8))
    axes = grid.ravel()
    for ax, name in zip(axes[:2], ("maml", "pretrained"), strict=True):
        ex = result["examples"][name]
        ax.plot(ex["x"], ex["truth"], color="k", lw=1.5, label="true function")
        ax.plot(ex["x"], ex["before"], color="0.6", ls="--", label="before adaptation")
        ax.plot(
            ex["x"],
            ex["after"],
            color="C0" if name == "maml" else "C1",
            label=f"after {ex['steps']} step(s)",
        )
        ax.plot(ex["shots_x"], ex["shots_y"], "^", color="C3", label=f"{len(ex['shots_x'])} shots")
        ax.set_title(
            f"{'MAML' if name == 'maml' else 'pretrained'}: one held-out task", fontsize=10
        )
        ax.legend(fontsize=7)
    ax = axes[2]
    for name, color in (("maml", "C0"), ("pretrained", "C1")):
        tab = result["mse"][name]
        ks = sorted(int(k) for k in tab)
        m = np.array([tab[str(k)]["mean"] for k in ks])
        e = np.array([tab[str(k)]["sem"] for k in ks])
        ax.errorbar(
            ks,
            m,
            yerr=e,
            marker="o",
            color=color,
            capsize=3,
            label="MAML" if name == "maml" else "pretrained on all tasks",
        )
    ax.set_xlabel("gradient steps at test time")
    ax.set_ylabel("MSE (mean over test tasks, +- s.e.)")
    ax.set_title(
        f"{result['config']['test_tasks']} held-out tasks, K = {result['config']['shots']}",
        fontsize=10,
    )
    ax.legend(fontsize=8)
    ax = axes[3]
    for name, color in (("maml", "C0"), ("pretrained", "C1")):
        loss = np.array(result["train_loss"][name])
        if loss.size:
            win = max(1, loss.size // 50)
            smooth = np.convolve(loss, np.ones(win) / win, mode="valid")
            ax.plot(
                np.arange(smooth.size) + win,
                smooth,
                color=color,
                label="MAML query loss after adaptation" if name == "maml" else "pretraining loss",
            )
    ax.set_yscale("log")
    ax.set_xlabel("iteration")
    ax.set_title("training loss (moving mean)", fontsize=10)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return save_png(fig, path)

"""What a meta-learning run leaves behind: its folder of PNGs and result.json, and its text table.

Each writer builds the whole folder under a temporary name and moves it into place when complete
(tinykit.fileio.staged_dir), so a folder that exists is a finished run.
"""

from __future__ import annotations

from pathlib import Path

from tinykit.fileio import staged_dir, write_json
from tinykit.meta import plots
from tinykit.report import format_table

LEARNER_HEADER = ["n_train_post", "", "meta-learned c", "c = 1", "oracle"]


def write_alias_run(result: dict, out_dir: Path) -> None:
    with staged_dir(out_dir) as tmp:
        plots.alias_plot(result, tmp / "alias.png")
        write_json(tmp / "result.json", result)


def alias_table(result: dict) -> str:
    """4c's figures: the start, its norm, the final weights and where beta goes."""
    v = plots.fmt_vec
    rows = [
        ["start c^(0)", v(result["c_start"])],
        ["|c^(0)|", f"{result['norm_start']:.6f}"],
        [f"c after {result['iterations']:,} steps", v(result["c_final"])],
        ["|c| at the end", f"{result['norm_final']:.6f}"],
        ["c heads to", v(result["c_limit"])],
        ["beta_hat at the end", v(result["beta_final"])],
        ["beta_hat heads to", v(result["beta_limit"]) if result["beta_limit"] else "-"],
        ["test loss start -> end", f"{result['loss_start']:.4g} -> {result['loss_final']:.3g}"],
    ]
    text = format_table(["quantity", "value"], rows)
    if result["stationary_start"]:
        text += "\nnote: a start with c_0 = 0 or c_1 = 0 is a stationary point; GD stays there"
    return text


def write_meta_run(result: dict, out_dir: Path, *, kind: str) -> None:
    """test_curve.png, weights.png and result.json of a regression or classification run."""
    cfg = result["config"]
    shape = f"d={cfg['d']}, |S|={len(cfg['subset'])}, {cfg['x_type']} inner data"
    with staged_dir(out_dir) as tmp:
        if kind == "regression":
            plots.curves_plot(
                result,
                tmp / "test_curve.png",
                ylabel="test MSE (mean, 10-90th pct band)",
                title=f"Closed-form MAML regression, {shape}",
            )
        else:
            plots.curves_plot(
                result,
                tmp / "test_curve.png",
                ylabel="test 0-1 error (mean, 10-90th pct band)",
                title=f"MAML classification, {shape}, "
                f"{cfg['num_gd_steps']} logistic GD steps inside",
                log_y=False,
            )
        plots.weights_plot(
            result, tmp / "weights.png", title=f"{kind.capitalize()} MAML: |c_k| per feature"
        )
        write_json(tmp / "result.json", result)


def write_gd_runs(results: dict[int, dict], out_dir: Path) -> None:
    """gd_steps.png (every step count), and per step count the regression figures."""
    with staged_dir(out_dir) as tmp:
        plots.gd_compare_plot(results, tmp / "gd_steps.png", ylabel="test MSE (mean, 10-90th pct)")
        for k, res in results.items():
            plots.curves_plot(
                res,
                tmp / f"test_curve_{k}steps.png",
                ylabel="test MSE (mean, 10-90th pct band)",
                title=f"MAML, {k} inner GD step(s), d={res['config']['d']}: "
                "min-norm learner at test",
            )
            plots.weights_plot(
                res, tmp / f"weights_{k}steps.png", title=f"{k} inner GD step(s): |c_k| per feature"
            )
        write_json(tmp / "result.json", {"runs": {str(k): r for k, r in results.items()}})


def curves_table(result: dict, fmt) -> str:
    """Rows at |S|-1, |S|, |S|+1, around n_inner and the largest n_train_post."""
    cfg = result["config"]
    sizes = result["curves"]["meta"]["n_train_post"]
    k, ni = len(cfg["subset"]), cfg["n_inner"]
    below = max((n for n in sizes if n < ni), default=None)
    above = min((n for n in sizes if n > ni), default=None)
    picks = sorted({k - 1, k, k + 1, below, ni, above, sizes[-1]} - {None})
    rows = []
    for n in (n for n in picks if n in sizes):
        note = "|S|" if n == k else ("n_inner" if n == ni else "")
        i = sizes.index(n)
        rows.append(
            [
                str(n),
                note,
                *(fmt(result["curves"][m]["mean"][i]) for m in ("meta", "ones", "oracle")),
            ]
        )
    return format_table(LEARNER_HEADER, rows)


def weights_line(result: dict) -> str:
    g = result["weights"]["groups_final"]
    parts = [f"{name} {v:.3g}" for name, v in g.items() if name != "max_off_S"]
    return "final mean |c_k|: " + ", ".join(parts) + f" (max outside S {g['max_off_S']:.3g})"


def write_sine_run(result: dict, out_dir: Path) -> None:
    with staged_dir(out_dir) as tmp:
        plots.sine_plot(result, tmp / "sine.png")
        write_json(tmp / "result.json", result)


def sine_table(result: dict) -> str:
    """MSE (+- standard error) of MAML and the pretrained net per number of test-time steps."""
    rows = []
    for k in result["config"]["eval_steps"]:
        m, p = result["mse"]["maml"][str(k)], result["mse"]["pretrained"][str(k)]
        rows.append(
            [str(k), "", f"{m['mean']:.3f} +- {m['sem']:.3f}", f"{p['mean']:.3f} +- {p['sem']:.3f}"]
        )
    return format_table(["steps at test", "", "MAML", "pretrained"], rows)

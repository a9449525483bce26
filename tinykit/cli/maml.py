"""tinykit maml: meta-learning 1-D functions, from the closed form to gradient descent.

One subcommand per part of the homework's question 4 (alias: 4a-c, regression: 4d-e, gd: 4f,
classify: 4g-h) and one beyond it (sine: MAML on an nn.Module, Finn et al. 2017). Each writes
PNG plots and result.json under --out and prints a short table (or the JSON with --json).
"""

from __future__ import annotations

import json

import click

SUBSET_HELP = (
    "Hidden support S: feature indices, comma-separated or ranges (5-10). Features are "
    "0: constant, 2m-1: sin(m pi x), 2m: cos(m pi x)."
)


def common_options(f):
    for opt in reversed(
        [
            click.option(
                "--seed",
                type=int,
                default=0,
                show_default=True,
                help="Seed for every random choice (same seed, same numbers).",
            ),
            click.option(
                "--out",
                type=click.Path(file_okay=False),
                metavar="DIR",
                help="Output folder (must not exist or be empty). "
                "Default: a new folder under ./tinykit-out/.",
            ),
            click.option(
                "--json",
                "as_json",
                is_flag=True,
                help="Print result.json to stdout instead of the table.",
            ),
            click.option("--quiet", is_flag=True, help="No progress bars."),
        ]
    ):
        f = opt(f)
    return f


def task_options(f):
    """Options of the task family and the evaluation, shared by regression, gd and classify."""
    for opt in reversed(
        [
            click.option(
                "--d",
                "d",
                type=click.IntRange(min=1),
                default=501,
                show_default=True,
                help="Number of Fourier features (odd: a constant plus sin/cos pairs).",
            ),
            click.option(
                "--subset", default="5-10", show_default=True, metavar="LIST", help=SUBSET_HELP
            ),
            click.option(
                "--n-inner",
                type=click.IntRange(min=1),
                default=32,
                show_default=True,
                help="Training points the inner learner sees per task during meta-training.",
            ),
            click.option(
                "--x-type",
                type=click.Choice(["grid", "uniform"]),
                default="grid",
                show_default=True,
                help="Where training points sit (meta-training and test time): a fixed "
                "evenly spaced grid on [-1, 1), or fresh uniform draws.",
            ),
            click.option(
                "--iterations",
                type=click.IntRange(min=0),
                metavar="N",
                help="Meta-training steps (SGD on c).",
            ),
            click.option(
                "--meta-lr",
                type=click.FloatRange(min=0, min_open=True),
                metavar="LR",
                help="SGD step size on c.",
            ),
            click.option(
                "--tasks-per-step",
                type=click.IntRange(min=1),
                default=8,
                show_default=True,
                help="Tasks per meta-step.",
            ),
            click.option(
                "--n-meta",
                type=click.IntRange(min=1),
                default=64,
                show_default=True,
                help="Fresh uniform points per task for the meta-loss.",
            ),
            click.option(
                "--test-tasks",
                type=click.IntRange(min=1),
                default=100,
                show_default=True,
                help="Held-out tasks per n_train_post at evaluation.",
            ),
            click.option(
                "--num-post",
                type=click.IntRange(min=2),
                default=40,
                show_default=True,
                help="Log-spaced n_train_post values from 1 to 3d (plus n_inner and "
                "|S|-1, |S|, |S|+1).",
            ),
        ]
    ):
        f = opt(f)
    return f


def _out_dir(out: str | None, stem: str):
    from tinykit.fileio import check_out_dir, new_run_dir

    return check_out_dir(out) if out else new_run_dir("tinykit-out", stem)


def _emit(result: dict, text: str, as_json: bool) -> None:
    click.echo(json.dumps(result) if as_json else text)


def _meta_config(
    d,
    subset,
    n_inner,
    x_type,
    iterations,
    meta_lr,
    tasks_per_step,
    n_meta,
    test_tasks,
    num_post,
    seed,
    **kw,
):
    from tinykit.meta.config import MetaConfig
    from tinykit.meta.features import check_dim, parse_int_list

    check_dim(d)
    given = {"iterations": iterations, "meta_lr": meta_lr}
    return MetaConfig(
        d=d,
        subset=parse_int_list(subset, "--subset"),
        n_inner=n_inner,
        x_type=x_type,
        tasks_per_step=tasks_per_step,
        n_meta=n_meta,
        test_tasks=test_tasks,
        num_post=num_post,
        seed=seed,
        **{k: v for k, v in given.items() if v is not None},
        **kw,
    )


@click.group()
def maml() -> None:
    """Meta-learning for 1-D functions (MAML), from the closed form to gradient descent.

    The homework's question 4 part by part (alias, regression, gd, classify), then MAML for
    any nn.Module (sine). Every command writes PNG plots and result.json under --out.
    See docs/maml.md.
    """


@maml.command(short_help="4a-c: one point, a true and an alias feature; GD on c.")
@click.option(
    "--c0",
    "c0_text",
    default="1.0,2.0",
    show_default=True,
    metavar="C0,C1",
    help="Start weights (c_0 on the true feature, c_1 on the alias); not both zero.",
)
@click.option(
    "--lr",
    type=click.FloatRange(min=0, min_open=True),
    default=0.05,
    show_default=True,
    help="Gradient-descent step size on c.",
)
@click.option(
    "--iterations",
    type=click.IntRange(min=1),
    default=1_000_000,
    show_default=True,
    help="Gradient-descent steps (the last ones are slow: the gradient ~ c_1^3).",
)
@common_options
def alias(c0_text, lr, iterations, seed, out, as_json, quiet) -> None:
    """4a-c: gradient descent on c for the one-point alias problem.

    beta_hat = c / |c|^2, expected test loss c_1^4 / |c|^4; GD moves c along its circle to
    (|c^(0)|, 0) and beta_hat to (1/|c^(0)|, 0). Writes alias.png and result.json. Nothing
    here is random; --seed is accepted for uniformity and recorded.
    """
    from tinykit.fileio import staged_dir, write_json
    from tinykit.meta.analytic import descend, parse_start, summarize
    from tinykit.meta.plots import alias_plot, fmt_vec
    from tinykit.report import format_table

    start = parse_start(c0_text)
    out_dir = _out_dir(out, "maml-alias")
    result = summarize(descend(start, lr=lr, iterations=iterations))
    result["seed"] = seed
    with staged_dir(out_dir) as tmp:
        alias_plot(result, tmp / "alias.png")
        write_json(tmp / "result.json", result)
    result["out_dir"] = str(out_dir)
    rows = [
        ["start c^(0)", fmt_vec(result["c_start"])],
        ["|c^(0)|", f"{result['norm_start']:.6f}"],
        [f"c after {iterations:,} steps", fmt_vec(result["c_final"])],
        ["|c| at the end", f"{result['norm_final']:.6f}"],
        ["c heads to", fmt_vec(result["c_limit"])],
        ["beta_hat at the end", fmt_vec(result["beta_final"])],
        ["beta_hat heads to", fmt_vec(result["beta_limit"]) if result["beta_limit"] else "-"],
        ["test loss start -> end", f"{result['loss_start']:.4g} -> {result['loss_final']:.3g}"],
    ]
    text = format_table(["quantity", "value"], rows)
    if result["stationary_start"]:
        text += "\nnote: a start with c_0 = 0 or c_1 = 0 is a stationary point; GD stays there"
    _emit(result, f"{text}\nplots and JSON: {out_dir}", as_json)


def _curve_rows(result: dict, fmt) -> list[list[str]]:
    cfg = result["config"]
    sizes = result["curves"]["meta"]["n_train_post"]
    k, ni = len(cfg["subset"]), cfg["n_inner"]
    below = max((n for n in sizes if n < ni), default=None)
    above = min((n for n in sizes if n > ni), default=None)
    picks = [
        n for n in sorted({k - 1, k, k + 1, below, ni, above, sizes[-1]} - {None}) if n in sizes
    ]
    rows = []
    for n in picks:
        note = "|S|" if n == k else ("n_inner" if n == ni else "")
        rows.append(
            [
                str(n),
                note,
                *(
                    fmt(result["curves"][m]["mean"][sizes.index(n)])
                    for m in ("meta", "ones", "oracle")
                ),
            ]
        )
    return rows


def _weights_line(result: dict) -> str:
    g = result["weights"]["groups_final"]
    parts = [f"{name} {v:.3g}" for name, v in g.items() if name != "max_off_S"]
    return "final mean |c_k|: " + ", ".join(parts) + f" (max outside S {g['max_off_S']:.3g})"


def _write_meta_run(
    result: dict, trace_title: str, out_dir, *, ylabel: str, title: str, log_y: bool = True
) -> None:
    from tinykit.fileio import staged_dir, write_json
    from tinykit.meta.plots import curves_plot, weights_plot

    with staged_dir(out_dir) as tmp:
        curves_plot(result, tmp / "test_curve.png", ylabel=ylabel, title=title, log_y=log_y)
        weights_plot(result, tmp / "weights.png", title=trace_title)
        write_json(tmp / "result.json", result)


@maml.command(short_help="4d-e: closed-form min-norm inner learner, Fourier features.")
@task_options
@click.option(
    "--noise",
    type=click.FloatRange(min=0),
    default=0.05,
    show_default=True,
    help="Std of Gaussian noise on every observed label.",
)
@common_options
def regression(
    d,
    subset,
    n_inner,
    x_type,
    iterations,
    meta_lr,
    tasks_per_step,
    n_meta,
    test_tasks,
    num_post,
    noise,
    seed,
    out,
    as_json,
    quiet,
) -> None:
    """4d-e: MAML with the closed-form min-norm learner beta = A^T (A A^T)^-1 y.

    Meta-learns feature weights c (from c = 1) on tasks supported on S, then plots test MSE
    against n_train_post for the meta-learned c, c = 1 and the oracle (test_curve.png), and
    |c_k| over meta-training (weights.png). Writes result.json.
    """
    import time

    from tinykit.meta.closed_form import run_regression
    from tinykit.report import format_table

    cfg = _meta_config(
        d,
        subset,
        n_inner,
        x_type,
        iterations,
        meta_lr,
        tasks_per_step,
        n_meta,
        test_tasks,
        num_post,
        seed,
        noise_std=noise,
    )
    out_dir = _out_dir(out, "maml-regression")
    t0 = time.perf_counter()
    result, _ = run_regression(cfg, progress=not quiet)
    result["seconds"] = time.perf_counter() - t0
    _write_meta_run(
        result,
        "Closed-form MAML: |c_k| per feature",
        out_dir,
        ylabel="test MSE (mean, 10-90th pct band)",
        title=f"Closed-form MAML regression, d={cfg.d}, |S|={len(cfg.subset)}, "
        f"{cfg.x_type} inner data",
    )
    result["out_dir"] = str(out_dir)
    table = format_table(
        ["n_train_post", "", "meta-learned c", "c = 1", "oracle"],
        _curve_rows(result, lambda v: f"{v:.3g}"),
    )
    _emit(
        result,
        f"test MSE\n{table}\n{_weights_line(result)}\n"
        f"{result['seconds']:.1f} s; plots and JSON: {out_dir}",
        as_json,
    )


def _parse_steps(text: str) -> list[int]:
    from tinykit.errors import TinykitError

    out = []
    for item in (t.strip() for t in text.split(",") if t.strip()):
        try:
            v = int(item)
        except ValueError:
            raise TinykitError(
                f"--num-gd-steps: {item!r} is not an integer (give e.g. 5 or 5,1)"
            ) from None
        if v < 1:
            raise TinykitError(f"--num-gd-steps: {v} is not a positive number of steps")
        out.append(v)
    if not out:
        raise TinykitError("--num-gd-steps: no step count given")
    return list(dict.fromkeys(out))


@maml.command(short_help="4f: a differentiable gradient-descent inner loop.")
@task_options
@click.option(
    "--num-gd-steps",
    "steps_text",
    default="5,1",
    show_default=True,
    metavar="LIST",
    help="Inner gradient steps; a comma list runs one meta-training per value.",
)
@click.option(
    "--inner-lr",
    type=click.FloatRange(min=0, min_open=True),
    default=0.02,
    show_default=True,
    help="Inner gradient-descent step size on beta.",
)
@click.option(
    "--noise",
    type=click.FloatRange(min=0),
    default=0.05,
    show_default=True,
    help="Std of Gaussian noise on every observed label.",
)
@common_options
def gd(
    d,
    subset,
    n_inner,
    x_type,
    iterations,
    meta_lr,
    tasks_per_step,
    n_meta,
    test_tasks,
    num_post,
    steps_text,
    inner_lr,
    noise,
    seed,
    out,
    as_json,
    quiet,
) -> None:
    """4f: MAML with num_gd_steps differentiable gradient steps as the inner learner.

    Each inner step is taken with torch autograd (create_graph=True), so the meta-gradient
    runs through all of them. Test time uses the min-norm learner with the learned c.
    Writes gd_steps.png (all step counts), test_curve_<k>steps.png, weights_<k>steps.png,
    result.json.
    """
    import time

    from tinykit.fileio import staged_dir, write_json
    from tinykit.meta.closed_form import run_regression
    from tinykit.meta.gd_inner import config_learner
    from tinykit.meta.plots import curves_plot, gd_compare_plot, weights_plot
    from tinykit.report import format_table

    steps_list = _parse_steps(steps_text)
    cfgs = {
        k: _meta_config(
            d,
            subset,
            n_inner,
            x_type,
            iterations,
            meta_lr,
            tasks_per_step,
            n_meta,
            test_tasks,
            num_post,
            seed,
            noise_std=noise,
            learner="gd",
            num_gd_steps=k,
            inner_lr=inner_lr,
        )
        for k in steps_list
    }
    out_dir = _out_dir(out, "maml-gd")
    results = {}
    for k, cfg in cfgs.items():
        t0 = time.perf_counter()
        results[k], _ = run_regression(
            cfg, config_learner(cfg), progress=not quiet, desc=f"meta-train ({k} GD steps)"
        )
        results[k]["seconds"] = time.perf_counter() - t0
    with staged_dir(out_dir) as tmp:
        gd_compare_plot(results, tmp / "gd_steps.png", ylabel="test MSE (mean, 10-90th pct)")
        for k, res in results.items():
            curves_plot(
                res,
                tmp / f"test_curve_{k}steps.png",
                ylabel="test MSE (mean, 10-90th pct band)",
                title=f"MAML, {k} inner GD step(s), d={d}: min-norm learner at test",
            )
            weights_plot(
                res, tmp / f"weights_{k}steps.png", title=f"{k} inner GD step(s): |c_k| per feature"
            )
        write_json(tmp / "result.json", {"runs": {str(k): r for k, r in results.items()}})
    out_json = {"runs": {str(k): r for k, r in results.items()}, "out_dir": str(out_dir)}
    parts = []
    for k, res in results.items():
        table = format_table(
            ["n_train_post", "", "meta-learned c", "c = 1", "oracle"],
            _curve_rows(res, lambda v: f"{v:.3g}"),
        )
        parts.append(
            f"{k} inner GD step(s): test MSE ({res['seconds']:.1f} s)\n{table}\n"
            f"{_weights_line(res)}"
        )
    _emit(out_json, "\n\n".join(parts) + f"\nplots and JSON: {out_dir}", as_json)


@maml.command(short_help="4g-h: labels sign(f), logistic loss, 0-1 error.")
@task_options
@click.option(
    "--num-gd-steps",
    type=click.IntRange(min=1),
    default=5,
    show_default=True,
    help="Inner gradient steps on the logistic loss.",
)
@click.option(
    "--inner-lr",
    type=click.FloatRange(min=0, min_open=True),
    default=0.5,
    show_default=True,
    help="Inner gradient-descent step size on beta.",
)
@click.option(
    "--label-noise",
    type=click.FloatRange(0, 0.5, max_open=True),
    default=0.0,
    show_default=True,
    help="Probability of flipping each observed training label.",
)
@common_options
def classify(
    d,
    subset,
    n_inner,
    x_type,
    iterations,
    meta_lr,
    tasks_per_step,
    n_meta,
    test_tasks,
    num_post,
    num_gd_steps,
    inner_lr,
    label_noise,
    seed,
    out,
    as_json,
    quiet,
) -> None:
    """4g-h: MAML for classification: labels sign(f(x)), logistic inner and meta-loss.

    Test time fits logistic regression on the weighted features (meta-learned c, c = 1, the
    oracle) and plots 0-1 error against n_train_post (test_curve.png) and |c_k| over
    meta-training (weights.png). Writes result.json.
    """
    import time

    from tinykit.meta.classify import run_classification
    from tinykit.report import format_table

    cfg = _meta_config(
        d,
        subset,
        n_inner,
        x_type,
        iterations,
        meta_lr,
        tasks_per_step,
        n_meta,
        test_tasks,
        num_post,
        seed,
        learner="gd",
        loss="logistic",
        num_gd_steps=num_gd_steps,
        inner_lr=inner_lr,
        label_noise=label_noise,
    )
    out_dir = _out_dir(out, "maml-classify")
    t0 = time.perf_counter()
    result, _ = run_classification(cfg, progress=not quiet)
    result["seconds"] = time.perf_counter() - t0
    _write_meta_run(
        result,
        "Classification MAML: |c_k| per feature",
        out_dir,
        ylabel="test 0-1 error (mean, 10-90th pct band)",
        title=f"MAML classification, d={cfg.d}, |S|={len(cfg.subset)}, "
        f"{num_gd_steps} logistic GD steps inside",
        log_y=False,
    )
    result["out_dir"] = str(out_dir)
    table = format_table(
        ["n_train_post", "", "meta-learned c", "c = 1", "oracle"],
        _curve_rows(result, lambda v: f"{100 * v:.1f}%"),
    )
    _emit(
        result,
        f"test 0-1 error\n{table}\n{_weights_line(result)}\n"
        f"{result['seconds']:.1f} s; plots and JSON: {out_dir}",
        as_json,
    )


@maml.command(short_help="MAML on an nn.Module: sine waves vs a pretrained net.")
@click.option(
    "--iterations",
    type=click.IntRange(min=0),
    metavar="N",
    help="Meta-training iterations (Finn et al.: 70,000; the default fits in a minute).",
)
@click.option(
    "--shots",
    type=click.IntRange(min=1),
    default=10,
    show_default=True,
    help="K: points of each task the learner adapts on.",
)
@click.option(
    "--meta-batch",
    type=click.IntRange(min=1),
    default=25,
    show_default=True,
    help="Tasks per meta-update.",
)
@click.option(
    "--inner-lr",
    type=click.FloatRange(min=0, min_open=True),
    default=0.01,
    show_default=True,
    help="alpha: inner (adaptation) step size, also at test time.",
)
@click.option(
    "--inner-steps",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Adaptation steps during meta-training.",
)
@click.option(
    "--first-order", is_flag=True, help="First-order MAML: no gradient through the inner gradients."
)
@click.option(
    "--test-tasks",
    type=click.IntRange(min=1),
    default=200,
    show_default=True,
    help="Held-out tasks for the MSE comparison.",
)
@click.option(
    "--eval-steps",
    default="0,1,10",
    show_default=True,
    metavar="LIST",
    help="Adaptation steps at which test MSE is reported.",
)
@common_options
def sine(
    iterations,
    shots,
    meta_batch,
    inner_lr,
    inner_steps,
    first_order,
    test_tasks,
    eval_steps,
    seed,
    out,
    as_json,
    quiet,
) -> None:
    """MAML on an nn.Module: Finn et al. 2017's sine-wave regression (40-40 ReLU net).

    Tasks: A sin(x + phase), A ~ U[0.1, 5], phase ~ U[0, pi], x ~ U[-5, 5]. Compares the
    MAML initialisation with a network pretrained on all tasks, both adapted by the same
    gradient steps on K shots, over --test-tasks held-out tasks. Writes sine.png, result.json.
    """
    from tinykit.fileio import staged_dir, write_json
    from tinykit.meta.features import parse_int_list
    from tinykit.meta.plots import sine_plot
    from tinykit.meta.sine import SineConfig, run_sine
    from tinykit.report import format_table

    kw = {} if iterations is None else {"iterations": iterations}
    cfg = SineConfig(
        shots=shots,
        meta_batch=meta_batch,
        inner_lr=inner_lr,
        inner_steps=inner_steps,
        first_order=first_order,
        test_tasks=test_tasks,
        eval_steps=parse_int_list(eval_steps, "--eval-steps"),
        seed=seed,
        **kw,
    )
    out_dir = _out_dir(out, "maml-sine")
    result = run_sine(cfg, progress=not quiet)
    with staged_dir(out_dir) as tmp:
        sine_plot(result, tmp / "sine.png")
        write_json(tmp / "result.json", result)
    result["out_dir"] = str(out_dir)
    rows = []
    for k in cfg.eval_steps:
        m, p = result["mse"]["maml"][str(k)], result["mse"]["pretrained"][str(k)]
        rows.append(
            [str(k), "", f"{m['mean']:.3f} +- {m['sem']:.3f}", f"{p['mean']:.3f} +- {p['sem']:.3f}"]
        )
    table = format_table(["steps at test", "", "MAML", "pretrained"], rows)
    sec = result["seconds"]
    _emit(
        result,
        f"sine waves, K = {shots}: MSE over {test_tasks} held-out tasks (+- s.e.)\n"
        f"{table}\nmeta-train {sec['meta_train']:.1f} s, pretrain "
        f"{sec['pretrain']:.1f} s, evaluate {sec['evaluate']:.1f} s; "
        f"plots and JSON: {out_dir}",
        as_json,
    )

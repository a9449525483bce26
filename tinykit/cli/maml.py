"""tinykit maml: meta-learning 1-D functions, from the closed form to gradient descent.

One subcommand per part of the homework's question 4 (alias: 4a-c, regression: 4d-e, gd: 4f,
classify: 4g-h) and one beyond it (sine: MAML on an nn.Module, Finn et al. 2017). Each writes
PNG plots and result.json under --out and prints a short table (or the JSON with --json).
"""

from __future__ import annotations

import json
import time

import click

POSITIVE = click.FloatRange(min=0, min_open=True)


def options(*specs):
    """Apply click options given as (flag, help, keyword arguments) rows; defaults are shown."""

    def wrap(f):
        for flag, help_text, kw in reversed(specs):
            names = (flag, kw.pop("dest")) if "dest" in kw else (flag,)
            shown = "default" in kw and not kw.get("is_flag")
            f = click.option(*names, help=help_text, show_default=shown, **kw)(f)
        return f

    return wrap


def common_options(f):
    return options(
        (
            "--seed",
            "Seed for every random choice (same seed, same numbers).",
            {"type": int, "default": 0},
        ),
        (
            "--out",
            "Output folder (must not exist or be empty). Default: a new folder under "
            "./tinykit-out/.",
            {"type": click.Path(file_okay=False), "metavar": "DIR"},
        ),
        (
            "--json",
            "Print result.json to stdout instead of the table.",
            {"dest": "as_json", "is_flag": True},
        ),
        ("--quiet", "No progress bars.", {"is_flag": True}),
    )(f)


def task_options(f):
    """The task family, meta-training and evaluation knobs of regression, gd and classify."""
    return options(
        (
            "--d",
            "Number of Fourier features (odd: a constant plus sin/cos pairs).",
            {"dest": "d", "type": click.IntRange(min=1), "default": 501},
        ),
        (
            "--subset",
            "Hidden support S: feature indices, comma-separated or ranges (5-10). "
            "Features are 0: constant, 2m-1: sin(m pi x), 2m: cos(m pi x).",
            {"default": "5-10", "metavar": "LIST"},
        ),
        (
            "--n-inner",
            "Training points the inner learner sees per task in meta-training.",
            {"type": click.IntRange(min=1), "default": 32},
        ),
        (
            "--x-type",
            "Where training points sit, in meta-training and at test: a fixed evenly "
            "spaced grid on [-1, 1), or fresh uniform draws.",
            {"type": click.Choice(["grid", "uniform"]), "default": "grid"},
        ),
        (
            "--iterations",
            "Meta-training steps (SGD on c, from c = 1).",
            {"type": click.IntRange(min=0), "default": 1000},
        ),
        (
            "--meta-lr",
            "SGD step size on c (gradient norm clipped at 1).",
            {"type": POSITIVE, "default": 2.0},
        ),
        ("--tasks-per-step", "Tasks per meta-step.", {"type": click.IntRange(min=1), "default": 8}),
        (
            "--n-meta",
            "Fresh uniform points per task for the meta-loss.",
            {"type": click.IntRange(min=1), "default": 64},
        ),
        (
            "--test-tasks",
            "Held-out tasks per n_train_post at evaluation.",
            {"type": click.IntRange(min=1), "default": 100},
        ),
        (
            "--num-post",
            "Log-spaced n_train_post values from 1 to 3d (plus n_inner and |S|-1, |S|, |S|+1).",
            {"type": click.IntRange(min=2), "default": 40},
        ),
    )(f)


def _out_dir(out: str | None, stem: str):
    from tinykit.fileio import check_out_dir, new_run_dir

    return check_out_dir(out) if out else new_run_dir("tinykit-out", stem)


def _emit(result: dict, text: str, as_json: bool) -> None:
    click.echo(json.dumps(result) if as_json else text)


def _meta_config(task: dict, **kw):
    """A MetaConfig from the task options; d is checked first so its message wins."""
    from tinykit.meta.config import MetaConfig
    from tinykit.meta.features import check_dim, parse_int_list

    check_dim(task["d"])
    return MetaConfig(**{**task, "subset": parse_int_list(task["subset"], "--subset")}, **kw)


def _split(kw: dict) -> tuple[dict, dict]:
    """Separate the task options (MetaConfig fields) from the command's own."""
    keys = (
        "d",
        "subset",
        "n_inner",
        "x_type",
        "iterations",
        "meta_lr",
        "tasks_per_step",
        "n_meta",
        "test_tasks",
        "num_post",
        "seed",
    )
    return {k: kw.pop(k) for k in keys}, kw


@click.group()
def maml() -> None:
    """Meta-learning for 1-D functions (MAML), from the closed form to gradient descent.

    The homework's question 4 part by part (alias, regression, gd, classify), then MAML for
    any nn.Module (sine). Every command writes PNG plots and result.json under --out.
    See docs/maml.md.
    """


@maml.command(short_help="4a-c: one point, a true and an alias feature; GD on c.")
@options(
    (
        "--c0",
        "Start weights (c_0 on the true feature, c_1 on the alias); not both zero.",
        {"dest": "c0_text", "default": "1.0,2.0", "metavar": "C0,C1"},
    ),
    ("--lr", "Gradient-descent step size on c.", {"type": POSITIVE, "default": 0.05}),
    (
        "--iterations",
        "Gradient-descent steps (the last ones are slow: the gradient ~ c_1^3).",
        {"type": click.IntRange(min=1), "default": 1_000_000},
    ),
)
@common_options
def alias(c0_text, lr, iterations, seed, out, as_json, quiet) -> None:
    """4a-c: gradient descent on c for the one-point alias problem.

    beta_hat = c / |c|^2, expected test loss c_1^4 / |c|^4; GD moves c along its circle to
    (|c^(0)|, 0) and beta_hat to (1/|c^(0)|, 0). Writes alias.png and result.json. Nothing
    here is random; --seed is accepted for uniformity and recorded.
    """
    from tinykit.meta.analytic import descend, parse_start, summarize
    from tinykit.meta.report import alias_table, write_alias_run

    start = parse_start(c0_text)
    out_dir = _out_dir(out, "maml-alias")
    result = {**summarize(descend(start, lr=lr, iterations=iterations)), "seed": seed}
    write_alias_run(result, out_dir)
    result["out_dir"] = str(out_dir)
    _emit(result, f"{alias_table(result)}\nplots and JSON: {out_dir}", as_json)


@maml.command(short_help="4d-e: closed-form min-norm inner learner, Fourier features.")
@task_options
@options(
    (
        "--noise",
        "Std of Gaussian noise on every observed label.",
        {"type": click.FloatRange(min=0), "default": 0.05},
    )
)
@common_options
def regression(noise, out, as_json, quiet, **kw) -> None:
    """4d-e: MAML with the closed-form min-norm learner beta = A^T (A A^T)^-1 y.

    Meta-learns feature weights c (from c = 1) on tasks supported on S, then plots test MSE
    against n_train_post for the meta-learned c, c = 1 and the oracle (test_curve.png), and
    |c_k| over meta-training (weights.png). Writes result.json.
    """
    from tinykit.meta.closed_form import run_regression
    from tinykit.meta.report import curves_table, weights_line, write_meta_run

    task, _ = _split(kw)
    cfg = _meta_config(task, noise_std=noise)
    out_dir = _out_dir(out, "maml-regression")
    t0 = time.perf_counter()
    result, _ = run_regression(cfg, progress=not quiet)
    result["seconds"] = time.perf_counter() - t0
    write_meta_run(result, out_dir, kind="regression")
    result["out_dir"] = str(out_dir)
    text = (
        f"test MSE\n{curves_table(result, lambda v: f'{v:.3g}')}\n{weights_line(result)}\n"
        f"{result['seconds']:.1f} s; plots and JSON: {out_dir}"
    )
    _emit(result, text, as_json)


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
@options(
    (
        "--num-gd-steps",
        "Inner gradient steps; a comma list runs one meta-training per value.",
        {"dest": "steps_text", "default": "5,1", "metavar": "LIST"},
    ),
    (
        "--inner-lr",
        "Inner gradient-descent step size on beta.",
        {"type": POSITIVE, "default": 0.02},
    ),
    (
        "--noise",
        "Std of Gaussian noise on every observed label.",
        {"type": click.FloatRange(min=0), "default": 0.05},
    ),
)
@common_options
def gd(steps_text, inner_lr, noise, out, as_json, quiet, **kw) -> None:
    """4f: MAML with num_gd_steps differentiable gradient steps as the inner learner.

    Each inner step is taken with torch autograd (create_graph=True), so the meta-gradient
    runs through all of them. Test time uses the min-norm learner with the learned c.
    Writes gd_steps.png (all step counts), test_curve_<k>steps.png, weights_<k>steps.png,
    result.json.
    """
    from tinykit.meta.closed_form import run_regression
    from tinykit.meta.gd_inner import config_learner
    from tinykit.meta.report import curves_table, weights_line, write_gd_runs

    task, _ = _split(kw)
    cfgs = {
        k: _meta_config(task, noise_std=noise, learner="gd", num_gd_steps=k, inner_lr=inner_lr)
        for k in _parse_steps(steps_text)
    }
    out_dir = _out_dir(out, "maml-gd")
    results = {}
    for k, cfg in cfgs.items():
        t0 = time.perf_counter()
        results[k], _ = run_regression(
            cfg, config_learner(cfg), progress=not quiet, desc=f"meta-train ({k} GD steps)"
        )
        results[k]["seconds"] = time.perf_counter() - t0
    write_gd_runs(results, out_dir)
    parts = [
        f"{k} inner GD step(s): test MSE ({res['seconds']:.1f} s)\n"
        f"{curves_table(res, lambda v: f'{v:.3g}')}\n{weights_line(res)}"
        for k, res in results.items()
    ]
    out_json = {"runs": {str(k): r for k, r in results.items()}, "out_dir": str(out_dir)}
    _emit(out_json, "\n\n".join(parts) + f"\nplots and JSON: {out_dir}", as_json)


@maml.command(short_help="4g-h: labels sign(f), logistic loss, 0-1 error.")
@task_options
@options(
    (
        "--num-gd-steps",
        "Inner gradient steps on the logistic loss.",
        {"type": click.IntRange(min=1), "default": 5},
    ),
    ("--inner-lr", "Inner gradient-descent step size on beta.", {"type": POSITIVE, "default": 0.5}),
    (
        "--label-noise",
        "Probability of flipping each observed training label.",
        {"type": click.FloatRange(0, 0.5, max_open=True), "default": 0.0},
    ),
)
@common_options
def classify(num_gd_steps, inner_lr, label_noise, out, as_json, quiet, **kw) -> None:
    """4g-h: MAML for classification: labels sign(f(x)), logistic inner and meta-loss.

    Test time fits logistic regression on the weighted features (meta-learned c, c = 1, the
    oracle) and plots 0-1 error against n_train_post (test_curve.png) and |c_k| over
    meta-training (weights.png). Writes result.json.
    """
    from tinykit.meta.classify import run_classification
    from tinykit.meta.report import curves_table, weights_line, write_meta_run

    task, _ = _split(kw)
    cfg = _meta_config(
        task,
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
    write_meta_run(result, out_dir, kind="classification")
    result["out_dir"] = str(out_dir)
    text = (
        f"test 0-1 error\n{curves_table(result, lambda v: f'{100 * v:.1f}%')}\n"
        f"{weights_line(result)}\n{result['seconds']:.1f} s; plots and JSON: {out_dir}"
    )
    _emit(result, text, as_json)


@maml.command(short_help="MAML on an nn.Module: sine waves vs a pretrained net.")
@options(
    (
        "--iterations",
        "Meta-training iterations (Finn et al.: 70,000; this default fits in a minute).",
        {"type": click.IntRange(min=0), "default": 4000},
    ),
    (
        "--shots",
        "K: points of each task the learner adapts on.",
        {"type": click.IntRange(min=1), "default": 10},
    ),
    ("--meta-batch", "Tasks per meta-update.", {"type": click.IntRange(min=1), "default": 25}),
    (
        "--inner-lr",
        "alpha: inner (adaptation) step size, also at test time.",
        {"type": POSITIVE, "default": 0.01},
    ),
    (
        "--inner-steps",
        "Adaptation steps during meta-training.",
        {"type": click.IntRange(min=1), "default": 1},
    ),
    (
        "--first-order",
        "First-order MAML: no gradient through the inner gradients.",
        {"is_flag": True},
    ),
    (
        "--test-tasks",
        "Held-out tasks for the MSE comparison.",
        {"type": click.IntRange(min=1), "default": 200},
    ),
    (
        "--eval-steps",
        "Adaptation steps at which test MSE is reported.",
        {"default": "0,1,10", "metavar": "LIST"},
    ),
)
@common_options
def sine(eval_steps, seed, out, as_json, quiet, **kw) -> None:
    """MAML on an nn.Module: Finn et al. 2017's sine-wave regression (40-40 ReLU net).

    Tasks: A sin(x + phase), A ~ U[0.1, 5], phase ~ U[0, pi], x ~ U[-5, 5]. Compares the
    MAML initialisation with a network pretrained on all tasks, both adapted by the same
    gradient steps on K shots, over --test-tasks held-out tasks. Writes sine.png, result.json.
    """
    from tinykit.meta.features import parse_int_list
    from tinykit.meta.report import sine_table, write_sine_run
    from tinykit.meta.sine import SineConfig, run_sine

    cfg = SineConfig(eval_steps=parse_int_list(eval_steps, "--eval-steps"), seed=seed, **kw)
    out_dir = _out_dir(out, "maml-sine")
    result = run_sine(cfg, progress=not quiet)
    write_sine_run(result, out_dir)
    result["out_dir"] = str(out_dir)
    sec = result["seconds"]
    text = (
        f"sine waves, K = {cfg.shots}: MSE over {cfg.test_tasks} held-out tasks (+- s.e.)\n"
        f"{sine_table(result)}\nmeta-train {sec['meta_train']:.1f} s, pretrain "
        f"{sec['pretrain']:.1f} s, evaluate {sec['evaluate']:.1f} s; plots and JSON: "
        f"{out_dir}"
    )
    _emit(result, text, as_json)

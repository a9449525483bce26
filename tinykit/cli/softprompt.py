"""tinykit softprompt: train K prompt vectors for a frozen LM and compare with hard prompts."""

from __future__ import annotations

import json

import click

from tinykit.cli.options import output_options
from tinykit.cli.prompt import TASK_NAMES, lm_option


def _fb(tokens) -> str:
    return ", ".join(f"{t!r} x{n}" for t, n in tokens[:3]) or "-"


def render(report: dict) -> str:
    from tinykit.cli.prompt import questions_line
    from tinykit.report import format_table

    sp = report["soft_prompt"]
    cfg = report["config"]
    rows = [
        [
            f"soft prompt, K={cfg['k']} (before training)",
            f"{100 * sp['before_training']['accuracy']:.1f}%",
            f"{100 * sp['before_training']['valid_share']:.1f}%",
            _fb(sp["before_training"]["fallback_tokens"]),
        ],
        [
            f"soft prompt, K={cfg['k']} ({cfg['steps']} steps)",
            f"{100 * sp['after_training']['accuracy']:.1f}%",
            f"{100 * sp['after_training']['valid_share']:.1f}%",
            _fb(sp["after_training"]["fallback_tokens"]),
        ],
    ]
    for name, r in report["hard_prompts"].items():
        mark = " (best hard)" if name == report["best_hard_prompt"] else ""
        rows.append(
            [
                f"hard: {name}{mark}",
                f"{100 * r['accuracy']:.1f}%",
                f"{100 * r['valid_share']:.1f}%",
                _fb(r["fallback_tokens"]),
            ]
        )
    lines = [
        f"{report['lm']} ({report['lm_params']:,} parameters, frozen) on '{report['task']}': "
        f"{questions_line(report, 'words never used to train the prompt')}",
        f"trainable numbers: {report['trainable_numbers']:,} = K {cfg['k']} x E "
        f"{report['embedding_dim']}; loss on: {cfg['targets']}; "
        f"loss {report['losses'][0]:.3f} -> {report['losses'][-1]:.3f}"
        if report["losses"]
        else f"trainable numbers: {report['trainable_numbers']:,}",
        "",
        format_table(["prompt", "accuracy", "valid answers", "first token when wrong"], rows),
        "",
        "accuracy: greedy answer, parsed between 'Final answer: ' and the newline, equals "
        "the expected one",
    ]
    if report.get("out_dir"):
        plot = " and loss plot" if report["losses"] else ""
        lines.append(f"report, prompt tensor{plot}: {report['out_dir']}")
    return "\n".join(lines)


@click.command()
@lm_option
@click.option(
    "--task",
    type=click.Choice(TASK_NAMES),
    default="plural",
    show_default=True,
    help="The task the soft prompt learns.",
)
@click.option(
    "--k",
    "k",
    type=click.IntRange(min=1),
    default=5,
    show_default=True,
    help="Number of soft prompt vectors (each as wide as the LM's embeddings).",
)
@click.option(
    "--targets",
    type=click.Choice(["completion", "answer"]),
    default="completion",
    show_default=True,
    help="Tokens that carry loss: completion = everything after "
    "the question (chain of thought, answer, newline); answer = only the answer and "
    "the newline after 'Final answer:'.",
)
@click.option(
    "--steps", type=click.IntRange(min=0), default=300, show_default=True, help="Optimizer steps."
)
@click.option(
    "--batch-size",
    type=click.IntRange(min=1),
    default=16,
    show_default=True,
    help="Examples per step.",
)
@click.option(
    "--lr",
    type=click.FloatRange(min=0, min_open=True),
    default=0.03,
    show_default=True,
    help="Adam learning rate of the prompt vectors.",
)
@click.option(
    "--n-train",
    type=click.IntRange(min=1),
    default=400,
    show_default=True,
    help="Training examples (from the training words).",
)
@click.option(
    "--n",
    "n_test",
    type=click.IntRange(min=1),
    default=100,
    show_default=True,
    help="Held-out test questions.",
)
@click.option(
    "--shots",
    type=click.IntRange(min=1),
    default=3,
    show_default=True,
    help="Examples in the few-shot hard prompts.",
)
@click.option(
    "--seed",
    type=int,
    default=0,
    show_default=True,
    help="Seed for the data, the prompt's initialisation and batch order.",
)
@output_options
def softprompt(
    lm_path,
    task,
    k,
    targets,
    steps,
    batch_size,
    lr,
    n_train,
    n_test,
    shots,
    seed,
    out,
    as_json,
    quiet,
) -> None:
    """Train a soft prompt (K vectors before the input embeddings of a frozen LM) and compare
    it with the best hand-written prompt on held-out questions.

    Only K x E numbers train. The loss covers exactly the selected target tokens (shifted by
    one, padding masked). Reports accuracy before and after training against zero-shot,
    instruction and few-shot prompts, and the tokens the model falls back to when it fails.
    Writes report.json, soft_prompt.pt (the K x E tensor) and loss.png to --out.
    """
    from tinykit.fileio import atomic_path, check_out_dir, new_run_dir, staged_dir, write_json
    from tinykit.lm.model import load_lm
    from tinykit.lm.plot import loss_curve
    from tinykit.lm.softprompt import SoftPromptConfig, train_soft_prompt
    from tinykit.lm.tasks import get_task

    out_dir = check_out_dir(out) if out else new_run_dir("tinykit-out", "softprompt")
    cfg = SoftPromptConfig(
        task=task,
        k=k,
        targets=targets,
        steps=steps,
        batch_size=batch_size,
        lr=lr,
        n_train=n_train,
        n_test=n_test,
        shots=shots,
        seed=seed,
    )
    lm = load_lm(lm_path, progress=not quiet)
    log = (lambda msg: None) if quiet else (lambda msg: click.echo(msg, err=True))
    report = train_soft_prompt(lm, get_task(task), cfg, progress=not quiet, log=log)
    tensor = report.pop("_prompt")
    with staged_dir(out_dir) as tmp:
        import torch

        with atomic_path(tmp / "soft_prompt.pt") as f:
            torch.save({"lm": lm.name, "k": k, "vectors": tensor}, f)
        if report["losses"]:
            loss_curve(
                report["losses"],
                tmp / "loss.png",
                title=f"soft prompt on '{task}' (K={k}, {report['trainable_numbers']:,} "
                "trainable numbers)",
            )
        write_json(tmp / "report.json", report)
    report["out_dir"] = str(out_dir)
    click.echo(json.dumps(report, indent=2) if as_json else render(report))

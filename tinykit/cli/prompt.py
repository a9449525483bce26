"""tinykit prompt: classify with a frozen language model by prompting it."""

from __future__ import annotations

import json

import click

from tinykit.cli.options import output_options

LM_HELP = (
    "A local Hugging Face causal-LM folder (config.json, weights, tokenizer). Default: "
    "tinykit's own small GPT-2, pretrained on first use (a few minutes) and cached."
)
TASK_NAMES = ["sentiment", "plural", "article", "opposite", "arithmetic"]  # tinykit.lm.tasks
STRATEGY_NAMES = ["zero-shot", "instruction", "few-shot", "few-shot-wrong"]


def lm_option(f):
    return click.option("--lm", "lm_path", type=click.Path(), metavar="PATH", help=LM_HELP)(f)


def _pct(v) -> str:
    return "-" if v is None else f"{100 * v:.1f}%"


def _prob(v) -> str:
    return "-" if v is None else f"{v:.3f}"


def questions_line(report: dict, *notes: str) -> str:
    """How many distinct held-out questions the figures rest on (fewer than --n asked for
    where the held-out words run out), with ``notes`` in the same parentheses."""
    n, asked = report["n_questions"], report["config"]["n_test"]
    notes = (*notes, *([f"all there are: --n asked for {asked}"] if n < asked else []))
    return f"{n} held-out questions" + (f" ({'; '.join(notes)})" if notes else "")


def render(report: dict) -> str:
    from tinykit.report import format_table

    rows = []
    for r in report["strategies"]:
        fb = ", ".join(f"{t!r} x{n}" for t, n in r["fallback_tokens"][:3]) or "-"
        rows.append(
            [
                r["strategy"],
                _pct(r["scored_accuracy"]),
                _prob(r["mean_p_chosen_right"]),
                _prob(r["mean_p_chosen_wrong"]),
                _pct(r["generated_accuracy"]),
                _pct(r["valid_share"]),
                fb,
            ]
        )
    header = [
        "strategy",
        "acc (log-prob)",
        "p right",
        "p wrong",
        "acc (generated)",
        "valid answers",
        "first token when wrong",
    ]
    cfg = report["config"]
    out = [
        f"{report['lm']} on '{report['task']}', {questions_line(report)}, "
        f"{cfg['shots']} shots, temperature {cfg['temperature']}, top-p {cfg['top_p']}",
        "",
        format_table(header, rows),
        "",
        "acc (log-prob): the candidate answer with the highest log-probability after the "
        "prompt; p right / p wrong: its probability (normalised over the candidates) when "
        "right / wrong; valid: generated answers of the right kind.",
        "",
        f"samples for the first question (expected: {report['first_answer']!r}):",
    ]
    for r in report["strategies"]:
        for s in r["samples"]:
            out.append(f"  {r['strategy']:<15} {s!r}")
    if report.get("out_dir"):
        out.append(f"report: {report['out_dir']}/report.json")
    return "\n".join(out)


@click.command()
@lm_option
@click.option(
    "--task",
    type=click.Choice(TASK_NAMES),
    default="sentiment",
    show_default=True,
    help="Questions to ask (generated; held-out words for plural/opposite).",
)
@click.option(
    "--strategy",
    "strategies",
    type=click.Choice(STRATEGY_NAMES),
    multiple=True,
    help="Prompting strategy; repeat for several (default: all four).",
)
@click.option(
    "--shots",
    type=click.IntRange(min=1),
    default=4,
    show_default=True,
    help="Examples shown by the few-shot strategies.",
)
@click.option(
    "--n",
    "n_test",
    type=click.IntRange(min=1),
    default=100,
    show_default=True,
    help="Held-out questions per strategy.",
)
@click.option(
    "--temperature",
    type=click.FloatRange(min=0),
    default=0.0,
    show_default=True,
    help="Sampling temperature for generation; 0 is greedy (always the top token).",
)
@click.option(
    "--top-p",
    type=click.FloatRange(0, 1, min_open=True),
    default=1.0,
    show_default=True,
    help="Nucleus sampling: draw from the smallest set of tokens "
    "whose probability reaches this mass.",
)
@click.option(
    "--max-new-tokens",
    type=click.IntRange(min=1),
    help="Generation length limit (default 8, or 48 for arithmetic's chain of thought).",
)
@click.option(
    "--samples",
    type=click.IntRange(min=0),
    default=3,
    show_default=True,
    help="Generations of the first question shown per strategy (see temperature).",
)
@click.option(
    "--seed",
    type=int,
    default=0,
    show_default=True,
    help="Seed for the questions, the shots, wrong labels and sampling.",
)
@output_options
def prompt(
    lm_path,
    task,
    strategies,
    shots,
    n_test,
    temperature,
    top_p,
    max_new_tokens,
    samples,
    seed,
    out,
    as_json,
    quiet,
) -> None:
    """Ask a frozen language model by prompting: zero-shot, with an instruction, or few-shot
    with correct or random wrong labels.

    For each strategy: accuracy when the answer is the candidate with the highest
    log-probability, the mean probability of the chosen answer when right and when wrong,
    and, generating with --temperature/--top-p, the accuracy and share of valid answers
    (parsed between "Final answer: " and the newline). Writes report.json to --out.
    """
    from tinykit.fileio import check_out_dir, new_run_dir, staged_dir, write_json
    from tinykit.lm.model import load_lm
    from tinykit.lm.prompting import PromptConfig, run_prompting
    from tinykit.lm.tasks import get_task

    out_dir = check_out_dir(out) if out else new_run_dir("tinykit-out", "prompt")
    cfg = PromptConfig(
        task=task,
        strategies=tuple(strategies) or tuple(STRATEGY_NAMES),
        shots=shots,
        n_test=n_test,
        temperature=temperature,
        top_p=top_p,
        max_new_tokens=max_new_tokens or 0,
        seed=seed,
        samples=samples,
    )
    lm = load_lm(lm_path, progress=not quiet)
    report = run_prompting(lm, get_task(task), cfg, progress=not quiet)
    with staged_dir(out_dir) as tmp:
        write_json(tmp / "report.json", report)
    report["out_dir"] = str(out_dir)
    click.echo(json.dumps(report, indent=2) if as_json else render(report))

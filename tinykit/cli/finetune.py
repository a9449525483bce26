"""tinykit finetune --only-block: surgical fine-tuning of one block on corrupted inputs."""

from __future__ import annotations

import json

import click

from tinykit.cli.options import data_options, model_options, output_options

CORRUPTION_NAMES = [
    "gaussian_noise",
    "shot_noise",
    "impulse_noise",
    "defocus_blur",
    "gaussian_blur",
    "pixelate",
    "brightness",
    "contrast",
    "jpeg",
]


def _split(values: tuple[str, ...], flag: str) -> tuple[str, ...]:
    """Repeated and comma-separated values, in order; given but empty is an error, not the
    default (an empty string from a script would otherwise start the whole sweep)."""
    out = tuple(v.strip() for s in values for v in s.split(",") if v.strip())
    if values and not out:
        from tinykit.errors import TinykitError

        raise TinykitError(f"{flag} was given no value: name one, or leave the option out")
    return tuple(dict.fromkeys(out))


def render(report: dict) -> str:
    from tinykit.report import format_table

    rows_in = report["results"]
    header = ["tuned block", "trained params", *(r["corruption"] for r in rows_in), "delta size"]
    rows = [["(none)", "0", *(f"{100 * r['none']:.1f}%" for r in rows_in), "-"]]
    for choice in report["choices"]:
        first = rows_in[0]["choices"][choice]
        size = report["deltas"].get(choice, {}).get("size_bytes")
        rows.append(
            [
                f"{choice}"
                + (f" ({', '.join(first['blocks'])})" if choice in ("first", "last") else ""),
                f"{first['trained_params']:,}",
                *(f"{100 * r['choices'][choice]['accuracy']:.1f}%" for r in rows_in),
                "-" if size is None else f"{size / 1024:.1f} KiB",
            ]
        )
    full = report["full_model_bytes"]
    lines = [
        f"{report['model']}: blocks {', '.join(report['blocks'])}; severity "
        f"{report['config']['severity']}; {report['config']['n_train']} labelled corrupted "
        f"training images; clean test accuracy {100 * rows_in[0]['clean']:.1f}%",
        "",
        format_table(header, rows),
        "",
        "accuracy on the corrupted test split; each choice tuned alone (rest frozen, batch norm "
        "in eval mode), learning rate picked on the corrupted validation split",
        f"delta: the tuned block's weights only (for the first corruption), applied onto the "
        f"original checkpoint; full model: {full / 1024:.1f} KiB",
    ]
    if report.get("out_dir"):
        lines.append(f"report, plot and deltas: {report['out_dir']}")
    return "\n".join(lines)


@click.command()
@model_options
@data_options
@click.option(
    "--only-block",
    "blocks",
    multiple=True,
    metavar="NAME|first|last|all",
    help="Block to fine-tune (repeat or comma-separate for several runs). Default: "
    "each block in turn, then all. ResNet-8's blocks: stem, stage1, stage2, "
    "stage3, fc.",
)
@click.option(
    "--corruption",
    "corruptions",
    multiple=True,
    metavar="NAME",
    help="Corruption(s), comma-separated or repeated: "
    + ", ".join(CORRUPTION_NAMES)
    + ". Default: impulse_noise, contrast.",
)
@click.option(
    "--severity",
    type=click.IntRange(1, 5),
    default=5,
    show_default=True,
    help="Corruption severity, 1 (mild) to 5 (strong).",
)
@click.option(
    "--n-train",
    type=click.IntRange(min=1),
    default=200,
    show_default=True,
    help="Labelled corrupted training images to tune on.",
)
@click.option(
    "--epochs",
    type=click.IntRange(min=1),
    default=10,
    show_default=True,
    help="Epochs over those images.",
)
@click.option(
    "--lr",
    "lrs",
    default="1e-3,1e-2",
    show_default=True,
    metavar="LIST",
    help="Learning rates tried per choice (Adam); the best on the corrupted "
    "validation split is kept.",
)
@output_options
def finetune(
    model,
    weights,
    num_classes,
    trust_pickle,
    data,
    image_size,
    seed,
    blocks,
    corruptions,
    severity,
    n_train,
    epochs,
    lrs,
    out,
    as_json,
    quiet,
) -> None:
    """Surgical fine-tuning: adapt one block of a pretrained network to corrupted inputs.

    Corrupts the data (CIFAR-10-C style, computed here), fine-tunes one block at a time with
    the rest frozen and batch norm in eval mode on a small labelled corrupted set, and
    reports accuracy on the corrupted test split per choice (table, blocks.png). Writes each
    tuned block as a delta (deltas/*.pt: that block's weights only, applied onto the original
    checkpoint with tinykit.surgical.delta.apply_delta) and compares its size with the full
    model's.
    """
    import os

    from tinykit.checkpoint import Checkpoint, save_checkpoint
    from tinykit.errors import TinykitError
    from tinykit.fileio import check_out_dir, new_run_dir, staged_dir, write_json
    from tinykit.sources import load_source
    from tinykit.surgical.corruptions import check_corruption
    from tinykit.surgical.delta import save_delta
    from tinykit.surgical.finetune import SurgicalConfig, resolve_block, run_surgical
    from tinykit.surgical.plot import block_accuracy_bars

    names = _split(corruptions, "--corruption") or SurgicalConfig.corruptions
    for c in names:
        check_corruption(c, severity)
    try:
        lr_list = tuple(float(v) for v in _split((lrs,), "--lr"))
    except ValueError as e:
        raise TinykitError(f"--lr takes comma-separated numbers, got {lrs!r}") from e
    out_dir = check_out_dir(out) if out else new_run_dir("tinykit-out", "finetune")
    source, ds = load_source(
        model,
        data=data,
        weights=weights,
        num_classes=num_classes,
        image_size=image_size,
        trust_pickle=trust_pickle,
        seed=seed,
        progress=not quiet,
    )
    choices = _split(blocks, "--only-block")
    trained: dict[tuple[str, ...], str] = {}
    for c in choices:  # a wrong name, or one block under two names, fails before any work
        key = tuple(resolve_block(source.model, c))
        if key in trained:
            raise TinykitError(f"--only-block {c} and {trained[key]} tune the same block(s)")
        trained[key] = c
    if n_train > len(ds.train):
        raise TinykitError(
            f"--n-train {n_train} is more than the {len(ds.train)} training images: "
            f"give at most {len(ds.train)}"
        )
    cfg = SurgicalConfig(
        corruptions=names,
        severity=severity,
        blocks=choices,
        n_train=n_train,
        epochs=epochs,
        lrs=lr_list,
        seed=seed,
    )
    with staged_dir(out_dir) as tmp:
        full = save_checkpoint(
            tmp / "original.pt",
            source.model,
            Checkpoint(
                arch=source.arch, spec=ds.spec, state_dict={}, arch_kwargs=source.arch_kwargs
            ),
        )
        deltas: dict[str, dict] = {}

        def keep(corruption, choice, blocks_, tuned):
            if corruption != names[0]:
                return
            path = save_delta(
                tmp / "deltas" / f"{choice}.pt",
                tuned,
                blocks_,
                base=source.name,
                note={"corruption": corruption, "severity": severity},
            )
            deltas[choice] = {
                "path": f"deltas/{choice}.pt",
                "blocks": blocks_,
                "size_bytes": os.path.getsize(path),
            }

        report = run_surgical(source.model, ds, cfg, progress=not quiet, on_tuned=keep)
        report.update(model=source.name, full_model_bytes=os.path.getsize(full), deltas=deltas)
        block_accuracy_bars(report, tmp / "blocks.png")
        write_json(tmp / "report.json", report)
    report["out_dir"] = str(out_dir)
    click.echo(json.dumps(report, indent=2) if as_json else render(report))

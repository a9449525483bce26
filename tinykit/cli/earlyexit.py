"""tinykit earlyexit: exit heads trained, calibrated, exported as stages and run as stages."""

from __future__ import annotations

import json

import click

from tinykit.cli.options import data_options, float_list, model_options, output_options


def _options(f):
    opts = [
        click.option(
            "--blocks",
            metavar="LIST",
            help="Blocks to hang exit heads after, comma-separated submodule names in "
            "forward order (default: the architecture's blocks but the last; "
            "ResNet-8: stem,stage1,stage2; torchvision ResNets: layer1,layer2,layer3).",
        ),
        click.option(
            "--probe-blocks",
            metavar="LIST",
            help="Blocks probed for prediction depth, to relate exits to difficulty "
            "(default: the architecture's blocks, else --blocks).",
        ),
        click.option(
            "--train",
            "train_mode",
            type=click.Choice(["frozen", "joint"]),
            default="frozen",
            show_default=True,
            help="frozen: train the heads only (backbone untouched, seconds); joint: "
            "fine-tune backbone and heads together, every head's loss added.",
        ),
        click.option(
            "--epochs",
            type=click.IntRange(min=1),
            help="Head training epochs (default: 30 frozen, 8 joint).",
        ),
        click.option(
            "--lr",
            type=click.FloatRange(min=0, min_open=True),
            help="Peak learning rate (default: 3e-3 frozen, 1e-3 joint).",
        ),
        click.option(
            "--head-pool",
            type=click.IntRange(min=1),
            default=4,
            show_default=True,
            help="Each head pools its block's feature map to at most N x N cells "
            "before its linear layer.",
        ),
        click.option(
            "--head-pooling",
            type=click.Choice(["avg", "max"]),
            default="avg",
            show_default=True,
            help="Pooling of the heads.",
        ),
        click.option(
            "--head-hidden",
            type=click.IntRange(min=0),
            default=0,
            show_default=True,
            help="Hidden units of a two-layer head (0: one linear layer).",
        ),
        click.option(
            "--max-drop",
            type=click.FloatRange(min=0),
            metavar="POINTS",
            help="Calibration target: at most POINTS of validation accuracy lost "
            "against the full network, fewest MACs (default target: 0.5).",
        ),
        click.option(
            "--mac-budget",
            type=click.FloatRange(0, 1, min_open=True),
            metavar="FRACTION",
            help="Calibration target instead: average MACs at most FRACTION of the "
            "full network's, best validation accuracy.",
        ),
        click.option(
            "--thresholds",
            metavar="LIST",
            help="Fixed confidence thresholds, one per head, each in (0, 1] (skips calibration).",
        ),
        click.option(
            "--sweep",
            metavar="LIST",
            default="0.5,0.6,0.7,0.8,0.9,0.95,0.98,0.99,0.995,0.999,0.9999",
            show_default=True,
            help="Shared thresholds (0, 1] reported and plotted for comparison.",
        ),
        click.option(
            "--k",
            "k",
            type=click.IntRange(min=1),
            default=30,
            show_default=True,
            help="Neighbours of the prediction-depth k-NN probes.",
        ),
        click.option(
            "--sparsity",
            type=click.FloatRange(0, 1, max_open=True),
            default=0.0,
            show_default=True,
            help="Fine-grained pruning of backbone and heads, then a joint fine-tune "
            "with the masks held.",
        ),
        click.option(
            "--finetune-epochs",
            type=click.IntRange(min=0),
            default=3,
            show_default=True,
            help="Joint fine-tune epochs after pruning and inside k-means codebooks.",
        ),
        click.option(
            "--kmeans-bits",
            type=click.IntRange(1, 8),
            help="k-means weights (batch norm kept, as in compress): 2^N centroids per layer.",
        ),
        click.option(
            "--int8-heads",
            is_flag=True,
            help="int8 heads: their linear layers in int8 (per-channel weights, "
            "activations calibrated on pooled training features); onnxruntime runs "
            "them as int8 operators.",
        ),
        click.option(
            "--formats",
            default="onnx,tflite",
            show_default=True,
            metavar="LIST",
            help="Stage formats to export: onnx (one file per stage), tflite (one "
            "file, one signature per stage).",
        ),
        click.option(
            "--no-bench",
            is_flag=True,
            help="Do not time the stages (exports and verification still run).",
        ),
        click.option(
            "--passes",
            type=click.IntRange(min=1),
            default=5,
            show_default=True,
            help="Timed passes over the test split per runtime.",
        ),
        click.option(
            "--threads",
            type=click.IntRange(min=1),
            default=1,
            show_default=True,
            help="Runtime threads when timing.",
        ),
        click.option(
            "--host",
            metavar="USER@HOST",
            help="Also time the stages on this board over SSH (a Raspberry Pi with "
            "python3, numpy and onnxruntime / ai-edge-litert / tflite-runtime).",
        ),
        click.option("--port", type=click.IntRange(1, 65535), help="SSH: port of the board."),
        click.option(
            "--identity",
            type=click.Path(dir_okay=False),
            metavar="KEY",
            help="SSH: private key file.",
        ),
        click.option(
            "--ssh-opt",
            "ssh_options",
            multiple=True,
            metavar="OPTION",
            help="SSH: an extra -o option (repeatable).",
        ),
        click.option(
            "--remote-python", metavar="PATH", help="SSH: Python on the board (default python3)."
        ),
    ]
    for opt in reversed(opts):
        f = opt(f)
    return f


def _sweep(value: str) -> tuple[float, ...]:
    return tuple(float_list(value, "--sweep"))


@click.command()
@model_options
@data_options
@_options
@output_options
def earlyexit(
    model,
    weights,
    num_classes,
    trust_pickle,
    data,
    image_size,
    seed,
    blocks,
    probe_blocks,
    train_mode,
    epochs,
    lr,
    head_pool,
    head_pooling,
    head_hidden,
    max_drop,
    mac_budget,
    thresholds,
    sweep,
    k,
    sparsity,
    finetune_epochs,
    kmeans_bits,
    int8_heads,
    formats,
    no_bench,
    passes,
    threads,
    host,
    port,
    identity,
    ssh_options,
    remote_python,
    out,
    as_json,
    quiet,
) -> None:
    """Hang exit heads on a backbone, calibrate them, and run the network as stages.

    Heads after the chosen blocks are trained (backbone frozen or jointly); one confidence
    threshold per head is calibrated on the validation split; an input leaves at the first
    head whose max softmax probability reaches its threshold. The network is exported as
    stages (ONNX files, one multi-signature .tflite) with a manifest an app or a board runs;
    the exported stages are checked against PyTorch on the test split and timed against the
    full model with the standalone staged runner, here and, with --host, on a board over SSH.
    Writes earlyexit.json, accuracy_vs_macs.png, exit_vs_depth.png, test_inputs.npz and
    bundle/ to --out.
    """
    from tinykit.earlyexit.blocks import parse_blocks
    from tinykit.earlyexit.calibrate import Target
    from tinykit.earlyexit.heads import HeadConfig
    from tinykit.earlyexit.run import EarlyExitRecipe, EarlyExitRun
    from tinykit.earlyexit.train import HeadTrainConfig
    from tinykit.errors import TinykitError
    from tinykit.fileio import check_out_dir, new_run_dir, staged_dir, write_json
    from tinykit.sources import load_source

    if max_drop is not None and mac_budget is not None:
        raise TinykitError("--max-drop and --mac-budget are two targets: give one")
    if thresholds is not None and (max_drop is not None or mac_budget is not None):
        raise TinykitError("--thresholds fixes the thresholds: drop --max-drop/--mac-budget")
    fixed = float_list(thresholds, "--thresholds") if thresholds is not None else None
    for t in fixed or []:
        if not 0 < t <= 1:
            raise TinykitError(f"threshold {t:g} is outside (0, 1]")
    target = (
        Target(mac_budget=mac_budget)
        if mac_budget is not None
        else Target(max_drop=0.5 if max_drop is None else max_drop)
    )
    joint = train_mode == "joint"
    recipe = EarlyExitRecipe(
        exits=parse_blocks(blocks),
        probe_blocks=parse_blocks(probe_blocks),
        head=HeadConfig(pool=head_pool, hidden=head_hidden, kind=head_pooling),
        train=HeadTrainConfig(
            mode=train_mode,
            epochs=epochs or (8 if joint else 30),
            lr=lr or (1e-3 if joint else 3e-3),
            seed=seed,
        ),
        target=target,
        thresholds=fixed,
        sweep=_sweep(sweep),
        k=k,
        sparsity=sparsity,
        finetune_epochs=finetune_epochs,
        kmeans_bits=kmeans_bits,
        int8_heads=int8_heads,
        formats=tuple(f.strip() for f in formats.split(",") if f.strip()),
        bench=not no_bench,
        passes=passes,
        threads=threads,
        seed=seed,
    )
    ssh = None
    if host:
        from tinykit.bench.ssh import SshTarget

        ssh = SshTarget(
            host=host,
            port=port,
            identity=identity,
            options=list(ssh_options),
            python=remote_python or "python3",
        )
    out_dir = check_out_dir(out) if out else new_run_dir("tinykit-out", "earlyexit")
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
    log = (lambda m: None) if (quiet or as_json) else (lambda m: click.echo(m, err=True))
    with staged_dir(out_dir) as tmp:
        run = EarlyExitRun(source, ds, recipe, tmp, progress=not quiet, log=log, ssh=ssh)
        report = run.run()
        run.plots(report)
        write_json(tmp / "earlyexit.json", report)
    report["out_dir"] = str(out_dir)
    if as_json:
        click.echo(json.dumps(report, indent=2))
        return
    from tinykit.earlyexit.report import render_earlyexit

    click.echo(render_earlyexit(report))

"""tinykit train: the reference training loop for your data."""

from __future__ import annotations

import json

import click

from tinykit.cli.options import data_options


@click.command()
@click.option(
    "--arch",
    default="resnet8",
    show_default=True,
    metavar="NAME",
    help="resnet8, cifar_resnet18, or a torchvision classification model name.",
)
@data_options
@click.option(
    "--epochs", type=click.IntRange(min=1), default=15, show_default=True, help="Training epochs."
)
@click.option(
    "--lr",
    type=click.FloatRange(min=0, min_open=True),
    default=3e-3,
    show_default=True,
    help="Peak learning rate (AdamW, one-cycle schedule).",
)
@click.option(
    "--batch-size",
    type=click.IntRange(min=1),
    default=64,
    show_default=True,
    help="Mini-batch size.",
)
@click.option(
    "--out",
    "out_path",
    type=click.Path(dir_okay=False),
    required=True,
    metavar="FILE",
    help="Checkpoint to write (.pt); must not exist.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
def train(arch, data, image_size, seed, epochs, lr, batch_size, out_path, as_json, quiet) -> None:
    """Train ARCH on --data (default: the digits) and save a tinykit checkpoint.

    The checkpoint holds the weights, the architecture and the input preprocessing; load it
    with 'tinykit compress --model FILE --data ...'.
    """
    from pathlib import Path

    import torch

    from tinykit.checkpoint import Checkpoint, save_checkpoint
    from tinykit.data import load_data
    from tinykit.errors import TinykitError
    from tinykit.models import build_model
    from tinykit.train import TrainConfig, evaluate, fit

    if Path(out_path).exists():
        raise TinykitError(
            f"{out_path} exists: tinykit never overwrites a file, choose another --out"
        )
    ds = load_data(data, seed=seed, image_size=image_size)
    torch.manual_seed(seed)
    model = build_model(arch, num_classes=ds.spec.num_classes, in_channels=ds.spec.channels)
    cfg = TrainConfig(epochs=epochs, lr=lr, batch_size=batch_size, seed=seed)
    fit(model, ds, cfg, desc=f"train {arch}", progress=not quiet)
    acc = evaluate(model, ds.inputs("test"), ds.test.y)
    save_checkpoint(
        out_path,
        model,
        Checkpoint(
            arch=arch,
            spec=ds.spec,
            state_dict={},
            recipe={"train": vars(cfg)},
            metrics={"test_accuracy": acc},
        ),
    )
    result = {"checkpoint": out_path, "arch": arch, "data": ds.name, "test_accuracy": acc}
    if as_json:
        click.echo(json.dumps(result))
    else:
        click.echo(f"{ds.summary()}\n{arch}: test accuracy {100 * acc:.2f}%, saved {out_path}")

"""tinykit difficulty: prediction depth of every test example, from k-NN probes per block."""

from __future__ import annotations

import json

import click

from tinykit.cli.options import data_options, model_options, output_options


@click.command()
@model_options
@data_options
@click.option(
    "--blocks",
    metavar="LIST",
    help="Blocks to probe, comma-separated submodule names in forward order (default: the "
    "architecture's blocks; ResNet-8: stem,stage1,stage2,stage3; torchvision ResNets: "
    "layer1..layer4).",
)
@click.option(
    "--k",
    "k",
    type=click.IntRange(min=1),
    default=30,
    show_default=True,
    help="Neighbours of each k-NN probe.",
)
@click.option(
    "--split",
    type=click.Choice(["test", "val"]),
    default="test",
    show_default=True,
    help="Examples whose prediction depth is measured (probes always fit on train).",
)
@click.option(
    "--max-dim",
    type=click.IntRange(min=16),
    default=16384,
    show_default=True,
    help="Largest representation kept per block; bigger feature maps are average-pooled "
    "(2x2 at a time) down to it.",
)
@click.option(
    "--grid",
    type=click.IntRange(min=1, max=24),
    default=8,
    show_default=True,
    help="Examples per row in examples.png (easiest row, hardest row).",
)
@output_options
def difficulty(
    model,
    weights,
    num_classes,
    trust_pickle,
    data,
    image_size,
    seed,
    blocks,
    k,
    split,
    max_dim,
    grid,
    out,
    as_json,
    quiet,
) -> None:
    """Measure how hard each example is: its prediction depth (Baldock et al., 2021).

    Forward hooks collect every block's output; a k-NN probe per block, fitted on the
    training split's representations and labels, labels each example. The prediction depth
    is the earliest block from which every later probe agrees with the network's prediction.
    Writes difficulty.json (depth of every example), depth_histogram.png,
    accuracy_by_depth.png and examples.png (easiest and hardest examples) to --out.
    """
    from tinykit.earlyexit.blocks import default_blocks, parse_blocks, split_backbone
    from tinykit.earlyexit.difficulty import prediction_depth
    from tinykit.earlyexit.plots import accuracy_by_depth, depth_histogram, example_grid
    from tinykit.earlyexit.report import render_difficulty
    from tinykit.fileio import check_out_dir, new_run_dir, staged_dir, write_json
    from tinykit.sources import load_source

    names = parse_blocks(blocks)
    out_dir = check_out_dir(out) if out else new_run_dir("tinykit-out", "difficulty")
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
    names = names or default_blocks(source.model)
    split_backbone(source.model, names)  # the same rules as exits: real blocks, forward order
    split_data = getattr(ds, split)
    res = prediction_depth(
        source.model,
        names,
        ds.inputs("train"),
        ds.train.y,
        ds.inputs(split),
        split_data.y,
        k=k,
        num_classes=ds.spec.num_classes,
        max_dim=max_dim,
        progress=not quiet,
    )
    result = {
        "model": source.name,
        "data": ds.summary(),
        "split": split,
        "seed": seed,
        **res.to_dict(),
    }
    with staged_dir(out_dir) as tmp:
        write_json(tmp / "difficulty.json", result)
        depth_histogram(res.per_depth(), names, tmp / "depth_histogram.png", k=k, split=split)
        accuracy_by_depth(
            res.per_depth(), result["probe_accuracy"], names, tmp / "accuracy_by_depth.png"
        )
        example_grid(
            split_data.x,
            res.ranking(),
            res.depth,
            res.labels,
            res.final_pred,
            names,
            tmp / "examples.png",
            per_row=grid,
            names=list(ds.spec.labels),
        )
    if as_json:
        click.echo(json.dumps(result, indent=2))
        return
    click.echo(render_difficulty(result))
    click.echo(f"written to {out_dir}")

"""tinykit compress: the whole chain from one recipe."""

from __future__ import annotations

import json

import click

from tinykit.cli.options import SparsityType, data_options, model_options, output_options
from tinykit.exporters.formats import FORMATS

# CLI option -> Recipe field
_RECIPE_FLAGS = {
    "prune": "prune",
    "sparsity": "sparsity",
    "max_drop": "max_drop",
    "target_sparsity": "target_sparsity",
    "ratio": "ratio",
    "importance": "importance",
    "round_to": "round_to",
    "finetune_epochs": "finetune_epochs",
    "quant": "quant",
    "bits": "bits",
    "per_channel": "per_channel",
    "qat_epochs": "qat_epochs",
    "calibration": "calibration",
    "calibration_samples": "calibration_samples",
    "tflite_io": "tflite_io",
    "formats": "formats",
    "threads": "threads",
    "board": "board",
    "host": "host",
    "port": "port",
    "identity": "identity",
    "runs": "bench_runs",
    "warmup": "bench_warmup",
    "seed": "seed",
}


def _refuse_options_that_do_not_apply(ctx, recipe) -> None:
    """An option given on the command line that the chosen methods ignore is a mistake the
    user should hear about, not a silent no-op recorded in the recipe."""
    from tinykit.errors import TinykitError

    def given(opt: str) -> bool:
        return ctx.get_parameter_source(opt) == click.core.ParameterSource.COMMANDLINE

    rules = [
        (("sparsity",), recipe.prune == "fine", "--prune fine"),
        (("ratio", "importance", "round_to"), recipe.prune == "channel", "--prune channel"),
        (("bits",), recipe.quant != "none", "--quant kmeans or linear"),
        (("per_channel",), recipe.quant == "kmeans", "k-means quantization (--bits below 8)"),
        (("calibration", "tflite_io"), recipe.quant == "linear", "--quant linear"),
    ]
    for opts, applies, needs in rules:
        for opt in opts:
            if given(opt) and not applies:
                flag = "--" + opt.replace("_", "-")
                raise TinykitError(f"{flag} goes with {needs}; here it would be ignored")


@click.command()
@model_options
@data_options
@click.option(
    "--bits",
    type=click.IntRange(1, 8),
    default=4,
    show_default=True,
    help="Weight bits. Below 8 the default method is k-means (2^bits centroids per "
    "layer); at 8 it is linear.",
)
@click.option(
    "--quant",
    type=click.Choice(["kmeans", "linear", "none"]),
    help="Quantization method (default: kmeans if --bits < 8, else linear).",
)
@click.option("--per-channel", is_flag=True, help="k-means: one codebook per output channel.")
@click.option(
    "--qat-epochs",
    type=click.IntRange(min=0),
    help="Fine-tune epochs inside the quantized structure: k-means centroid updates (default "
    "3, or 5 at 3 bits and below), or linear quantization-aware training with fake "
    "quantization (default 0: off).",
)
@click.option(
    "--calibration",
    type=click.Choice(["minmax", "percentile", "mse"]),
    default="minmax",
    show_default=True,
    help="linear: how activation ranges are set from training data (percentile clips the "
    "0.01% outliers; mse picks the clipping with least quantization error).",
)
@click.option(
    "--calibration-samples",
    type=click.IntRange(min=1),
    default=512,
    show_default=True,
    help="linear: training inputs used for calibration.",
)
@click.option(
    "--tflite-io",
    type=click.Choice(["int8", "float"]),
    default="int8",
    show_default=True,
    help="linear: TFLite input/output type; int8 means the app quantizes with the manifest's "
    "input.quantization.",
)
@click.option(
    "--prune",
    type=click.Choice(["fine", "channel", "none"]),
    default="fine",
    show_default=True,
    help="fine: zero the smallest weights (masks held in fine-tuning); channel: remove "
    "whole channels with torch-pruning (a smaller dense model).",
)
@click.option(
    "--sparsity",
    type=SparsityType(),
    default=0.6,
    show_default=True,
    help="fine: share of each layer's weights set to zero, or 'auto': per-layer sparsities "
    "from a sensitivity scan on the validation split (see --max-drop, --target-sparsity).",
)
@click.option(
    "--max-drop",
    type=click.FloatRange(min=0),
    metavar="POINTS",
    help="--sparsity auto: each layer gets the largest scanned sparsity whose validation "
    "accuracy drop (pruned alone, before fine-tuning) stays within POINTS (default 0.5).",
)
@click.option(
    "--target-sparsity",
    type=click.FloatRange(0, 1, max_open=True),
    metavar="S",
    help="--sparsity auto: reach this overall weight sparsity with the smallest accuracy budget.",
)
@click.option(
    "--ratio",
    type=click.FloatRange(0, 1, max_open=True),
    default=0.3,
    show_default=True,
    help="channel: share of output channels removed per layer.",
)
@click.option(
    "--importance",
    type=click.Choice(["l2", "l1", "fpgm", "lamp", "random", "bn_scale"]),
    default="l2",
    show_default=True,
    help="channel: how channels are ranked (l2: Frobenius norm of their weights).",
)
@click.option(
    "--round-to",
    type=click.IntRange(min=1),
    metavar="N",
    help="channel: keep channel counts at multiples of N (hardware-friendly).",
)
@click.option(
    "--finetune-epochs",
    type=click.IntRange(min=0),
    default=5,
    show_default=True,
    help="Fine-tune epochs after pruning.",
)
@click.option(
    "--formats",
    default="onnx,tflite",
    show_default=True,
    metavar="LIST",
    help="Export formats, comma-separated: "
    + "; ".join(f"{f.name} ({f.runtime}): {f.note}" for f in FORMATS.values())
    + ".",
)
@click.option(
    "--threads",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Threads for latency measurements.",
)
@click.option(
    "--board",
    default="host",
    show_default=True,
    metavar="NAME|TOML",
    help="Also bench every stage and artifact on this board (see 'tinykit boards'): measured "
    "over SSH/adb with --host, otherwise a roofline estimate labelled as such.",
)
@click.option("--host", metavar="USER@HOST|SERIAL", help="How to reach --board (SSH or adb).")
@click.option("--port", type=click.IntRange(1, 65535), help="SSH port of --host.")
@click.option("--identity", type=click.Path(dir_okay=False), help="SSH private key for --host.")
@click.option(
    "--runs",
    type=click.IntRange(min=1),
    default=200,
    show_default=True,
    help="Timed runs per latency figure (median reported).",
)
@click.option(
    "--warmup",
    type=click.IntRange(min=0),
    default=20,
    show_default=True,
    help="Untimed runs before timing.",
)
@click.option(
    "--recipe",
    "recipe_file",
    type=click.Path(dir_okay=False),
    metavar="TOML",
    help="Read settings from a TOML recipe (per-layer sparsity tables go here); "
    "flags given on the command line override it.",
)
@output_options
@click.pass_context
def compress(
    ctx: click.Context,
    model,
    weights,
    num_classes,
    trust_pickle,
    data,
    image_size,
    seed,
    recipe_file,
    out,
    as_json,
    quiet,
    **flags,
) -> None:
    """Prune, quantize, export, verify and bench a model in one go.

    Measures the baseline, prunes (fine-tuning with masks held), folds batch norm, quantizes
    (k-means codebooks or linear), exports ONNX and TFLite into a bundle with manifest.json,
    runs every artifact on the whole test split (accuracy, agreement with PyTorch) and times
    it (onnxruntime / ai-edge-litert, batch 1). Prints a table, or report.json with --json;
    writes report.json, the bundle, model.pt and weights.png to --out.
    """
    from tinykit.fileio import check_out_dir, new_run_dir
    from tinykit.pipeline import compress as run_compress
    from tinykit.recipe import Recipe
    from tinykit.report import render
    from tinykit.sources import load_source

    out_dir = check_out_dir(out) if out else new_run_dir("tinykit-out", "compress")
    base = dict(Recipe.read_toml(recipe_file)) if recipe_file else {}
    values = {**flags, "seed": seed}
    for opt, field_name in _RECIPE_FLAGS.items():
        given = ctx.get_parameter_source(opt) == click.core.ParameterSource.COMMANDLINE
        if given or field_name not in base:
            v = values[opt]
            if opt == "formats":
                v = [s.strip() for s in v.split(",") if s.strip()]
            base[field_name] = v
    if (
        ctx.get_parameter_source("bits") == click.core.ParameterSource.COMMANDLINE
        and ctx.get_parameter_source("quant") != click.core.ParameterSource.COMMANDLINE
    ):
        base["quant"] = None  # the method follows --bits
    recipe = Recipe.from_dict(base)
    _refuse_options_that_do_not_apply(ctx, recipe)
    log = (lambda *a, **k: None) if quiet else (lambda msg: click.echo(msg, err=True))
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
    report = run_compress(source, ds, recipe, out_dir=out_dir, progress=not quiet, log=log)
    if as_json:
        click.echo(json.dumps(report, indent=2))
    else:
        click.echo(render(report))

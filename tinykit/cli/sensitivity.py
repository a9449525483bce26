"""tinykit sensitivity: how much each layer can be pruned on its own."""

from __future__ import annotations

import json

import click

from tinykit.cli.options import data_options, float_list, model_options, output_options


@click.command()
@model_options
@data_options
@click.option(
    "--sparsities",
    default=",".join(f"{0.1 * i:.1f}" for i in range(10)),
    show_default=True,
    metavar="LIST",
    help="Sparsities to try for each layer, comma-separated, each in [0, 1).",
)
@click.option(
    "--max-drop",
    type=click.FloatRange(min=0),
    default=0.5,
    show_default=True,
    metavar="POINTS",
    help="Also suggest per-layer sparsities: the largest whose accuracy drop stays within POINTS.",
)
@output_options
def sensitivity(
    model,
    weights,
    num_classes,
    trust_pickle,
    data,
    image_size,
    seed,
    sparsities,
    max_drop,
    out,
    as_json,
    quiet,
) -> None:
    """Prune each layer alone at each sparsity and measure validation accuracy.

    The model is pruned in place and restored after each point (no copies); the test split is
    never used. Writes sensitivity.json, sensitivity.png (one curve per layer) and params.png
    (weights per layer) to --out, and prints the accuracy table.
    """
    from tinykit.errors import TinykitError
    from tinykit.fileio import check_out_dir, new_run_dir, staged_dir, write_json
    from tinykit.plots import param_bars, sensitivity_curves
    from tinykit.prune.sensitivity import choose_sparsities, overall_sparsity, scan_sensitivity
    from tinykit.report import format_table
    from tinykit.sources import load_source

    grid = float_list(sparsities, "--sparsities")
    if not grid or len(set(grid)) != len(grid):
        raise TinykitError(
            f"--sparsities needs distinct values in [0, 1), comma-separated, got {sparsities!r}"
        )
    out_dir = check_out_dir(out) if out else new_run_dir("tinykit-out", "sensitivity")
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
    scan = scan_sensitivity(
        source.model, ds.inputs("val"), ds.val.y, sparsities=grid, progress=not quiet
    )
    chosen = choose_sparsities(scan, max_drop=max_drop)
    result = {
        **scan.to_dict(),
        "max_drop": max_drop,
        "suggested": chosen,
        "suggested_overall_sparsity": overall_sparsity(chosen, scan.params),
    }
    with staged_dir(out_dir) as tmp:
        write_json(tmp / "sensitivity.json", result)
        sensitivity_curves(scan, tmp / "sensitivity.png", chosen=chosen)
        param_bars(scan.params, tmp / "params.png")
    if as_json:
        click.echo(json.dumps(result, indent=2))
        return
    header = ["layer", "weights", *[f"{s:g}" for s in scan.sparsities], "suggested"]
    rows = [
        [name, f"{scan.params[name]:,}", *[f"{100 * a:.1f}" for a in accs], f"{chosen[name]:g}"]
        for name, accs in scan.accuracy.items()
    ]
    click.echo(
        f"validation accuracy (%) with one layer pruned; unpruned {100 * scan.base_accuracy:.2f}%"
    )
    click.echo(format_table(header, rows, left=1))
    click.echo(
        f"suggested (drop <= {max_drop} points per layer): "
        f"{100 * result['suggested_overall_sparsity']:.1f}% of weights overall\n"
        f"written to {out_dir}"
    )

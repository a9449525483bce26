"""tinykit inspect: a per-layer look at a model, and its weight histograms."""

from __future__ import annotations

import json

import click

from tinykit.cli.options import model_options, output_options


@click.command()
@click.argument("model_arg", metavar="[MODEL]", required=False)
@model_options
@click.option(
    "--input-shape",
    metavar="C,H,W",
    help="Input shape for an architecture name (default 3,224,224; checkpoints know theirs).",
)
@output_options
def inspect(
    model_arg, model, weights, num_classes, trust_pickle, input_shape, out, as_json, quiet
) -> None:
    """Per-layer table (type, weight shape, params, nonzero, MACs, sparsity) and weights.png.

    MODEL is a tinykit checkpoint or an architecture name (with --weights); default: the
    embedded digits ResNet-8. An architecture name takes --input-shape and --num-classes
    (default 1000, as torchvision's ImageNet models). Shows how the weights are distributed
    and which layers hold the parameters and the work.
    """
    from pathlib import Path

    import torch

    from tinykit.bench.macs import count_macs
    from tinykit.errors import TinykitError
    from tinykit.fileio import check_out_dir, new_run_dir, staged_dir, write_json
    from tinykit.plots import layer_weights, weight_histograms
    from tinykit.prune.fine import prunable_layers
    from tinykit.report import format_table

    if model_arg and model and model_arg != model:
        raise TinykitError(f"two models given ({model_arg} and --model {model}): pass one")
    name = model_arg or model
    if name is None:
        from tinykit.sources import load_source

        src, ds = load_source(None, progress=not quiet)
        net, shape, label = src.model, ds.spec.shape, src.name
    elif name.endswith((".pt", ".pth", ".ckpt")) or Path(name).is_file():
        from tinykit.checkpoint import load_checkpoint  # no data needed: it knows its input

        if weights:
            raise TinykitError("--weights goes with an architecture name, not a checkpoint file")
        ckpt = load_checkpoint(name, trust_pickle=trust_pickle)
        net, shape, label = ckpt.build(), ckpt.spec.shape, Path(name).stem
    else:
        from tinykit.checkpoint import load_state_dict_file
        from tinykit.models import build_model

        try:
            chw = [int(v) for v in (input_shape or "3,224,224").split(",")]
        except ValueError as e:
            raise TinykitError(f"--input-shape must be C,H,W integers, got {input_shape!r}") from e
        if len(chw) != 3 or min(chw) < 1:
            raise TinykitError(f"--input-shape must be three positive integers C,H,W, got {chw}")
        net = build_model(name, num_classes=num_classes or 1000, in_channels=chw[0])
        if weights:
            sd = load_state_dict_file(weights, trust_pickle=trust_pickle)
            try:
                net.load_state_dict(sd, strict=True)
            except RuntimeError as e:
                lines = [ln.strip() for ln in str(e).splitlines() if ln.strip()]
                raise TinykitError(
                    f"{weights} does not fit {name} with {num_classes or 1000} classes "
                    f"(pass --num-classes?): {lines[1] if len(lines) > 1 else lines[0]}"
                ) from e
        shape, label = (1, *chw), name
    net.eval()
    macs = count_macs(net, torch.zeros(shape))
    rows = []
    for lname, m in prunable_layers(net).items():
        w = m.weight
        n, nz = w.numel(), int((w != 0).sum())
        params = sum(p.numel() for p in m.parameters(recurse=False))
        rows.append(
            {
                "layer": lname,
                "type": type(m).__name__,
                "shape": list(w.shape),
                "params": params,
                "nonzero": nz + (params - n),
                "macs": macs.per_layer.get(lname, 0),
                "sparsity": 1 - nz / n,
            }
        )
    total = sum(p.numel() for p in net.parameters())
    result = {
        "model": label,
        "input_shape": list(shape),
        "params": total,
        "nonzero_params": sum(int((p != 0).sum()) for p in net.parameters()),
        "macs": macs.macs,
        "effective_macs": macs.effective_macs,
        "layers": rows,
    }
    out_dir = check_out_dir(out) if out else new_run_dir("tinykit-out", "inspect")
    with staged_dir(out_dir) as tmp:
        write_json(tmp / "inspect.json", result)
        weight_histograms(
            layer_weights(net),
            None,
            tmp / "weights.png",
            title=f"{label}: weight distribution per layer",
        )
    if as_json:
        click.echo(json.dumps(result, indent=2))
        return
    # params and nonzero count the bias too; sparsity is the weights' (what pruning zeroes)
    header = ["layer", "type", "weight shape", "params", "nonzero", "MACs", "weight sparsity"]
    table = [
        [
            r["layer"],
            r["type"],
            "x".join(map(str, r["shape"])),
            f"{r['params']:,}",
            f"{r['nonzero']:,}",
            f"{r['macs']:,}",
            f"{100 * r['sparsity']:.1f}%",
        ]
        for r in rows
    ]
    click.echo(format_table(header, table))
    click.echo(
        f"total: {total:,} params, {result['nonzero_params']:,} nonzero, {macs.macs:,} MACs "
        f"({macs.effective_macs:,} effective); histograms: {out_dir / 'weights.png'}"
    )

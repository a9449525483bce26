"""The prune link: fine-grained (masks held through fine-tuning) or channel pruning."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tinykit.errors import TinykitError


def validate_tables(model, recipe) -> None:
    """Check per-layer tables against the model before any work is done."""
    if recipe.prune == "fine" and isinstance(recipe.sparsity, dict):
        from tinykit.prune.fine import resolve_sparsities

        resolve_sparsities(model, recipe.sparsity)
    if recipe.prune == "channel" and isinstance(recipe.ratio, dict):
        names = dict(model.named_modules())
        for name in recipe.ratio:
            if name not in names:
                raise TinykitError(f"no layer named '{name}' in the model (per-layer ratios)")


def auto_sparsity(model, data, recipe, out: Path, *, progress: bool, log) -> dict[str, float]:
    """Per-layer sparsities from a validation-split sensitivity scan (saved with plots)."""
    from tinykit.fileio import write_json
    from tinykit.plots import param_bars, sensitivity_curves
    from tinykit.prune.sensitivity import choose_sparsities, overall_sparsity, scan_sensitivity

    step = 100 / len(data.val)  # accuracy points one validation image is worth
    if recipe.max_drop is not None and step > recipe.max_drop:
        import sys

        print(
            f"tinykit: warning: one of the {len(data.val)} validation images is worth "
            f"{step:.2f} points, more than --max-drop {recipe.max_drop:g}: a layer passes only "
            "with no error more, so the budget resolves nothing finer (more data, or a larger "
            "--max-drop)",
            file=sys.stderr,
        )
    scan = scan_sensitivity(
        model, data.inputs("val"), data.val.y, sparsities=recipe.scan_grid, progress=progress
    )
    chosen = choose_sparsities(scan, max_drop=recipe.max_drop, target=recipe.target_sparsity)
    write_json(out / "sensitivity.json", {**scan.to_dict(), "chosen": chosen})
    sensitivity_curves(scan, out / "sensitivity.png", chosen=chosen)
    param_bars(scan.params, out / "params.png")
    log(
        f"  auto sparsity: {100 * overall_sparsity(chosen, scan.params):.1f}% overall "
        f"({', '.join(f'{n} {s:.2f}' for n, s in chosen.items())})"
    )
    return chosen


def run_pruning(model, data, recipe, out: Path, *, progress: bool, log) -> dict[str, Any]:
    """Prune ``model`` in place and fine-tune it; returns the per-layer summary."""
    import torch

    from tinykit.prune.fine import prunable_layers
    from tinykit.train import TrainConfig, fit

    cfg = TrainConfig(epochs=recipe.finetune_epochs, lr=recipe.finetune_lr, seed=recipe.seed)
    if recipe.prune == "fine":
        from tinykit.prune.fine import prune_fine
        from tinykit.prune.sparse import layer_sparsity_table, sparse_size_bytes

        sparsity = recipe.sparsity
        if sparsity == "auto":
            sparsity = auto_sparsity(model, data, recipe, out, progress=progress, log=log)
        masks = prune_fine(model, sparsity)
        fit(
            model,
            data,
            cfg,
            after_step=masks.apply,
            desc="fine-tune (masks held)",
            progress=progress,
        )
        masks.apply()
        targets = {
            n: float(sparsity.get(n, 0.0)) if isinstance(sparsity, dict) else float(sparsity)
            for n in prunable_layers(model)
        }
        table = layer_sparsity_table(model, targets)
        return {
            "method": "fine",
            "layers": table,
            "overall_sparsity": sum(t["zeros"] for t in table) / sum(t["weights"] for t in table),
            "all_exact": all(t["exact"] for t in table),
            "sparse_size_bytes": sparse_size_bytes(model),
            **({"sensitivity": "sensitivity.json"} if recipe.sparsity == "auto" else {}),
        }
    from tinykit.prune.channel import prune_channels
    from tinykit.transforms import module_shapes

    before = module_shapes(model)
    prune_channels(
        model,
        torch.zeros(data.spec.shape),
        recipe.ratio,
        importance=recipe.importance,
        round_to=recipe.round_to,
    )
    after = module_shapes(model)
    convs = [n for n, s in before.items() if "groups" in s]
    removed = 1 - sum(after[n]["out"] for n in convs) / sum(before[n]["out"] for n in convs)
    if isinstance(recipe.ratio, float) and abs(removed - recipe.ratio) > 0.05:
        why = (
            f": torch-pruning rounds each layer's kept channels down to a multiple of "
            f"--round-to {recipe.round_to}"
            if recipe.round_to
            else ""
        )
        log(
            f"  channel pruning removed {100 * removed:.1f}% of the convolution channels for "
            f"--ratio {recipe.ratio:g}{why}"
        )
    fit(model, data, cfg, desc="fine-tune (channel-pruned)", progress=progress)
    return {"method": "channel", "removed_channel_share": removed, "layers": after}

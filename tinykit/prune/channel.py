"""Channel pruning on torch-pruning's dependency graph: a smaller dense model, not a mask.

torch-pruning keeps residual adds, depthwise/grouped convolutions and batch norm consistent;
tinykit chooses the layers, ratios and importance and records the new shapes so checkpoints
rebuild without pickle.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import nn

from tinykit.errors import MissingDependencyError, TinykitError
from tinykit.transforms import module_shapes, record_shapes

IMPORTANCE = ("l2", "l1", "fpgm", "lamp", "random", "bn_scale")


def _importance(name: str):
    import torch_pruning as tp

    table = {
        "l2": lambda: tp.importance.MagnitudeImportance(p=2),  # the lab's Frobenius norm
        "l1": lambda: tp.importance.MagnitudeImportance(p=1),
        "fpgm": lambda: tp.importance.FPGMImportance(),
        "lamp": lambda: tp.importance.LAMPImportance(),
        "random": lambda: tp.importance.RandomImportance(),
        "bn_scale": lambda: tp.importance.BNScaleImportance(),
    }
    if name not in table:
        raise TinykitError(f"unknown channel importance '{name}': use one of {', '.join(table)}")
    return table[name]()


def classifier_layers(model: nn.Module) -> list[nn.Module]:
    """Final linear layers whose outputs are the classes: never pruned."""
    linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
    return linears[-1:] if linears else []


def prune_channels(
    model: nn.Module,
    example: torch.Tensor,
    ratio: float | Mapping[str, float],
    *,
    importance: str = "l2",
    round_to: int | None = None,
    ignore: list[str] | None = None,
) -> dict[str, int]:
    """Remove output channels in place. ``ratio`` is uniform or per layer (module names).

    Returns the layers whose channel counts changed, with their new output channels.
    """
    try:
        import torch_pruning as tp
    except ImportError as e:
        raise MissingDependencyError("torch-pruning", "channel pruning") from e
    named = dict(model.named_modules())
    ratios: dict[nn.Module, float] = {}
    if isinstance(ratio, Mapping):
        for name, r in ratio.items():
            if name not in named:
                raise TinykitError(f"no layer named '{name}' in the model (per-layer ratio table)")
            if not 0.0 <= float(r) < 1.0:
                raise TinykitError(f"channel ratio of '{name}' must be in [0, 1), got {r}")
            ratios[named[name]] = float(r)
        uniform = 0.0
    else:
        uniform = float(ratio)
        if not 0.0 <= uniform < 1.0:
            raise TinykitError(f"channel ratio must be in [0, 1), got {uniform}")
    ignored = classifier_layers(model)
    for name in ignore or []:
        if name not in named:
            raise TinykitError(f"no layer named '{name}' to leave unpruned")
        ignored.append(named[name])
    if round_to is not None and round_to < 1:
        raise TinykitError(f"round_to must be a positive channel multiple, got {round_to}")
    before = module_shapes(model)
    model.eval()
    try:
        pruner = tp.pruner.MetaPruner(
            model,
            example,
            importance=_importance(importance),
            pruning_ratio=uniform,
            pruning_ratio_dict=ratios or None,
            ignored_layers=ignored,
            round_to=round_to,
        )
        pruner.step()
    except (RuntimeError, TypeError, ValueError, AttributeError, KeyError) as e:
        raise TinykitError(
            f"torch-pruning cannot trace {type(model).__name__}: {str(e).splitlines()[0]}"
        ) from e
    record_shapes(model, before)
    after = module_shapes(model)
    return {
        n: s["out"]
        for n, s in after.items()
        if "out" in s and before.get(n, {}).get("out") != s["out"]
    }

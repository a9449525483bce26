"""Per-layer pruning sensitivity, and per-layer sparsities chosen from it.

Each layer is pruned alone, in place, at each sparsity of a grid and restored after; accuracy
is measured on the validation split (never the test split, which must stay unseen by every
choice tinykit makes).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn

from tinykit.errors import TinykitError
from tinykit.prune.fine import magnitude_mask, prunable_layers

DEFAULT_GRID = tuple(round(0.1 * i, 2) for i in range(10))  # 0.0 .. 0.9


@dataclass
class SensitivityScan:
    """Validation accuracy of the model with one layer pruned at each sparsity."""

    sparsities: list[float]
    base_accuracy: float
    accuracy: dict[str, list[float]]  # layer -> accuracy per sparsity
    params: dict[str, int] = field(default_factory=dict)  # weights per layer

    def to_dict(self) -> dict[str, Any]:
        return {
            "split": "val",
            "sparsities": self.sparsities,
            "base_accuracy": self.base_accuracy,
            "accuracy": self.accuracy,
            "params": self.params,
        }


def _accuracy(logits: torch.Tensor, y: torch.Tensor) -> float:
    return int((logits.argmax(1) == y).sum()) / len(y)


class _Downstream:
    """Re-runs only what depends on one layer: every other activation of the unpruned model
    is computed once and reused (the prefix of the network does not change when a later layer
    is pruned). Falls back to a plain forward for models torch.fx cannot trace."""

    MAX_CACHE_BYTES = 2 << 30

    def __init__(self, model: nn.Module, x: torch.Tensor):
        import torch.fx as fx

        self.model, self.x = model, x
        self.gm = None
        try:
            gm = fx.symbolic_trace(model)  # shares the model's modules and weights
        except Exception:  # noqa: BLE001 - any tracing failure means: use plain forwards
            return
        cache: dict = {}

        class Recorder(fx.Interpreter):
            def run_node(self, node):
                cache[node] = out = super().run_node(node)
                return out

        with torch.no_grad():
            self.out = Recorder(gm).run(x)
        size = sum(
            v.numel() * v.element_size() for v in cache.values() if isinstance(v, torch.Tensor)
        )
        if size <= self.MAX_CACHE_BYTES:
            self.gm, self.cache = gm, cache

    def logits(self, layer: str) -> torch.Tensor:
        if self.gm is None:
            return torch.cat([self.model(self.x[i : i + 512]) for i in range(0, len(self.x), 512)])
        import torch.fx as fx

        dirty = {n for n in self.gm.graph.nodes if n.op == "call_module" and n.target == layer}
        for n in self.gm.graph.nodes:  # topological order: users come after their inputs
            if any(a in dirty for a in n.all_input_nodes):
                dirty.add(n)
        cache = self.cache

        class Partial(fx.Interpreter):
            def run_node(self, node):
                return super().run_node(node) if node in dirty else cache[node]

        return Partial(self.gm).run(self.x)


def scan_sensitivity(
    model: nn.Module,
    x_val: np.ndarray,
    y_val: np.ndarray,
    *,
    sparsities: tuple[float, ...] | list[float] = DEFAULT_GRID,
    progress: bool = True,
) -> SensitivityScan:
    """Prune each layer alone at each sparsity (in place, then restored) and measure accuracy."""
    from tinykit.progress import progress_bar

    grid = [float(s) for s in sparsities]
    for s in grid:
        if not 0.0 <= s < 1.0:
            raise TinykitError(f"sparsity {s} in the scan grid is outside [0, 1)")
    if len(y_val) == 0:
        raise TinykitError("the validation split is empty: sensitivity needs held-out data")
    model.eval()
    x = torch.from_numpy(np.ascontiguousarray(x_val))
    if x.dim() == 4:  # channels-last convolutions run about twice as fast on CPU
        model.to(memory_format=torch.channels_last)
        x = x.to(memory_format=torch.channels_last)
    y = torch.from_numpy(np.asarray(y_val))
    runner = _Downstream(model, x)
    with torch.no_grad():
        base = _accuracy(runner.logits(""), y)
    layers = prunable_layers(model)
    acc: dict[str, list[float]] = {}
    points = [(name, s) for name in layers for s in grid]
    bar = progress_bar(points, desc="sensitivity scan (val split)", enabled=progress)
    saved_name, saved = None, None
    for name, s in bar:
        w = layers[name].weight
        if name != saved_name:
            saved_name, saved = name, w.detach().clone()
        with torch.no_grad():
            if s > 0:
                w.mul_(magnitude_mask(saved, s))
            acc.setdefault(name, []).append(base if s == 0 else _accuracy(runner.logits(name), y))
            w.copy_(saved)  # restore: no deep copy of the model per point
    model.to(memory_format=torch.contiguous_format)
    return SensitivityScan(grid, base, acc, {n: m.weight.numel() for n, m in layers.items()})


def choose_sparsities(
    scan: SensitivityScan, *, max_drop: float | None = None, target: float | None = None
) -> dict[str, float]:
    """Per-layer sparsities from a scan.

    ``max_drop`` (accuracy points): for each layer the largest scanned sparsity whose
    validation accuracy stays within the budget of the unpruned accuracy (and every smaller
    scanned sparsity too, so a lucky dip is not chosen). ``target`` (overall weight sparsity):
    the smallest budget whose choice reaches the target.
    """
    if (max_drop is None) == (target is None):
        raise TinykitError(
            "choose per-layer sparsities with either --max-drop or --target-sparsity"
        )

    def pick(budget: float) -> dict[str, float]:
        chosen = {}
        for name, accs in scan.accuracy.items():
            best = 0.0
            for s, a in zip(scan.sparsities, accs, strict=True):
                if 100 * (scan.base_accuracy - a) > budget + 1e-9:
                    break
                best = s
            chosen[name] = best
        return chosen

    if max_drop is not None:
        if max_drop < 0:
            raise TinykitError(f"--max-drop must be >= 0 accuracy points, got {max_drop}")
        return pick(max_drop)
    if not 0.0 <= target < 1.0:
        raise TinykitError(f"--target-sparsity must be in [0, 1), got {target}")
    total = sum(scan.params.values())
    drops = sorted(
        {max(0.0, 100 * (scan.base_accuracy - a)) for v in scan.accuracy.values() for a in v}
    )
    for budget in drops:
        chosen = pick(budget)
        if sum(chosen[n] * scan.params[n] for n in chosen) / total >= target - 1e-9:
            return chosen
    raise TinykitError(
        f"--target-sparsity {target} is out of reach of the scanned grid (max "
        f"{max(scan.sparsities)} per layer): lower it or extend the grid"
    )


def overall_sparsity(chosen: dict[str, float], params: dict[str, int]) -> float:
    total = sum(params[n] for n in chosen)
    return sum(chosen[n] * params[n] for n in chosen) / total if total else 0.0

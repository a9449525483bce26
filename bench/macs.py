"""Multiply-accumulates of one batch-1 inference, counted at the operator level.

torch's FlopCounterMode sees every aten convolution and matrix product, whether it comes from
a module or a functional call in ``forward``; MACs are its FLOPs / 2. ``effective_macs`` scales
each layer's MACs by the share of its weights that are nonzero (every weight takes part in the
same number of multiply-accumulates, so this is exact for fine-grained sparsity).
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class MacCount:
    macs: int
    effective_macs: int
    per_layer: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {"macs": self.macs, "effective_macs": self.effective_macs}


def count_macs(model, example) -> MacCount:
    """Dense and effective MACs of ``model`` on ``example`` (a batch-1 tensor)."""
    import torch
    from torch import nn
    from torch.utils.flop_counter import FlopCounterMode

    model.eval()
    with torch.no_grad(), FlopCounterMode(display=False) as fc:
        model(example)
    total = fc.get_total_flops() // 2
    counts = fc.get_flop_counts()
    root = type(model).__name__
    per_layer: dict[str, int] = {}
    saved = 0.0
    for name, m in model.named_modules():
        if not isinstance(m, (nn.Conv2d, nn.Linear)) or not name:
            continue
        layer = sum(counts.get(f"{root}.{name}", {}).values()) // 2
        per_layer[name] = layer
        w = m.weight
        density = float((w != 0).sum()) / w.numel()
        saved += layer * (1.0 - density)
    return MacCount(macs=int(total), effective_macs=int(round(total - saved)), per_layer=per_layer)


@dataclass
class StageMacs:
    """MACs of each stage, of each exit head, and the cost of leaving at each exit."""

    stage_macs: list[int]
    exit_macs: list[int]
    cumulative: list[int]  # cumulative[i]: stages 0..i plus exit i, i.e. inference ending there

    def to_dict(self) -> dict:
        return {
            "stage_macs": self.stage_macs,
            "exit_macs": self.exit_macs,
            "cumulative_macs": self.cumulative,
        }


def count_stage_macs(stages, example, exits=None) -> StageMacs:
    """MACs per early-exit stage.

    Args:
        stages: modules run one after the other, each on the previous one's output.
        example: batch-1 input of the first stage.
        exits: optional exit heads, ``exits[i]`` taking stage i's output (None: no exit there).

    Returns:
        StageMacs; with exits, ``cumulative[i]`` is what an input that leaves at exit i costs.
    """
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    def macs_of(module, x):
        module.eval()
        with torch.no_grad(), FlopCounterMode(display=False) as fc:
            y = module(x)
        return fc.get_total_flops() // 2, y

    exits = list(exits) if exits is not None else [None] * len(stages)
    if len(exits) != len(stages):
        raise ValueError(f"{len(stages)} stages but {len(exits)} exits")
    stage_macs, exit_macs, cumulative = [], [], []
    x, running = example, 0
    for stage, head in zip(stages, exits, strict=True):
        m, x = macs_of(stage, x)
        running += m
        e = macs_of(head, x)[0] if head is not None else 0
        stage_macs.append(int(m))
        exit_macs.append(int(e))
        cumulative.append(int(running + e))
    return StageMacs(stage_macs, exit_macs, cumulative)


def param_counts(model) -> tuple[int, int]:
    """(params, nonzero params) over all parameters."""
    total = sum(p.numel() for p in model.parameters())
    nonzero = sum(int((p != 0).sum()) for p in model.parameters())
    return int(total), int(nonzero)

"""MACs an input spends up to each exit: the backbone segments it ran plus every head it
passed (a head that was not confident still cost its MACs)."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from tinykit.earlyexit.heads import EarlyExitModel


@dataclass
class ExitMacs:
    segments: list[int]  # dense MACs of each backbone segment (the last ends at the logits)
    heads: list[int]  # dense MACs of each head
    cumulative: list[int]  # per exit, final included
    effective_cumulative: list[int]  # the same, skipping zero weights (pruning)
    full: int  # the backbone alone: what the network without exits costs

    def to_dict(self) -> dict:
        return {
            "segments": self.segments,
            "heads": self.heads,
            "cumulative": self.cumulative,
            "effective_cumulative": self.effective_cumulative,
            "full": self.full,
        }


def exit_macs(model: EarlyExitModel, example: torch.Tensor) -> ExitMacs:
    """Count each segment and head with :func:`tinykit.bench.macs.count_macs` (batch 1)."""
    from tinykit.bench.macs import count_macs
    from tinykit.earlyexit.blocks import split_backbone

    segments = split_backbone(model.backbone, model.exits)
    seg, seg_eff, head, head_eff = [], [], [], []
    x = example
    with torch.no_grad():
        for k, s in enumerate(segments):
            c = count_macs(s, x)
            seg.append(c.macs)
            seg_eff.append(c.effective_macs)
            x = s(x)
            if k < len(model.heads):
                h = count_macs(model.heads[k], x)
                head.append(h.macs)
                head_eff.append(h.effective_macs)
    cum, cum_eff = [], []
    run, run_eff = 0, 0
    for k in range(len(segments)):
        run += seg[k] + (head[k] if k < len(head) else 0)
        run_eff += seg_eff[k] + (head_eff[k] if k < len(head_eff) else 0)
        cum.append(run)
        cum_eff.append(run_eff)
    full = count_macs(model.backbone, example).macs
    return ExitMacs(
        segments=seg, heads=head, cumulative=cum, effective_cumulative=cum_eff, full=full
    )

"""Pruning: ``prune(model, PruneConfig(...), example=...)`` with methods from a registry."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from tinykit.errors import TinykitError

METHODS: dict[str, Callable[..., Any]] = {}


def register(name: str):
    def deco(fn):
        METHODS[name] = fn
        return fn

    return deco


@dataclass
class PruneConfig:
    """``method`` "fine" (magnitude, ``sparsity`` per layer or for all) or "channel"
    (torch-pruning, ``ratio`` of output channels, ``importance``, ``round_to``)."""

    method: str = "fine"
    sparsity: float | Mapping[str, float] = 0.5
    ratio: float | Mapping[str, float] = 0.3
    importance: str = "l2"
    round_to: int | None = None

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise TinykitError(
                f"unknown prune method '{self.method}': use one of {', '.join(sorted(METHODS))}"
            )


@register("fine")
def _fine(model, cfg: PruneConfig, example=None):
    from tinykit.prune.fine import prune_fine

    return prune_fine(model, cfg.sparsity)


@register("channel")
def _channel(model, cfg: PruneConfig, example=None):
    from tinykit.prune.channel import prune_channels

    if example is None:
        raise TinykitError("channel pruning needs an example input (example=...) to trace")
    return prune_channels(
        model, example, cfg.ratio, importance=cfg.importance, round_to=cfg.round_to
    )


def prune(model, config: PruneConfig | None = None, *, example=None):
    """Prune ``model`` in place. Returns the masks to hold while fine-tuning (fine) or the
    layers whose channel counts changed (channel)."""
    cfg = config or PruneConfig()
    return METHODS[cfg.method](model, cfg, example=example)

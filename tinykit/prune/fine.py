"""Fine-grained (unstructured) magnitude pruning with masks held through fine-tuning."""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import nn

from tinykit.errors import TinykitError


def prunable_layers(model: nn.Module) -> dict[str, nn.Module]:
    """Convolutions and linear layers, by module name: the weights pruning acts on."""
    return {n: m for n, m in model.named_modules() if isinstance(m, (nn.Conv2d, nn.Linear))}


def resolve_sparsities(model: nn.Module, sparsity: float | Mapping[str, float]) -> dict[str, float]:
    """One sparsity for every prunable layer, or a per-layer table (layers not named: 0)."""
    layers = prunable_layers(model)
    if isinstance(sparsity, Mapping):
        unknown = [k for k in sparsity if k not in layers]
        if unknown:
            raise TinykitError(
                f"no prunable layer named '{unknown[0]}'; layers are: {', '.join(layers)}"
            )
        table = {name: float(sparsity.get(name, 0.0)) for name in layers}
    else:
        table = dict.fromkeys(layers, float(sparsity))
    for name, s in table.items():
        if not 0.0 <= s < 1.0:
            raise TinykitError(f"sparsity of '{name}' must be in [0, 1), got {s}")
    return table


@torch.no_grad()
def magnitude_mask(weight: torch.Tensor, sparsity: float) -> torch.Tensor:
    """Keep-mask that zeroes exactly round(sparsity * numel) smallest-magnitude weights."""
    n = weight.numel()
    k = int(round(sparsity * n))
    mask = torch.ones(n, dtype=torch.bool)
    if k > 0:
        order = torch.argsort(weight.detach().abs().flatten(), stable=True)
        mask[order[:k]] = False
    return mask.view_as(weight)


class Masks:
    """Per-layer keep-masks; :meth:`apply` re-imposes them (call after every optimizer step)."""

    def __init__(self, model: nn.Module, masks: dict[str, torch.Tensor]):
        self.masks = masks
        self._params = {name: model.get_submodule(name).weight for name in masks}

    @torch.no_grad()
    def apply(self, model: nn.Module | None = None) -> None:
        for name, mask in self.masks.items():
            self._params[name].mul_(mask)

    def sparsity(self) -> dict[str, float]:
        return {n: 1.0 - m.float().mean().item() for n, m in self.masks.items()}


def prune_fine(model: nn.Module, sparsity: float | Mapping[str, float]) -> Masks:
    """Zero the smallest-magnitude weights of each layer in place; return the masks to hold."""
    table = resolve_sparsities(model, sparsity)
    layers = prunable_layers(model)
    masks = {name: magnitude_mask(layers[name].weight, s) for name, s in table.items() if s > 0}
    m = Masks(model, masks)
    m.apply()
    return m

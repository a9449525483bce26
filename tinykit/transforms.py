"""Structural changes to a model, recorded so a checkpoint can replay them without pickle.

Two kinds: batch norm folded into the convolution before it (done before quantization, as
every deployment runtime does), and new layer shapes after channel pruning.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from tinykit.errors import TinykitError

_ATTR = "_tinykit_transforms"


def get_transforms(model: nn.Module) -> list[dict[str, Any]]:
    return list(getattr(model, _ATTR, []))


def _record(model: nn.Module, entry: dict[str, Any]) -> None:
    object.__setattr__(model, _ATTR, [*get_transforms(model), entry])


def _set_module(model: nn.Module, name: str, new: nn.Module) -> None:
    parent_name, _, attr = name.rpartition(".")
    parent = model.get_submodule(parent_name) if parent_name else model
    setattr(parent, attr, new)


def conv_bn_pairs(model: nn.Module) -> list[tuple[str, str]]:
    """(conv, bn) module names where the batch norm reads only that convolution's output."""
    import torch.fx

    try:
        gm = torch.fx.symbolic_trace(model)
    except Exception as e:  # fx raises many types for untraceable Python
        raise TinykitError(
            f"cannot trace {type(model).__name__} to find conv/batch-norm pairs "
            f"({type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''})"
        ) from e
    mods = dict(gm.named_modules())
    pairs = []
    for node in gm.graph.nodes:
        if node.op != "call_module" or not isinstance(mods.get(node.target), nn.BatchNorm2d):
            continue
        src = node.args[0]
        if (
            isinstance(src, torch.fx.Node)
            and src.op == "call_module"
            and isinstance(mods.get(src.target), nn.Conv2d)
            and len(src.users) == 1
        ):
            pairs.append((str(src.target), str(node.target)))
    return pairs


def _fold_pair(model: nn.Module, conv_name: str, bn_name: str) -> None:
    conv: nn.Conv2d = model.get_submodule(conv_name)
    if bn_name:
        bn: nn.BatchNorm2d = model.get_submodule(bn_name)
        with torch.no_grad():
            std = torch.sqrt(bn.running_var + bn.eps)
            gamma = bn.weight if bn.affine else torch.ones_like(std)
            beta = bn.bias if bn.affine else torch.zeros_like(std)
            factor = gamma / std
            bias = conv.bias if conv.bias is not None else torch.zeros_like(std)
            new_w = conv.weight * factor.view(-1, 1, 1, 1)
            new_b = (bias - bn.running_mean) * factor + beta
    if conv.bias is None:
        conv.bias = nn.Parameter(torch.zeros(conv.out_channels, dtype=conv.weight.dtype))
    if bn_name:
        with torch.no_grad():
            conv.weight.copy_(new_w)
            conv.bias.copy_(new_b)
        _set_module(model, bn_name, nn.Identity())


def fold_batchnorm(model: nn.Module) -> list[tuple[str, str]]:
    """Fold every BatchNorm2d into the convolution that feeds it, in place (eval semantics).

    Returns the folded pairs. Zeros in a pruned weight stay exactly zero (they are scaled).
    """
    pairs = conv_bn_pairs(model)
    for conv_name, bn_name in pairs:
        _fold_pair(model, conv_name, bn_name)
    if pairs:
        _record(model, {"kind": "fold_bn", "pairs": [list(p) for p in pairs]})
    return pairs


def module_shapes(model: nn.Module) -> dict[str, dict[str, int]]:
    """Shape-defining attributes of every conv, linear and batch-norm layer."""
    out: dict[str, dict[str, int]] = {}
    for name, m in model.named_modules():
        if isinstance(m, nn.Conv2d):
            out[name] = {"in": m.in_channels, "out": m.out_channels, "groups": m.groups}
        elif isinstance(m, nn.Linear):
            out[name] = {"in": m.in_features, "out": m.out_features}
        elif isinstance(m, nn.BatchNorm2d):
            out[name] = {"features": m.num_features}
    return out


def record_shapes(model: nn.Module, before: dict[str, dict[str, int]]) -> None:
    """Record the layers whose shapes changed since ``before`` (after channel pruning)."""
    now = module_shapes(model)
    changed = {k: v for k, v in now.items() if before.get(k) != v}
    if changed:
        _record(model, {"kind": "shapes", "modules": changed})


def _reshape(model: nn.Module, name: str, s: dict[str, int]) -> None:
    m = model.get_submodule(name)
    if isinstance(m, nn.Conv2d):
        m.in_channels, m.out_channels, m.groups = s["in"], s["out"], s["groups"]
        m.weight = nn.Parameter(torch.empty(s["out"], s["in"] // s["groups"], *m.kernel_size))
        if m.bias is not None:
            m.bias = nn.Parameter(torch.empty(s["out"]))
    elif isinstance(m, nn.Linear):
        m.in_features, m.out_features = s["in"], s["out"]
        m.weight = nn.Parameter(torch.empty(s["out"], s["in"]))
        if m.bias is not None:
            m.bias = nn.Parameter(torch.empty(s["out"]))
    elif isinstance(m, nn.BatchNorm2d):
        n = s["features"]
        m.num_features = n
        if m.affine:
            m.weight, m.bias = nn.Parameter(torch.empty(n)), nn.Parameter(torch.empty(n))
        m.running_mean, m.running_var = torch.zeros(n), torch.ones(n)
    else:
        raise TinykitError(f"checkpoint reshapes '{name}', a {type(m).__name__}: not supported")


def apply_transforms(model: nn.Module, transforms: list[dict[str, Any]]) -> None:
    """Replay recorded transforms on a freshly built model (weights come after, from the file)."""
    for t in transforms:
        if t["kind"] == "shapes":
            for name, s in t["modules"].items():
                _reshape(model, name, s)
        elif t["kind"] == "fold_bn":
            for conv_name, bn_name in t["pairs"]:
                conv = model.get_submodule(conv_name)
                if conv.bias is None:
                    conv.bias = nn.Parameter(torch.zeros(conv.out_channels))
                _set_module(model, bn_name, nn.Identity())
        else:
            raise TinykitError(f"unknown checkpoint transform '{t['kind']}': upgrade tinykit")
        _record(model, t)

"""Model builders: tinykit's own architectures and torchvision's, by name."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tinykit.errors import TinykitError

_BUILDERS: dict[str, Callable[..., Any]] = {}


def register(name: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    def deco(fn: Callable[..., Any]) -> Callable[..., Any]:
        _BUILDERS[name] = fn
        return fn

    return deco


@register("resnet8")
def _resnet8(num_classes: int, in_channels: int, **kw: Any):
    from tinykit.models.resnet8 import ResNet8

    return ResNet8(in_channels=in_channels, num_classes=num_classes, **kw)


@register("cifar_resnet18")
def _cifar_resnet18(num_classes: int, in_channels: int, **kw: Any):
    """torchvision ResNet-18 with the CIFAR stem (3x3 stride-1 conv, no max-pool) for 32x32."""
    import torchvision
    from torch import nn

    m = torchvision.models.resnet18(num_classes=num_classes, **kw)
    m.conv1 = nn.Conv2d(in_channels, 64, 3, 1, 1, bias=False)
    m.maxpool = nn.Identity()
    return m


def torchvision_names() -> list[str]:
    import torchvision

    return sorted(torchvision.models.list_models(module=torchvision.models))


def known_archs() -> list[str]:
    return sorted(_BUILDERS)


def build_model(arch: str, *, num_classes: int, in_channels: int = 3, **kw: Any):
    """Build an untrained model: a tinykit architecture or a torchvision classification model."""
    if arch in _BUILDERS:
        return _BUILDERS[arch](num_classes=num_classes, in_channels=in_channels, **kw)
    import torchvision

    if arch not in torchvision_names():
        raise TinykitError(
            f"unknown architecture '{arch}': use one of {', '.join(known_archs())} or a "
            "torchvision classification model name (resnet18, mobilenet_v2, ...)"
        )
    if in_channels != 3:
        raise TinykitError(
            f"torchvision's {arch} takes 3-channel images but the data has {in_channels}: "
            "convert the images to RGB"
        )
    return torchvision.models.get_model(arch, weights=None, num_classes=num_classes, **kw)

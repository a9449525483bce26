"""Quantization: ``quantize(model, QuantConfig(...), data=...)`` with methods from a registry."""

from __future__ import annotations

from collections.abc import Callable
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
class QuantConfig:
    """``method`` "kmeans" (``bits`` 1-8, ``per_channel`` codebooks) or "linear" (int8
    activations, ``bits`` 2-8 weights, ``calibration`` minmax/percentile/mse)."""

    method: str = "kmeans"
    bits: int = 4
    per_channel: bool = False
    calibration: str = "minmax"
    calibration_samples: int = 512

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise TinykitError(
                f"unknown quantization method '{self.method}': use one of "
                f"{', '.join(sorted(METHODS))}"
            )
        lo = 1 if self.method == "kmeans" else 2
        if not lo <= self.bits <= 8:
            raise TinykitError(f"{self.method} quantization needs bits {lo}-8, got {self.bits}")


@register("kmeans")
def _kmeans(model, cfg: QuantConfig, data=None):
    from tinykit.quant.kmeans import quantize_kmeans

    return quantize_kmeans(model, cfg.bits, per_channel=cfg.per_channel)


@register("linear")
def _linear(model, cfg: QuantConfig, data=None):
    from tinykit.quant.linear import quantize_linear

    if data is None:
        raise TinykitError("linear quantization needs data to calibrate on (data=...)")
    return quantize_linear(
        model, data, bits=cfg.bits, calibration=cfg.calibration, samples=cfg.calibration_samples
    )


def quantize(model, config: QuantConfig | None = None, *, data=None):
    """Quantize ``model``: k-means returns the per-layer codebooks (weights replaced in place);
    linear returns a LinearQuantized (the QGraph and a fake-quant PyTorch module)."""
    cfg = config or QuantConfig()
    return METHODS[cfg.method](model, cfg, data=data)

"""The environment a report's figures were measured in."""

from __future__ import annotations

import os
import platform
from importlib import metadata


def cpu_model() -> str:
    from tinykit.bench.runner import cpu_info

    return cpu_info()["cpu"]


def cpu_flags() -> list[str]:
    """The instruction-set features that decide int8 speed (AVX2, AVX-512 VNNI, AMX; dot
    product and i8mm on Arm)."""
    from tinykit.bench.runner import cpu_info

    return cpu_info()["cpu_flags"]


def versions(
    packages=(
        "tinykit",
        "torch",
        "onnxruntime",
        "ai-edge-litert",
        "litert-torch",
        "torch-pruning",
        "onnx",
        "numpy",
    ),
) -> dict[str, str]:
    out = {}
    for p in packages:
        try:
            out[p] = metadata.version(p)
        except metadata.PackageNotFoundError:
            out[p] = "not installed"
    return out


def environment() -> dict:
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpu": cpu_model(),
        "cpu_count": os.cpu_count(),
        "cpu_flags": cpu_flags(),
        "versions": versions(),
    }

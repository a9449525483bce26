"""tinykit: take a trained PyTorch model to an edge device, with honest figures.

The public verbs are imported lazily so that ``import tinykit`` (and ``tinykit --help``)
never pays for torch.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

# The other verbs live beside their configs: tinykit.prune.prune(model, PruneConfig(...)),
# tinykit.quant.quantize(model, QuantConfig(...), data=...), tinykit.bench.latency.bench(path)
# (a top-level alias would be shadowed by the subpackage of the same name once imported).
_LAZY = {
    "compress": "tinykit.pipeline",
    "export": "tinykit.exporters",
    "Recipe": "tinykit.recipe",
    "InputSpec": "tinykit.spec",
    "TinykitError": "tinykit.errors",
}

__all__ = ["__version__", *_LAZY]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'tinykit' has no attribute {name!r}")

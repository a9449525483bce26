"""Figures of a PyTorch stage, measured the same way for every stage."""

from __future__ import annotations

import gzip
from pathlib import Path
from typing import Any

import numpy as np


def gzip_size(path: Path) -> int:
    return len(gzip.compress(Path(path).read_bytes(), compresslevel=9))


def model_metrics(model, data, x_test: np.ndarray, *, eval_model=None) -> dict[str, Any]:
    """Accuracy on the test split (of ``eval_model`` when the structure and the computation
    differ, as for a fake-quant int8 module), params, nonzero params, dense/effective MACs."""
    import torch

    from tinykit.bench.macs import count_macs, param_counts
    from tinykit.train import predict

    pred = predict(eval_model if eval_model is not None else model, x_test)
    params, nonzero = param_counts(model)
    macs = count_macs(model, torch.zeros(data.spec.shape))
    return {
        "accuracy": float((pred == data.test.y).mean()),
        "params": params,
        "nonzero_params": nonzero,
        **macs.to_dict(),
        "_pred": pred,
    }


def public(m: dict) -> dict:
    """A metrics dict without its private (underscore) working values."""
    return {k: v for k, v in m.items() if not k.startswith("_")}

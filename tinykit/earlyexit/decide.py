"""The exit rule, defined once: leave at the first head whose confidence reaches its threshold.

Confidence is the largest softmax probability, computed in float64 from the head's logits
(float32 softmax saturates at 1.0 for confident heads; float64 keeps them apart). The
standalone staged runner carries a copy of these few lines (it imports nothing from tinykit);
a test checks that both decide alike.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from tinykit.errors import TinykitError

CONFIDENCE_RULE = {
    "confidence": "max_softmax",
    "dtype": "float64",
    "exit_if": "confidence >= threshold",
    "formula": "1 / sum(exp(logits - max(logits)))",
    "final_exit": "always",
}


def confidence(logits: np.ndarray) -> np.ndarray:
    """Max softmax probability of each row of ``logits`` (N, classes), in float64."""
    z = np.asarray(logits, dtype=np.float64)
    z = z - z.max(axis=-1, keepdims=True)
    return 1.0 / np.exp(z).sum(axis=-1)


def check_thresholds(thresholds: Sequence[float], heads: int) -> list[float]:
    """One threshold per head, each in (0, 1]."""
    t = [float(v) for v in thresholds]
    if len(t) != heads:
        raise TinykitError(f"{len(t)} thresholds given for {heads} exit heads: give one per head")
    for i, v in enumerate(t):
        if not 0.0 < v <= 1.0:
            raise TinykitError(f"threshold {v:g} of exit {i} is outside (0, 1]")
    return t


def exit_index(conf: np.ndarray, thresholds: Sequence[float]) -> np.ndarray:
    """First head (0..H-1) whose confidence reaches its threshold, else H (the final exit).

    ``conf`` is (H, N): each head's confidence on each input.
    """
    conf = np.asarray(conf)
    h, n = conf.shape
    t = np.asarray(thresholds, dtype=np.float64).reshape(h, 1)
    ok = conf >= t
    first = np.where(ok.any(axis=0), ok.argmax(axis=0), h)
    return first.astype(np.int64) if n else np.zeros(0, dtype=np.int64)


def exit_predictions(preds: np.ndarray, exits: np.ndarray) -> np.ndarray:
    """The prediction taken at each input's exit; ``preds`` is (H+1, N) over all exits."""
    return np.asarray(preds)[exits, np.arange(len(exits))]


def average_macs(exits: np.ndarray, cumulative_macs: Sequence[int]) -> float:
    """Mean over inputs of the MACs spent up to each input's exit."""
    c = np.asarray(cumulative_macs, dtype=np.float64)
    return float(c[exits].mean()) if len(exits) else float("nan")

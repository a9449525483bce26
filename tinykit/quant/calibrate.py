"""Activation ranges for linear quantization: r = S (q - Z), int8 per tensor, asymmetric.

Observers keep the exact min/max and a bounded random sample of values; the range methods
work on that: ``minmax`` (every value representable), ``percentile`` (clip the rarest
outliers) and ``mse`` (the clipping range that minimises the quantization error).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tinykit.errors import TinykitError

METHODS = ("minmax", "percentile", "mse")
QMIN, QMAX = -128, 127  # signed int8 activations: no u8 x s8 saturation on CPUs without VNNI


@dataclass(frozen=True)
class QParams:
    """Per-tensor affine int8: real = scale * (q - zero_point)."""

    scale: float
    zero_point: int

    def quantize(self, x: np.ndarray) -> np.ndarray:
        q = np.round(np.asarray(x, dtype=np.float64) / self.scale) + self.zero_point
        return np.clip(q, QMIN, QMAX).astype(np.int8)

    def dequantize(self, q: np.ndarray) -> np.ndarray:
        return (
            (np.asarray(q, dtype=np.float32) - self.zero_point) * np.float32(self.scale)
        ).astype(np.float32)


def qparams_from_range(lo: float, hi: float) -> QParams:
    """Scale and zero point covering [lo, hi] (widened to include 0, so that 0 is exact).

    scale = (hi - lo) / 255 and zero_point = round(QMIN - lo / scale), clamped to int8.
    """
    lo, hi = min(float(lo), 0.0), max(float(hi), 0.0)
    if hi - lo < 1e-8:
        hi = lo + 1e-8
    scale = (hi - lo) / (QMAX - QMIN)
    zp = int(np.clip(round(QMIN - lo / scale), QMIN, QMAX))
    return QParams(float(np.float32(scale)), zp)


class RangeObserver:
    """Exact min/max plus a reservoir of at most ``keep`` values (seeded, deterministic)."""

    def __init__(self, keep: int = 200_000, seed: int = 0):
        self.lo, self.hi = np.inf, -np.inf
        self.keep = keep
        self.samples: list[np.ndarray] = []
        self.count = 0
        self.rng = np.random.default_rng(seed)

    def observe(self, x: np.ndarray) -> None:
        v = np.asarray(x, dtype=np.float32).ravel()
        if v.size == 0:
            return
        self.lo, self.hi = min(self.lo, float(v.min())), max(self.hi, float(v.max()))
        self.count += v.size
        per_batch = max(1, self.keep // 8)
        if v.size > per_batch:
            v = self.rng.choice(v, per_batch, replace=False)
        self.samples.append(v)
        total = sum(s.size for s in self.samples)
        if total > self.keep:  # thin the whole reservoir uniformly
            allv = np.concatenate(self.samples)
            self.samples = [self.rng.choice(allv, self.keep, replace=False)]

    def values(self) -> np.ndarray:
        return np.concatenate(self.samples) if self.samples else np.zeros(0, np.float32)

    def qparams(
        self,
        method: str,
        *,
        lo_cap: float | None = None,
        hi_cap: float | None = None,
        percentile: float = 99.99,
    ) -> QParams:
        """Quantization parameters by ``method``; caps come from fused ReLU (0) or ReLU6 (6)."""
        if self.count == 0:
            raise TinykitError("a calibration observer saw no data: the calibration set is empty")
        lo, hi = self.lo, self.hi
        if method == "percentile":
            v = self.values()
            lo = min(lo, 0.0) if lo >= 0 else float(np.percentile(v, 100 - percentile))
            hi = float(np.percentile(v, percentile))
        elif method == "mse":
            lo, hi = _mse_range(self.values(), lo, hi)
        elif method != "minmax":
            raise TinykitError(f"unknown calibration method '{method}': use {', '.join(METHODS)}")
        if lo_cap is not None:
            lo = max(lo, lo_cap)
        if hi_cap is not None:
            hi = min(hi, hi_cap)
        return qparams_from_range(lo, hi)


def _quant_error(v: np.ndarray, lo: float, hi: float) -> float:
    qp = qparams_from_range(lo, hi)
    return float(np.mean((qp.dequantize(qp.quantize(v)) - v) ** 2))


def _mse_range(v: np.ndarray, lo: float, hi: float, steps: int = 64) -> tuple[float, float]:
    """Shrink the min/max range by a common factor; keep the factor with the least MSE."""
    best = (np.inf, lo, hi)
    for f in np.linspace(1.0, 0.3, steps):
        err = _quant_error(v, lo * f, hi * f)
        if err < best[0]:
            best = (err, lo * f, hi * f)
    return best[1], best[2]

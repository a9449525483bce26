"""The one definition of input preprocessing, shared by training, verification and devices.

Standalone on purpose (standard library and numpy only): the on-device runner ships this file
next to itself, so a phone app, a Raspberry Pi and tinykit's own training see the same numbers.

Meaning (as in the bundle manifest): resize the raw image to ``resize`` with bilinear
interpolation (half-pixel centres, no antialiasing; the same as PyTorch's
``F.interpolate(mode="bilinear", align_corners=False)``), then ``x = (raw * scale - mean) / std``
per channel.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def bilinear_matrix(n_in: int, n_out: int) -> np.ndarray:
    """(n_out, n_in) matrix that resamples one axis with half-pixel bilinear interpolation."""
    m = np.zeros((n_out, n_in), dtype=np.float64)
    if n_in == n_out:
        np.fill_diagonal(m, 1.0)
        return m
    src = (np.arange(n_out) + 0.5) * (n_in / n_out) - 0.5
    src = np.maximum(src, 0.0)
    i0 = np.minimum(np.floor(src).astype(np.int64), n_in - 1)
    i1 = np.minimum(i0 + 1, n_in - 1)
    lam = src - i0
    rows = np.arange(n_out)
    np.add.at(m, (rows, i0), 1.0 - lam)
    np.add.at(m, (rows, i1), lam)
    return m


def as_nchw(raw: np.ndarray) -> np.ndarray:
    """Accept N,H,W (one channel) or N,C,H,W and return N,C,H,W float32 raw values."""
    raw = np.asarray(raw)
    if raw.ndim == 3:
        raw = raw[:, None]
    if raw.ndim != 4:
        raise ValueError(f"images must be N,H,W or N,C,H,W; got shape {raw.shape}")
    return raw.astype(np.float32, copy=False)


def preprocess(
    raw: np.ndarray,
    *,
    scale: float,
    mean: Sequence[float],
    std: Sequence[float],
    resize: Sequence[int] | None = None,
) -> np.ndarray:
    """Turn raw images (N,H,W or N,C,H,W) into the model's float32 N,C,H,W input."""
    x = as_nchw(raw)
    if resize is not None and tuple(resize) != tuple(x.shape[2:]):
        rh = bilinear_matrix(x.shape[2], int(resize[0])).astype(np.float32)
        rw = bilinear_matrix(x.shape[3], int(resize[1])).astype(np.float32)
        x = np.einsum("oh,nchw,pw->ncop", rh, x, rw, optimize=True)
    c = x.shape[1]
    mean_a = np.asarray(mean, dtype=np.float32).reshape(1, -1, 1, 1)
    std_a = np.asarray(std, dtype=np.float32).reshape(1, -1, 1, 1)
    if mean_a.shape[1] not in (1, c) or std_a.shape[1] not in (1, c):
        raise ValueError(f"mean/std have {mean_a.shape[1]} values for {c} channels")
    return ((x * np.float32(scale) - mean_a) / std_a).astype(np.float32)


def preprocess_from_manifest(raw: np.ndarray, input_section: dict) -> np.ndarray:
    """Prepare inputs using nothing but a bundle manifest's ``input`` section."""
    p = input_section["preprocess"]
    return preprocess(raw, scale=p["scale"], mean=p["mean"], std=p["std"], resize=p.get("resize"))

"""K-means weight quantization: a codebook of 2^bits centroids per layer (or per channel).

The 1-D k-means runs on a fine histogram of the weights (one O(n) pass) instead of sorting
them: Lloyd's iterations then cost O(bins), and two exact Lloyd steps on the full data remove
the binning error. Pruned zeros keep a centroid fixed at exactly 0 and stay zero.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from tinykit.errors import TinykitError

HIST_BINS = 8192


def _lloyd_weighted(points: np.ndarray, weights: np.ndarray, centroids: np.ndarray, iters: int):
    """Weighted 1-D Lloyd on sorted ``points``; ``centroids`` sorted. Returns new centroids."""
    c = centroids.copy()
    for _ in range(iters):
        bounds = (c[1:] + c[:-1]) / 2
        lab = np.searchsorted(bounds, points)
        cnt = np.bincount(lab, weights=weights, minlength=len(c))
        tot = np.bincount(lab, weights=weights * points, minlength=len(c))
        new = np.where(cnt > 0, tot / np.maximum(cnt, 1e-300), c)
        new.sort()
        if np.allclose(new, c, rtol=0, atol=1e-12 * (abs(c).max() + 1e-30)):
            c = new
            break
        c = new
    return c


def kmeans_1d(values: np.ndarray, k: int, *, iters: int = 100, exact_steps: int = 2) -> np.ndarray:
    """Sorted centroids (float64, length <= k) minimizing squared error on scalar ``values``."""
    v = np.asarray(values, dtype=np.float64).ravel()
    if v.size == 0:
        return np.zeros(0)
    uniq = np.unique(v) if v.size <= 4 * k else None
    if uniq is not None and uniq.size <= k:
        return uniq
    lo, hi = float(v.min()), float(v.max())
    if lo == hi:
        return np.array([lo])
    nb = min(HIST_BINS, max(4 * k, v.size))
    idx = np.minimum(((v - lo) * (nb / (hi - lo))).astype(np.int64), nb - 1)
    cnt = np.bincount(idx, minlength=nb).astype(np.float64)
    tot = np.bincount(idx, weights=v, minlength=nb)
    keep = cnt > 0
    pts, w = tot[keep] / cnt[keep], cnt[keep]
    # quantile initialisation from the histogram's cumulative counts
    cdf = np.cumsum(w) / w.sum()
    q = (np.arange(k) + 0.5) / k
    init = pts[np.minimum(np.searchsorted(cdf, q), len(pts) - 1)]
    init = np.unique(init)
    if init.size < k:  # spread the missing ones between extremes
        extra = np.linspace(lo, hi, k - init.size + 2)[1:-1]
        init = np.unique(np.concatenate([init, extra]))
    c = _lloyd_weighted(pts, w, init, iters)
    for _ in range(exact_steps):  # exact steps on the raw values remove the binning error
        bounds = (c[1:] + c[:-1]) / 2
        lab = np.searchsorted(bounds, v)
        n = np.bincount(lab, minlength=len(c))
        s = np.bincount(lab, weights=v, minlength=len(c))
        c = np.where(n > 0, s / np.maximum(n, 1), c)
        c.sort()
    return c


def assign(values: np.ndarray, centroids: np.ndarray) -> np.ndarray:
    """Index of the nearest (sorted) centroid for each value."""
    if len(centroids) == 1:
        return np.zeros(np.shape(values), dtype=np.int64)
    bounds = (centroids[1:] + centroids[:-1]) / 2
    return np.searchsorted(bounds, values)


@dataclass
class KMeansCodebook:
    """Indices (uint8, the weight's shape) into ``centroids`` ([k] or [out_channels, k])."""

    bits: int
    centroids: torch.Tensor
    labels: torch.Tensor
    zero_index: int | None  # the centroid pinned at 0.0 for pruned weights, if any

    @property
    def per_channel(self) -> bool:
        return self.centroids.dim() == 2

    def decode(self) -> torch.Tensor:
        lab = self.labels.long()
        if self.per_channel:
            flat = lab.view(lab.shape[0], -1)
            return torch.gather(self.centroids, 1, flat).view(lab.shape)
        return self.centroids[lab]


def _fit_codebook(
    w: np.ndarray, bits: int, keep_zero: bool
) -> tuple[np.ndarray, np.ndarray, int | None]:
    """(centroids [2^bits], labels) for one group of weights."""
    k = 2**bits
    flat = w.ravel().astype(np.float64)
    zero = flat == 0
    if keep_zero and zero.any():
        cents = kmeans_1d(flat[~zero], k - 1)
        cents = np.concatenate([[0.0], cents])
        labels = np.zeros(flat.size, dtype=np.int64)
        if len(cents) > 1:
            labels[~zero] = 1 + assign(flat[~zero], cents[1:])
        zero_index: int | None = 0
    else:
        cents = kmeans_1d(flat, k)
        labels = assign(flat, cents)
        zero_index = None
    out = np.zeros(k)
    out[: len(cents)] = cents
    return out, labels.reshape(w.shape), zero_index


def kmeans_layers(model: nn.Module) -> dict[str, nn.Module]:
    return {n: m for n, m in model.named_modules() if isinstance(m, (nn.Conv2d, nn.Linear))}


@torch.no_grad()
def quantize_kmeans(
    model: nn.Module, bits: int, *, per_channel: bool = False
) -> dict[str, KMeansCodebook]:
    """Replace each conv/linear weight by its k-means codebook values, in place.

    Exact zeros (pruned weights) get their own centroid at 0.0, so sparsity is unchanged.
    """
    if not 1 <= bits <= 8:
        raise TinykitError(f"k-means bits must be 1-8, got {bits}")
    books: dict[str, KMeansCodebook] = {}
    for name, m in kmeans_layers(model).items():
        w = m.weight.detach().cpu().numpy()
        keep_zero = bool((w == 0).any())
        if per_channel:
            rows = [_fit_codebook(w[c], bits, keep_zero) for c in range(w.shape[0])]
            cents = np.stack([r[0] for r in rows])
            labels = np.stack([r[1] for r in rows])
            zi = 0 if keep_zero else None
        else:
            cents, labels, zi = _fit_codebook(w, bits, keep_zero)
        book = KMeansCodebook(
            bits=bits,
            centroids=torch.tensor(cents, dtype=torch.float32),
            labels=torch.from_numpy(labels.astype(np.uint8)),
            zero_index=zi,
        )
        m.weight.copy_(book.decode())
        books[name] = book
    return books


class CodebookUpdate:
    """The lab's k-means fine-tune: after a normal optimizer step, each centroid becomes the mean
    of its members (the average of their gradient steps), and the weights snap back to it."""

    def __init__(self, model: nn.Module, books: dict[str, KMeansCodebook]):
        self.books = books
        self.params = {n: model.get_submodule(n).weight for n in books}

    @torch.no_grad()
    def __call__(self, model: nn.Module | None = None) -> None:
        for name, book in self.books.items():
            w = self.params[name]
            lab = book.labels.long()
            k = 2**book.bits
            if book.per_channel:
                c = lab.shape[0]
                flat = (lab.view(c, -1) + torch.arange(c)[:, None] * k).flatten()
                sums = torch.zeros(c * k).index_add_(0, flat, w.detach().flatten())
                cnts = torch.zeros(c * k).index_add_(
                    0, flat, torch.ones_like(flat, dtype=torch.float32)
                )
                new = torch.where(
                    cnts > 0, sums / cnts.clamp(min=1), book.centroids.flatten()
                ).view(c, k)
                if book.zero_index is not None:
                    new[:, book.zero_index] = 0.0
            else:
                flat = lab.flatten()
                sums = torch.zeros(k).index_add_(0, flat, w.detach().flatten())
                cnts = torch.bincount(flat, minlength=k).float()
                new = torch.where(cnts > 0, sums / cnts.clamp(min=1), book.centroids)
                if book.zero_index is not None:
                    new[book.zero_index] = 0.0
            book.centroids = new
            w.copy_(book.decode())

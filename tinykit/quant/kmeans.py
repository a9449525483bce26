"""K-means weight quantization: a codebook of 2^bits centroids per layer (or per channel).

The 1-D k-means never sorts the weights. One O(n) pass builds a fine histogram whose bins keep
the exact count and sum of their members; Lloyd's iterations then run on prefix sums of the bins
in O(k log bins) each. A bin lying wholly between two decision boundaries contributes its exact
sum, so an exact Lloyd step on the raw values only has to look at the members of the few bins a
boundary cuts. Pruned zeros keep a centroid fixed at exactly 0 and stay zero.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from tinykit.errors import TinykitError

HIST_BINS = 8192


CHUNK = 1 << 16  # values per pass step: temporaries stay in cache and need no fresh pages


class _Histogram:
    """Bins of equal width over [lo, hi]: each value's bin, and each bin's exact count and sum.

    The values are visited in chunks, so no temporary as large as the layer is ever allocated
    (for a 2.4 M-weight layer those cost more in page faults than the arithmetic), and the bin
    of each value is kept as uint16. The members of the bins a boundary cuts are gathered once
    and reused while the boundaries stay within the bins next to them.
    """

    def __init__(self, v: np.ndarray, lo: float, hi: float, nb: int):
        assert nb <= 1 << 16
        self.v, self.lo, self.nb = v, lo, nb
        self.width = (hi - lo) / nb
        t = v.dtype.type
        lo_t, inv = t(lo), t(1 / self.width)
        self.idx = np.empty(v.size, dtype=np.uint16)
        self.cnt = np.zeros(nb)
        self.tot = np.zeros(nb)
        for a in range(0, v.size, CHUNK):
            vc = v[a : a + CHUNK]
            ic = ((vc - lo_t) * inv).astype(np.intp)
            np.minimum(ic, nb - 1, out=ic)
            self.idx[a : a + CHUNK] = ic
            self.cnt += np.bincount(ic, minlength=nb)
            self.tot += np.bincount(ic, weights=vc, minlength=nb)
        # rounding may put a value a hair outside its bin's edges: widen them for the tests below
        pad = 1e-3 * self.width
        self.left = lo + np.arange(nb) * self.width - pad
        self.right = self.left + self.width + 2 * pad
        self._near = np.zeros(nb, dtype=bool)  # bins whose members are in self._near_pos
        self._near_pos = np.zeros(0, dtype=np.intp)

    def bin_labels(self, c: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Each bin's label (nearest centroid of its members) and whether a boundary cuts it."""
        bounds = (c[1:] + c[:-1]) / 2
        lab = np.searchsorted(bounds, self.left)
        return lab, lab != np.searchsorted(bounds, self.right)

    def cut_members(self, cut: np.ndarray) -> np.ndarray:
        """Positions of the values lying in the bins flagged by ``cut``."""
        if not cut.any():
            return np.zeros(0, dtype=np.intp)
        if (cut & ~self._near).any():  # gather the cut bins and their neighbours in one pass
            near = cut.copy()
            near[1:] |= cut[:-1]
            near[:-1] |= cut[1:]
            parts = [
                np.flatnonzero(near[self.idx[a : a + CHUNK]]) + a
                for a in range(0, self.v.size, CHUNK)
            ]
            self._near, self._near_pos = near, np.concatenate(parts)
        pos = self._near_pos
        return pos[cut[self.idx[pos]]]

    def exact_step(self, c: np.ndarray) -> np.ndarray:
        """One Lloyd step on the raw values: whole bins by their sums, cut bins value by value."""
        lab, cut = self.bin_labels(c)
        whole = ~cut
        n = np.bincount(lab[whole], weights=self.cnt[whole], minlength=len(c))
        s = np.bincount(lab[whole], weights=self.tot[whole], minlength=len(c))
        pos = self.cut_members(cut)
        if pos.size:
            vals = self.v[pos].astype(np.float64)
            vl = np.searchsorted((c[1:] + c[:-1]) / 2, vals)
            n += np.bincount(vl, minlength=len(c))
            s += np.bincount(vl, weights=vals, minlength=len(c))
        new = np.where(n > 0, s / np.maximum(n, 1), c)
        new.sort()
        return new

    def labels(self, c: np.ndarray) -> np.ndarray:
        """Each value's nearest centroid, as uint8 when there are at most 256 of them."""
        lab, cut = self.bin_labels(c)
        out = lab.astype(np.uint8 if len(c) <= 256 else np.intp)[self.idx]
        pos = self.cut_members(cut)
        if pos.size:
            out[pos] = np.searchsorted((c[1:] + c[:-1]) / 2, self.v[pos].astype(np.float64))
        return out


def _lloyd_on_prefix_sums(pts: np.ndarray, w: np.ndarray, c: np.ndarray, iters: int) -> np.ndarray:
    """Weighted 1-D Lloyd on sorted ``pts``: each cluster is a run of points, so its count and
    sum are differences of prefix sums. Stops when no point changes cluster."""
    cw = np.concatenate(([0.0], np.cumsum(w)))
    cs = np.concatenate(([0.0], np.cumsum(w * pts)))
    ends = np.empty(len(c) + 1, dtype=np.intp)  # cluster j is the run ends[j]:ends[j + 1]
    ends[0], ends[-1] = 0, len(pts)
    inner, prev = ends[1:-1], np.full(len(c) - 1, -1, dtype=np.intp)
    for _ in range(iters):
        # a point equal to a boundary goes to the lower centroid, as np.searchsorted does
        inner[:] = np.searchsorted(pts, (c[1:] + c[:-1]) * 0.5, "right")
        if (inner == prev).all():
            break
        prev[:] = inner
        n = np.diff(cw[ends])
        c = np.divide(np.diff(cs[ends]), n, out=c.copy(), where=n > 0)
        c.sort()
    return c


def kmeans_1d(
    values: np.ndarray, k: int, *, iters: int = 300, exact_steps: int = 2
) -> tuple[np.ndarray, np.ndarray]:
    """Sorted centroids (float64, length <= k) minimizing squared error on scalar ``values``
    (float32 or float64, kept as given), and each value's label."""
    v = np.asarray(values).ravel()
    if v.dtype not in (np.float32, np.float64):
        v = v.astype(np.float64)
    if v.size == 0:
        return np.zeros(0), np.zeros(0, dtype=np.int64)
    if v.size <= 4 * k:
        uniq = np.unique(v).astype(np.float64)
        if uniq.size <= k:
            return uniq, np.searchsorted(uniq, v.astype(np.float64))
    lo, hi = float(v.min()), float(v.max())
    if lo == hi:
        return np.array([lo]), np.zeros(v.size, dtype=np.int64)
    h = _Histogram(v, lo, hi, min(HIST_BINS, max(4 * k, v.size)))
    keep = h.cnt > 0
    w = h.cnt[keep]
    pts = h.tot[keep] / w
    order = np.argsort(pts, kind="stable")  # bin means are sorted up to rounding at the edges
    pts, w = pts[order], w[order]
    # quantile initialisation from the histogram's cumulative counts
    cdf = np.cumsum(w) / w.sum()
    q = (np.arange(k) + 0.5) / k
    init = np.unique(pts[np.minimum(np.searchsorted(cdf, q), len(pts) - 1)])
    if init.size < k:  # spread the missing ones between extremes
        extra = np.linspace(lo, hi, k - init.size + 2)[1:-1]
        init = np.unique(np.concatenate([init, extra]))
    c = _lloyd_on_prefix_sums(pts, w, init, iters)
    for _ in range(exact_steps):  # exact steps on the raw values remove the binning error
        new = h.exact_step(c)
        done = np.array_equal(new, c)
        c = new
        if done:
            break
    return c, h.labels(c)


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
    flat = w.ravel()
    zero = flat == 0
    if keep_zero and zero.any():
        cents, nz_labels = kmeans_1d(flat[~zero], k - 1)
        cents = np.concatenate([[0.0], cents])
        labels = np.zeros(flat.size, dtype=np.int64)
        labels[~zero] = 1 + nz_labels
        zero_index: int | None = 0
    else:
        cents, labels = kmeans_1d(flat, k)
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

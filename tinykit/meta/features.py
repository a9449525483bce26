"""Fourier features on one period, the task family over them, and where training points sit.

The homework's learner fits f(x) = sum_k beta_k c_k phi_k(x). Its features must be orthonormal
under the test distribution, so that the expected test loss is a plain sum of squares over the
coefficients: with x ~ U[-1, 1) these are 1, sqrt(2) sin(k pi x), sqrt(2) cos(k pi x) for
k = 1 .. (d-1)/2, ordered [1, sin 1, cos 1, sin 2, cos 2, ...]. A constant plus sin/cos pairs is
why d must be odd. Numpy only: the torch code converts what it needs.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

import numpy as np

from tinykit.errors import TinykitError

X_TYPES = ("grid", "uniform")


def check_dim(d: int) -> int:
    """Refuse a d the Fourier family cannot have (a constant plus sin/cos pairs is odd)."""
    if isinstance(d, bool) or not isinstance(d, int | np.integer) or d < 1:
        raise TinykitError(f"d (--d) must be a positive odd integer, got {d!r}")
    if d % 2 == 0:
        raise TinykitError(
            f"--d {d} is even, but the Fourier features (a constant plus sin/cos pairs) need an "
            f"odd d: use {d - 1} or {d + 1}"
        )
    return int(d)


def check_subset(subset: Iterable[int], d: int) -> tuple[int, ...]:
    """The hidden support S as sorted unique feature indices, each inside 0..d-1."""
    s = sorted({int(k) for k in subset})
    if not s:
        raise TinykitError("the subset S (--subset) is empty: give at least one feature index")
    bad = [k for k in s if not 0 <= k < d]
    if bad:
        raise TinykitError(
            f"the subset S (--subset) holds {bad}, outside the features 0..{d - 1}: choose "
            f"indices below d = {d}"
        )
    return tuple(s)


def parse_int_list(text: str, what: str) -> tuple[int, ...]:
    """'5,6,7' or '5-10' (or a mix) -> a tuple of ints; a bad item names itself."""
    out: list[int] = []
    for item in (t.strip() for t in text.split(",")):
        if not item:
            continue
        m = re.fullmatch(r"(\d+)\s*-\s*(\d+)", item)
        if m:
            a, b = int(m.group(1)), int(m.group(2))
            if b < a:
                raise TinykitError(f"{what}: the range {item} runs backwards")
            out.extend(range(a, b + 1))
            continue
        try:
            out.append(int(item))
        except ValueError:
            raise TinykitError(
                f"{what}: {item!r} is not an integer (expected e.g. 5,6,7 or 5-10)"
            ) from None
    if not out:
        raise TinykitError(f"{what}: no indices given")
    twice = sorted({i for i in out if out.count(i) > 1})
    if twice:
        raise TinykitError(f"{what}: index {twice[0]} is given twice")
    return tuple(out)


def feature_names(d: int) -> list[str]:
    """Human names of the d features: '1', 'sin 1', 'cos 1', ..."""
    names = ["1"]
    for k in range(1, (d - 1) // 2 + 1):
        names += [f"sin {k}", f"cos {k}"]
    return names


def frequency(k: int) -> int:
    """Frequency (in half-periods over [-1, 1)) of feature k."""
    return (k + 1) // 2


def fourier_features(x: np.ndarray, d: int) -> np.ndarray:
    """Features (len(x), d), orthonormal under x ~ U[-1, 1)."""
    check_dim(d)
    x = np.asarray(x, dtype=np.float64)
    freqs = np.arange(1, (d - 1) // 2 + 1)
    arg = np.pi * np.outer(x, freqs)
    out = np.empty((x.size, d))
    out[:, 0] = 1.0
    out[:, 1::2] = np.sqrt(2.0) * np.sin(arg)
    out[:, 2::2] = np.sqrt(2.0) * np.cos(arg)
    return out


def sample_x(n: int, x_type: str, rng: np.random.Generator) -> np.ndarray:
    """n training inputs in [-1, 1): an evenly spaced grid (fixed) or uniform draws (sorted)."""
    if x_type == "grid":
        return np.linspace(-1.0, 1.0, n, endpoint=False)
    if x_type == "uniform":
        return np.sort(rng.uniform(-1.0, 1.0, n))
    raise TinykitError(f"unknown x type {x_type!r}: choose one of {', '.join(X_TYPES)}")


def sample_coefficients(
    subset: Sequence[int], d: int, n_tasks: int, rng: np.random.Generator
) -> np.ndarray:
    """Task coefficients (d, n_tasks): U[-1, 1] on S, normalised to unit norm, zero elsewhere.

    Unit norm makes every task's function have mean square 1 under the test distribution, so
    the zero predictor's test MSE is exactly 1.
    """
    alpha = np.zeros((d, n_tasks))
    vals = rng.uniform(-1.0, 1.0, (len(subset), n_tasks))
    alpha[list(subset)] = vals / np.linalg.norm(vals, axis=0, keepdims=True)
    return alpha


def grid_aliases(subset: Sequence[int], d: int, n_grid: int) -> tuple[int, ...]:
    """Features outside S that coincide (up to sign) with a feature of S on an n_grid grid.

    On the grid x_j = -1 + 2j/n, frequencies m and m' give the same samples (up to sign and the
    sin/cos swap inside a pair) when m' = +-m mod n. These are the features whose weights the
    grid-trained meta-learner can see, and pushes to zero (a feature that is zero on every grid
    point is left out: it never enters the fit).
    """
    classes = {frequency(k) % n_grid for k in subset} | {(-frequency(k)) % n_grid for k in subset}
    sset = set(subset)
    return tuple(
        k
        for k in range(d)
        if k not in sset and frequency(k) % n_grid in classes and not vanishes_on_grid(k, n_grid)
    )


def vanishes_on_grid(k: int, n_grid: int) -> bool:
    """sin(m pi x) is zero on every grid point when 2m is a multiple of n (it samples 0 or pi)."""
    return k % 2 == 1 and (2 * frequency(k)) % n_grid == 0


def post_sizes(d: int, subset_size: int, n_inner: int, count: int) -> list[int]:
    """n_train_post values: `count` log-spaced from 1 to 3d, plus n_inner and |S|-1, |S|, |S|+1."""
    base = np.unique(np.logspace(0, np.log10(3 * d), count).astype(int))
    extra = [n_inner, subset_size - 1, subset_size, subset_size + 1]
    return sorted({int(n) for n in [*base, *extra] if n >= 1})

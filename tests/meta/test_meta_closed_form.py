"""Closed-form MAML for regression (4d-e): the learner, its gradient, what meta-learning finds."""

import numpy as np
import pytest
import torch

from tinykit.meta.closed_form import min_norm_learner, run_regression
from tinykit.meta.config import MetaConfig
from tinykit.meta.evaluate import min_norm_fit
from tinykit.meta.features import fourier_features, grid_aliases


def _problem(seed=0, n=7, d=21, t=3):
    rng = np.random.default_rng(seed)
    phi = fourier_features(rng.uniform(-1, 1, n), d)
    return phi, rng.normal(size=(n, t)), rng.uniform(0.3, 2.0, d)


def test_min_norm_learner_interpolates_with_the_smallest_beta():
    phi, y, c = _problem()
    w = min_norm_learner(torch.from_numpy(c), torch.from_numpy(phi), torch.from_numpy(y)).numpy()
    np.testing.assert_allclose(phi @ w, y, atol=1e-10)  # interpolates every task
    beta = np.linalg.pinv(phi * c) @ y  # independent min-norm solution
    np.testing.assert_allclose(w, c[:, None] * beta, atol=1e-10)
    np.testing.assert_allclose(min_norm_fit(phi, y, c), w, atol=1e-9)  # the test-time learner


def test_meta_gradient_through_the_solve_matches_finite_differences():
    phi, y, c = _problem(seed=1)
    phi_m = fourier_features(np.linspace(-1, 1, 50, endpoint=False), 21)
    target = np.random.default_rng(2).normal(size=(50, 3))

    def loss(cv):
        w = min_norm_learner(cv, torch.from_numpy(phi), torch.from_numpy(y))
        return ((torch.from_numpy(phi_m) @ w - torch.from_numpy(target)) ** 2).mean()

    ct = torch.tensor(c, requires_grad=True)
    (g,) = torch.autograd.grad(loss(ct), ct)
    eps = 1e-4  # central differences: O(eps^2) error, and roundoff stays far below it
    for k in (0, 4, 13, 20):
        e = torch.zeros(21, dtype=torch.float64)
        e[k] = eps
        fd = (loss(torch.from_numpy(c) + e) - loss(torch.from_numpy(c) - e)) / (2 * eps)
        assert float(g[k]) == pytest.approx(float(fd), rel=1e-6, abs=1e-9)


def test_small_setting_drives_off_support_weights_down_and_matches_the_oracle():
    cfg = MetaConfig(
        d=21,
        subset=(3, 4, 5),
        n_inner=3,
        x_type="uniform",
        iterations=2000,
        meta_lr=1.0,
        noise_std=0.01,
        num_post=15,
        test_tasks=200,
        seed=0,
    )
    res, trace = run_regression(cfg, progress=False)
    c = np.abs(trace.c)
    inside, outside = c[[3, 4, 5]], np.delete(c, [3, 4, 5])
    assert outside.max() < 0.1 * inside.min()
    k = len(cfg.subset)
    meta, oracle, ones = (res["curves"][m] for m in ("meta", "oracle", "ones"))
    at = meta["n_train_post"].index(k)
    assert meta["mean"][at] <= 2 * oracle["mean"][at]
    assert meta["mean"][at] < 0.1 * ones["mean"][at]


def test_grid_training_only_moves_the_aliases_and_makes_the_spike():
    # Noise-free labels on a 16-point grid: features whose grid class holds no member of S get
    # exactly zero meta-gradient; the aliases of S are pushed down; at n_train_post = n_inner
    # the learner is nearly the oracle while its neighbours are far worse (the spike).
    cfg = MetaConfig(
        d=101, n_inner=16, iterations=300, noise_std=0.0, num_post=15, test_tasks=50, seed=3
    )
    res, trace = run_regression(cfg, progress=False)
    alias = list(grid_aliases(cfg.subset, cfg.d, cfg.n_inner))
    rest = sorted(set(range(cfg.d)) - set(cfg.subset) - set(alias))
    np.testing.assert_allclose(trace.c[rest], 1.0, atol=1e-12)
    assert np.abs(trace.c[alias]).max() < 0.2 * np.abs(trace.c[list(cfg.subset)]).min()
    meta = dict(
        zip(res["curves"]["meta"]["n_train_post"], res["curves"]["meta"]["mean"], strict=True)
    )
    neighbours = [meta[n] for n in meta if 8 <= n <= 32 and n != 16]
    assert meta[16] < 1e-3 and meta[16] < 0.01 * min(neighbours)


def test_same_seed_same_numbers():
    cfg = MetaConfig(d=41, n_inner=8, iterations=30, num_post=6, test_tasks=5, seed=7)
    a, _ = run_regression(cfg, progress=False)
    b, _ = run_regression(cfg, progress=False)
    assert a["curves"] == b["curves"] and a["weights"]["final"] == b["weights"]["final"]

"""The gradient-descent inner loop (4f): one step by hand, convergence to min-norm, second order."""

import numpy as np
import pytest
import torch

from tinykit.meta.closed_form import min_norm_learner, run_regression
from tinykit.meta.config import MetaConfig
from tinykit.meta.features import fourier_features, grid_aliases
from tinykit.meta.gd_inner import config_learner, make_gd_learner


def _problem(n=6, d=15, t=2, seed=0):
    rng = np.random.default_rng(seed)
    phi = torch.from_numpy(fourier_features(rng.uniform(-1, 1, n), d))
    return (
        phi,
        torch.from_numpy(rng.normal(size=(n, t))),
        torch.from_numpy(rng.uniform(0.5, 1.5, d)),
    )


def test_one_step_is_the_hand_formula():
    phi, y, c = _problem()
    lr = 0.03
    w = make_gd_learner(1, lr)(c, phi, y)
    a = phi * c
    hand = c[:, None] * (lr * 2 / phi.shape[0] * a.T @ y)  # -lr * grad of mean sq. error at 0
    torch.testing.assert_close(w, hand, rtol=1e-12, atol=1e-14)


def test_many_steps_from_zero_reach_the_min_norm_solution():
    phi, y, c = _problem()
    a = phi * c
    lr = 0.9 * phi.shape[0] / (2 * torch.linalg.matrix_norm(a, ord=2) ** 2)  # below 1/L
    w = make_gd_learner(3000, float(lr))(c, phi, y)
    torch.testing.assert_close(w, min_norm_learner(c, phi, y), rtol=1e-6, atol=1e-8)


def test_second_order_meta_gradient_matches_finite_differences():
    phi, y, c = _problem(seed=1)
    xm = torch.from_numpy(fourier_features(np.linspace(-1, 1, 40, endpoint=False), 15))
    ym = torch.from_numpy(np.random.default_rng(5).normal(size=(40, 2)))
    learner = make_gd_learner(5, 0.05)

    def loss(cv):
        return ((xm @ learner(cv, phi, y) - ym) ** 2).mean()

    ct = c.clone().requires_grad_(True)
    (g,) = torch.autograd.grad(loss(ct), ct)
    for k in (0, 3, 9, 14):
        e = torch.zeros(15, dtype=torch.float64)
        e[k] = 1e-4
        fd = (loss(c + e) - loss(c - e)) / 2e-4
        assert float(g[k]) == pytest.approx(float(fd), rel=1e-6, abs=1e-10)


@pytest.mark.parametrize("steps", [5, 1])
def test_gd_meta_learning_still_pushes_the_aliases_down(steps):
    cfg = MetaConfig(
        d=101,
        n_inner=16,
        iterations=300,
        noise_std=0.0,
        learner="gd",
        num_gd_steps=steps,
        inner_lr=0.05,
        num_post=8,
        test_tasks=30,
        seed=1,
    )
    res, trace = run_regression(cfg, config_learner(cfg), progress=False)
    alias = list(grid_aliases(cfg.subset, cfg.d, cfg.n_inner))
    assert np.abs(trace.c[alias]).mean() < 0.25 * np.abs(trace.c[list(cfg.subset)]).mean()
    meta, ones = res["curves"]["meta"], res["curves"]["ones"]
    at = meta["n_train_post"].index(16)
    assert meta["mean"][at] < 0.1 * ones["mean"][at]

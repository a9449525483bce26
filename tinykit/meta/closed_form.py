"""MAML for regression with the closed-form min-norm learner (homework 4d-e).

The inner learner is beta_hat = A^T (A A^T)^-1 y with A = Phi diag(c): a differentiable function
of c, so the meta-gradient flows through one linear solve. Meta-learning should push c_k to zero
for the features the tasks never use, until the learner matches the oracle that knows S.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from tinykit.meta.config import MetaConfig
from tinykit.meta.evaluate import (
    make_post_data,
    oracle_weights,
    regression_curve,
    zero_mse,
)
from tinykit.meta.features import grid_aliases
from tinykit.meta.metatrain import MetaTrace, meta_train
from tinykit.meta.threads import one_thread


def min_norm_learner(c: torch.Tensor, phi: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Effective coefficients c * beta_hat (d, T) of min-norm interpolation of y (n, T).

    beta_hat = A^T (A A^T)^-1 y, A = phi * c: needs n <= d and A of full row rank.
    """
    a = phi * c
    return c[:, None] * (a.T @ torch.linalg.solve(a @ a.T, y))


def weight_groups(cfg: MetaConfig, c: np.ndarray) -> dict[str, float]:
    """Mean |c_k| over S, over S's aliases on the inner grid, and over the other features."""
    s = list(cfg.subset)
    alias = list(grid_aliases(cfg.subset, cfg.d, cfg.n_inner)) if cfg.x_type == "grid" else []
    rest = sorted(set(range(cfg.d)) - set(s) - set(alias))
    a = np.abs(c)
    out = {"in_S": float(a[s].mean())}
    if alias:
        out["grid_aliases_of_S"] = float(a[alias].mean())
    out["off_S" if not alias else "other"] = float(a[rest].mean()) if rest else float("nan")
    out["max_off_S"] = float(np.delete(a, s).max()) if len(s) < cfg.d else float("nan")
    return out


def summarize(
    cfg: MetaConfig, trace: MetaTrace, curves: dict[str, Any], reference: dict[str, float]
) -> dict:
    """The JSON-able result of a run: config, curves, weights, headline figures."""
    k = len(cfg.subset)
    heads = {}
    for n in sorted({k, cfg.n_inner}):
        heads[f"n={n}"] = {name: cu.at(n) for name, cu in curves.items()}
    return {
        "config": cfg.to_dict(),
        "curves": {name: cu.to_dict() for name, cu in curves.items()},
        "reference": reference,
        "headline": heads,
        "weights": {
            "final": trace.c.tolist(),
            "groups_final": weight_groups(cfg, trace.c),
            "groups_start": weight_groups(cfg, trace.snapshots[0]),
            "snapshot_steps": trace.snapshot_steps,
            "snapshots": [s.tolist() for s in trace.snapshots],
        },
        "meta_loss": {
            "first": trace.losses[0] if trace.losses else None,
            "last_50_mean": float(np.mean(trace.losses[-50:])) if trace.losses else None,
        },
    }


def run_regression(
    cfg: MetaConfig,
    inner=min_norm_learner,
    *,
    progress: bool = True,
    desc: str = "meta-train (closed form)",
) -> tuple[dict, MetaTrace]:
    """Meta-train c with `inner`, then compare meta-learned c, c = 1 and the oracle.

    The test-time learner is always min-norm least squares on the weighted features, whichever
    inner learner trained c (as in the homework).
    """
    with one_thread():
        trace = meta_train(cfg, inner, progress=progress, desc=desc)
        post = make_post_data(cfg)
        curves = {
            "meta": regression_curve(post, trace.c),
            "ones": regression_curve(post, np.ones(cfg.d)),
            "oracle": regression_curve(post, oracle_weights(cfg.d, cfg.subset)),
        }
    return summarize(cfg, trace, curves, {"zero_predictor_mse": zero_mse(post)}), trace

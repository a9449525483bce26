"""MAML for classification (homework 4g-h): labels sign(f(x)), logistic loss, 0-1 error at test.

Meta-training is the gradient-descent inner loop of gd_inner.py on the logistic loss
log(1 + exp(-y f(x))), scored by the same loss on fresh points. At test each learner (meta-
learned c, c = 1, the oracle that keeps only S) is fitted by logistic regression on the weighted
features and scored by its 0-1 error on fresh uniform points.
"""

from __future__ import annotations

import numpy as np
import torch

from tinykit.meta.closed_form import summarize
from tinykit.meta.config import MetaConfig
from tinykit.meta.evaluate import Curve, PostData, make_curve, make_post_data, oracle_weights
from tinykit.meta.gd_inner import config_learner
from tinykit.meta.metatrain import MetaTrace, meta_train
from tinykit.meta.threads import one_thread
from tinykit.progress import progress_bar

L2 = 1e-5  # ridge on beta: tiny, so separable data gives close to the max-margin direction
FIT_STEPS = 200


def logistic_fit(
    phi: np.ndarray, y: np.ndarray, c: np.ndarray, *, l2: float = L2, steps: int = FIT_STEPS
) -> np.ndarray:
    """Effective coefficients c * beta (d, T) of L2-regularised logistic regression, all tasks.

    Minimises mean_i log(1 + exp(-y_i (phi_i * c) . beta)) + l2/2 |beta|^2 per task with
    Nesterov-accelerated gradient descent at step 1/L (L: the loss's smoothness constant).
    A small penalty on beta is a penalty |w_k / c_k|^2 on the effective weights: like the
    min-norm regression learner, it prefers features with large c_k.
    """
    keep = np.flatnonzero(c)
    a = torch.from_numpy(phi[:, keep] * c[keep]).float()  # float32: 0-1 error needs no more
    yt = torch.from_numpy(y).float()
    n = a.shape[0]
    lip = float(torch.linalg.matrix_norm(a, ord=2)) ** 2 / (4 * n) + l2
    beta = torch.zeros(a.shape[1], y.shape[1], dtype=a.dtype)
    prev = beta
    for t in range(steps):
        z = beta + (t / (t + 3)) * (beta - prev)
        margin = yt * (a @ z)
        grad = a.T @ (-yt * torch.sigmoid(-margin)) / n + l2 * z
        prev, beta = beta, z - grad / lip
    w = np.zeros((c.size, y.shape[1]))
    w[keep] = c[keep, None] * beta.double().numpy()
    return w


def error_curve(post: PostData, c: np.ndarray, *, progress: bool = False, desc: str = "") -> Curve:
    """Test 0-1 error of logistic regression with weights c, per n_train_post."""
    out = []
    for n in progress_bar(post.sizes, desc=desc or "evaluate", enabled=progress):
        w = logistic_fit(post.phi_train[n], post.y_train[n], c)
        pred = np.where(post.phi_test @ w >= 0, 1.0, -1.0)
        out.append((pred != post.y_test).mean(0))
    return make_curve(post.sizes, out)


def run_classification(cfg: MetaConfig, *, progress: bool = True) -> tuple[dict, MetaTrace]:
    """Meta-train c with the logistic GD inner loop, then compare the three learners' 0-1 error."""
    if cfg.loss != "logistic":
        raise ValueError("run_classification needs a config with loss='logistic'")
    with one_thread():
        trace = meta_train(
            cfg, config_learner(cfg), progress=progress, desc="meta-train (classification)"
        )
        post = make_post_data(cfg)
        weights = {
            "meta": trace.c,
            "ones": np.ones(cfg.d),
            "oracle": oracle_weights(cfg.d, cfg.subset),
        }
        curves = {
            name: error_curve(post, c, progress=progress, desc=f"evaluate {name}")
            for name, c in weights.items()
        }
    return summarize(cfg, trace, curves, {"chance_error": 0.5}), trace

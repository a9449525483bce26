"""Test-time evaluation: how well a learner with feature weights c does against n_train_post.

For every n in the n_train_post list, each of `test_tasks` tasks gets n training points (the same
x type as in meta-training: grid or uniform) and is scored on n_test fresh uniform points. Every
learner sees the very same points, labels and noise, so the curves differ only by the learner.
The oracle is the same learner restricted to the true support S.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tinykit.meta.config import MetaConfig
from tinykit.meta.features import fourier_features, post_sizes, sample_coefficients, sample_x
from tinykit.meta.metatrain import make_labels

RCOND = 1e-10  # singular values below this share of the largest count as zero (min-norm solve)


@dataclass
class PostData:
    """Training sets for each n_train_post, and a shared test set, for test_tasks tasks."""

    sizes: list[int]
    phi_train: dict[int, np.ndarray]  # n -> (n, d)
    y_train: dict[int, np.ndarray]  # n -> (n, T) observed labels
    phi_test: np.ndarray  # (n_test, d)
    y_test: np.ndarray  # (n_test, T): clean values (regression) or clean signs (classification)


@dataclass
class Curve:
    """A test figure against n_train_post: the mean over tasks and the 10th/90th percentiles."""

    sizes: list[int]
    mean: np.ndarray
    p10: np.ndarray
    p90: np.ndarray

    def at(self, n: int) -> float:
        return float(self.mean[self.sizes.index(n)])

    def to_dict(self) -> dict[str, list]:
        return {
            "n_train_post": list(self.sizes),
            "mean": self.mean.tolist(),
            "p10": self.p10.tolist(),
            "p90": self.p90.tolist(),
        }


def make_post_data(cfg: MetaConfig) -> PostData:
    """Draw the evaluation tasks and their data (seeded apart from meta-training's stream)."""
    rng = np.random.default_rng([cfg.seed, 1])
    sizes = post_sizes(cfg.d, len(cfg.subset), cfg.n_inner, cfg.num_post)
    alpha = sample_coefficients(cfg.subset, cfg.d, cfg.test_tasks, rng)
    phi_test = fourier_features(rng.uniform(-1.0, 1.0, cfg.n_test), cfg.d)
    f_test = phi_test @ alpha
    y_test = f_test if cfg.loss == "mse" else np.where(f_test >= 0, 1.0, -1.0)
    phi_train, y_train = {}, {}
    for n in sizes:
        phi = fourier_features(sample_x(n, cfg.x_type, rng), cfg.d)
        phi_train[n] = phi
        y_train[n] = make_labels(phi @ alpha, cfg, rng)
    return PostData(sizes, phi_train, y_train, phi_test, y_test)


def min_norm_fit(phi: np.ndarray, y: np.ndarray, c: np.ndarray) -> np.ndarray:
    """Effective coefficients c * beta of min-norm least squares on the weighted features.

    beta = argmin ||beta|| among the least-squares fits of y by (phi * c) beta: for n <= d
    (full row rank) that is A^T (A A^T)^-1 y, the homework's learner; for n > d plain least
    squares. Features with c_k = 0 drop out.
    """
    import torch

    keep = np.flatnonzero(c)
    w = np.zeros((c.size, y.shape[1]))
    a = torch.from_numpy(phi[:, keep] * c[keep])
    beta = torch.linalg.lstsq(a, torch.from_numpy(y), rcond=RCOND, driver="gelsd").solution
    w[keep] = c[keep, None] * beta.numpy()
    return w


def make_curve(sizes: list[int], per_task: list[np.ndarray]) -> Curve:
    """Mean and 10th/90th percentiles over tasks of one figure per n_train_post."""
    m = np.stack(per_task)  # (len(sizes), T)
    return Curve(list(sizes), m.mean(1), np.percentile(m, 10, axis=1), np.percentile(m, 90, axis=1))


def regression_curve(post: PostData, c: np.ndarray) -> Curve:
    """Test MSE of the min-norm learner with weights c, per n_train_post."""
    out = []
    for n in post.sizes:
        w = min_norm_fit(post.phi_train[n], post.y_train[n], c)
        out.append(((post.phi_test @ w - post.y_test) ** 2).mean(0))
    return make_curve(post.sizes, out)


def oracle_weights(d: int, subset: tuple[int, ...]) -> np.ndarray:
    """c = 1 on S and 0 elsewhere: the learner that is told the support."""
    c = np.zeros(d)
    c[list(subset)] = 1.0
    return c


def zero_mse(post: PostData) -> float:
    """Test MSE of predicting 0 (1 in expectation, since tasks have unit norm)."""
    return float((post.y_test**2).mean())

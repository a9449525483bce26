"""The outer loop shared by every 1-D meta-learner: sample tasks, run the inner learner, SGD on c.

An inner learner is a differentiable function (c, Phi_inner, Y_inner) -> W, where W (d, T) holds
each task's effective coefficients c * beta_hat on the unweighted features. The outer loop
backpropagates a meta-loss on fresh uniform points through it into c. The closed form (4d),
gradient descent (4f) and the logistic learner (4g) only differ in that function and the loss.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch

from tinykit.meta.config import MetaConfig
from tinykit.meta.features import fourier_features, sample_coefficients, sample_x
from tinykit.progress import progress_bar

InnerLearner = Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]


@dataclass
class MetaTrace:
    """What meta-training left: the final weights, snapshots of c, the meta-loss per step."""

    c: np.ndarray
    snapshot_steps: list[int] = field(default_factory=list)
    snapshots: list[np.ndarray] = field(default_factory=list)
    losses: list[float] = field(default_factory=list)


def make_labels(f: np.ndarray, cfg: MetaConfig, rng: np.random.Generator) -> np.ndarray:
    """Observed labels of clean function values: noisy values (mse) or signs, some flipped."""
    if cfg.loss == "mse":
        return f + cfg.noise_std * rng.standard_normal(f.shape) if cfg.noise_std else f.copy()
    y = np.where(f >= 0, 1.0, -1.0)
    if cfg.label_noise:
        y = np.where(rng.random(f.shape) < cfg.label_noise, -y, y)
    return y


def meta_loss(pred: torch.Tensor, y: torch.Tensor, loss: str) -> torch.Tensor:
    """Mean squared error, or mean logistic loss log(1 + exp(-y f)) for +-1 labels."""
    if loss == "mse":
        return ((pred - y) ** 2).mean()
    return torch.nn.functional.softplus(-y * pred).mean()


def snapshot_steps(iterations: int, count: int) -> list[int]:
    """Iterations at which c is recorded: 0, the end, and count-1 evenly spaced in between."""
    return sorted({int(round(v)) for v in np.linspace(0, iterations, count + 1)})


def meta_train(
    cfg: MetaConfig, inner: InnerLearner, *, progress: bool = True, desc: str = "meta-train"
) -> MetaTrace:
    """SGD on the feature weights c, starting from c = 1, for cfg.iterations steps.

    Each step samples cfg.tasks_per_step tasks, gives the inner learner n_inner points of each
    (the fixed grid, or fresh uniform draws), and scores it on n_meta fresh uniform points of
    the same tasks. Seeded by cfg.seed through one numpy generator.
    """
    rng = np.random.default_rng(cfg.seed)
    c = torch.ones(cfg.d, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.SGD([c], lr=cfg.meta_lr)
    keep = set(snapshot_steps(cfg.iterations, cfg.snapshots))
    trace = MetaTrace(c=np.ones(cfg.d))
    grid = cfg.x_type == "grid"
    phi_grid = fourier_features(sample_x(cfg.n_inner, "grid", rng), cfg.d) if grid else None
    for it in progress_bar(range(cfg.iterations + 1), desc=desc, enabled=progress):
        if it in keep:
            trace.snapshot_steps.append(it)
            trace.snapshots.append(c.detach().numpy().copy())
        if it == cfg.iterations:
            break
        if grid:
            phi_in = phi_grid
        else:
            phi_in = fourier_features(sample_x(cfg.n_inner, cfg.x_type, rng), cfg.d)
        alpha = sample_coefficients(cfg.subset, cfg.d, cfg.tasks_per_step, rng)
        y_in = make_labels(phi_in @ alpha, cfg, rng)
        phi_meta = fourier_features(rng.uniform(-1.0, 1.0, cfg.n_meta), cfg.d)
        y_meta = make_labels(phi_meta @ alpha, cfg, rng)
        w = inner(c, torch.from_numpy(phi_in), torch.from_numpy(y_in))
        loss = meta_loss(torch.from_numpy(phi_meta) @ w, torch.from_numpy(y_meta), cfg.loss)
        opt.zero_grad()
        loss.backward()
        if cfg.clip:
            torch.nn.utils.clip_grad_norm_([c], cfg.clip)
        opt.step()
        trace.losses.append(float(loss.detach()))
    trace.c = c.detach().numpy().copy()
    return trace

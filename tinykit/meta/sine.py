"""The sine-wave regression of Finn et al. 2017, Sec. 5.1: MAML on a 40-40 ReLU network.

Tasks are y = A sin(x + phase) with A ~ U[0.1, 5], phase ~ U[0, pi], x ~ U[-5, 5]; the learner
sees K points of a new task. MAML's initialisation is compared with a network pretrained on all
tasks at once (plain regression on mixed tasks), both adapted with the same inner steps, over
many held-out tasks.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass

import numpy as np
import torch
from torch import nn

from tinykit.errors import TinykitError
from tinykit.meta.maml import MAML, mse
from tinykit.meta.threads import one_thread
from tinykit.progress import progress_bar

AMPLITUDE = (0.1, 5.0)
PHASE = (0.0, math.pi)
X_RANGE = (-5.0, 5.0)


@dataclass
class SineConfig:
    """Finn et al.'s settings, except far fewer meta-iterations (theirs: 70,000)."""

    shots: int = 10  # K: support points per task
    query: int = 10  # query points per task during meta-training
    meta_batch: int = 25
    iterations: int = 4000
    inner_lr: float = 0.01
    inner_steps: int = 1
    meta_lr: float = 1e-3
    first_order: bool = False
    hidden: int = 40
    test_tasks: int = 200
    test_points: int = 100
    eval_steps: tuple[int, ...] = (0, 1, 10)
    seed: int = 0

    def __post_init__(self) -> None:
        for name in ("shots", "query", "meta_batch", "hidden", "test_tasks", "test_points"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                flag = "--" + name.replace("_", "-")
                raise TinykitError(f"{flag} must be a positive integer, got {v!r}")
        if not isinstance(self.iterations, int) or self.iterations < 0:
            raise TinykitError(f"--iterations must be an integer >= 0, got {self.iterations!r}")
        bad = [s for s in self.eval_steps if not isinstance(s, int) or s < 0]
        if bad:
            raise TinykitError(f"--eval-steps must be integers >= 0, got {bad[0]!r}")
        self.eval_steps = tuple(sorted(set(self.eval_steps) | {0}))


def make_net(hidden: int = 40) -> nn.Module:
    """Finn et al.'s regressor: 1 -> hidden -> hidden -> 1 with ReLU."""
    return nn.Sequential(
        nn.Linear(1, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU(), nn.Linear(hidden, 1)
    )


def sample_tasks(
    n_tasks: int, n_points: int, gen: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Amplitudes, phases (n_tasks,) and inputs x (n_tasks, n_points, 1), targets y."""
    amp = AMPLITUDE[0] + (AMPLITUDE[1] - AMPLITUDE[0]) * torch.rand(n_tasks, generator=gen)
    phase = PHASE[0] + (PHASE[1] - PHASE[0]) * torch.rand(n_tasks, generator=gen)
    x = X_RANGE[0] + (X_RANGE[1] - X_RANGE[0]) * torch.rand(n_tasks, n_points, 1, generator=gen)
    return amp, phase, x, sine(x, amp, phase)


def sine(x: torch.Tensor, amp: torch.Tensor, phase: torch.Tensor) -> torch.Tensor:
    return amp[:, None, None] * torch.sin(x + phase[:, None, None])


def meta_train_sine(cfg: SineConfig, *, progress: bool = True) -> tuple[nn.Module, list[float]]:
    """MAML on sine tasks: returns the meta-learned network and the meta-loss per iteration."""
    torch.manual_seed(cfg.seed)
    gen = torch.Generator().manual_seed(cfg.seed)
    net = make_net(cfg.hidden)
    maml = MAML(
        net, mse, inner_lr=cfg.inner_lr, inner_steps=cfg.inner_steps, first_order=cfg.first_order
    )
    opt = torch.optim.Adam(net.parameters(), lr=cfg.meta_lr)
    losses = []
    for _ in progress_bar(range(cfg.iterations), desc="MAML sine", enabled=progress):
        _, _, x, y = sample_tasks(cfg.meta_batch, cfg.shots + cfg.query, gen)
        loss = maml.meta_loss(
            x[:, : cfg.shots], y[:, : cfg.shots], x[:, cfg.shots :], y[:, cfg.shots :]
        )
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
    return net, losses


def pretrain_sine(cfg: SineConfig, *, progress: bool = True) -> tuple[nn.Module, list[float]]:
    """The baseline: one network regressed on all tasks at once, same budget of tasks and steps."""
    torch.manual_seed(cfg.seed + 1)
    gen = torch.Generator().manual_seed(cfg.seed + 1)
    net = make_net(cfg.hidden)
    opt = torch.optim.Adam(net.parameters(), lr=cfg.meta_lr)
    losses = []
    for _ in progress_bar(range(cfg.iterations), desc="pretrain sine", enabled=progress):
        _, _, x, y = sample_tasks(cfg.meta_batch, cfg.shots + cfg.query, gen)
        loss = mse(net(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
    return net, losses


def evaluate_sine(net: nn.Module, cfg: SineConfig, gen_seed: int) -> dict[int, np.ndarray]:
    """Per-task MSE on test_points fresh points after k steps on K shots, for k in eval_steps.

    The same tasks, shots and points for any network given the same gen_seed.
    """
    gen = torch.Generator().manual_seed(gen_seed)
    amp, phase, xs, ys = sample_tasks(cfg.test_tasks, cfg.shots, gen)
    xq = torch.linspace(*X_RANGE, cfg.test_points).reshape(1, -1, 1).expand(cfg.test_tasks, -1, -1)
    yq = sine(xq, amp, phase)
    learner = MAML(net, mse, inner_lr=cfg.inner_lr)
    out = {k: np.empty(cfg.test_tasks) for k in cfg.eval_steps}
    for i in range(cfg.test_tasks):
        p = learner.adapt(xs[i], ys[i], steps=0)
        for k in range(max(cfg.eval_steps) + 1):
            if k in out:
                out[k][i] = float(((learner.predict(p, xq[i]) - yq[i]) ** 2).mean())
            p = learner.adapt(xs[i], ys[i], steps=1, params=p)
    return out


def example_curves(net: nn.Module, cfg: SineConfig, gen_seed: int, steps: int) -> dict:
    """One test task drawn densely: truth, shots, and the network after 0 and `steps` steps."""
    gen = torch.Generator().manual_seed(gen_seed)
    amp, phase, xs, ys = sample_tasks(1, cfg.shots, gen)
    grid = torch.linspace(*X_RANGE, 200).reshape(-1, 1)
    learner = MAML(net, mse, inner_lr=cfg.inner_lr)
    p0 = learner.params()
    pk = learner.adapt(xs[0], ys[0], steps=steps)
    return {
        "x": grid.ravel().tolist(),
        "truth": sine(grid[None], amp, phase)[0].ravel().tolist(),
        "shots_x": xs[0].ravel().tolist(),
        "shots_y": ys[0].ravel().tolist(),
        "before": learner.predict(p0, grid).ravel().tolist(),
        "after": learner.predict(pk, grid).ravel().tolist(),
        "steps": steps,
    }


def run_sine(cfg: SineConfig, *, progress: bool = True) -> dict:
    """Meta-train, pretrain, evaluate both over cfg.test_tasks held-out tasks; JSON-able result."""
    with one_thread():
        t0 = time.perf_counter()
        maml_net, maml_losses = meta_train_sine(cfg, progress=progress)
        t1 = time.perf_counter()
        pre_net, pre_losses = pretrain_sine(cfg, progress=progress)
        t2 = time.perf_counter()
        test_seed = cfg.seed + 10_000
        res = {
            "maml": evaluate_sine(maml_net, cfg, test_seed),
            "pretrained": evaluate_sine(pre_net, cfg, test_seed),
        }
        t3 = time.perf_counter()
        examples = {
            "maml": example_curves(maml_net, cfg, test_seed + 1, max(cfg.eval_steps)),
            "pretrained": example_curves(pre_net, cfg, test_seed + 1, max(cfg.eval_steps)),
        }
    table = {
        name: {
            str(k): {
                "mean": float(v.mean()),
                "sem": float(v.std(ddof=1) / np.sqrt(v.size)) if v.size > 1 else 0.0,
            }
            for k, v in r.items()
        }
        for name, r in res.items()
    }
    return {
        "config": {k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(cfg).items()},
        "mse": table,
        "per_task_mse": {
            name: {str(k): v.tolist() for k, v in r.items()} for name, r in res.items()
        },
        "train_loss": {"maml": maml_losses, "pretrained": pre_losses},
        "examples": examples,
        "seconds": {"meta_train": t1 - t0, "pretrain": t2 - t1, "evaluate": t3 - t2},
    }

"""One config for every 1-D meta-learning run (regression, GD inner loop, classification).

A run is: a task family (d Fourier features, hidden support S), an inner learner that sees
n_inner points of each task, a meta-loss on n_meta fresh uniform points, SGD on the feature
weights c, then an evaluation against n_train_post. Every knob lives here and validates itself,
so the CLI, the tests and a user's script all hit the same checks.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from tinykit.errors import TinykitError
from tinykit.meta.features import X_TYPES, check_dim, check_subset

LEARNERS = ("closed_form", "gd")
LOSSES = ("mse", "logistic")


@dataclass
class MetaConfig:
    """Settings of one meta-learning run. Defaults are the homework's regression (4d)."""

    d: int = 501
    subset: tuple[int, ...] = (5, 6, 7, 8, 9, 10)
    n_inner: int = 32
    x_type: str = "grid"
    n_meta: int = 64
    tasks_per_step: int = 8
    iterations: int = 1000
    meta_lr: float = 2.0
    clip: float = 1.0
    noise_std: float = 0.05
    learner: str = "closed_form"
    num_gd_steps: int = 5
    inner_lr: float = 0.02
    loss: str = "mse"
    label_noise: float = 0.0
    test_tasks: int = 100
    n_test: int = 1000
    num_post: int = 40
    snapshots: int = 10
    seed: int = 0

    def __post_init__(self) -> None:
        self.d = check_dim(self.d)
        self.subset = check_subset(self.subset, self.d)
        if self.x_type not in X_TYPES:
            raise TinykitError(f"x_type must be one of {', '.join(X_TYPES)}, got {self.x_type!r}")
        if self.learner not in LEARNERS:
            raise TinykitError(
                f"learner must be one of {', '.join(LEARNERS)}, got {self.learner!r}"
            )
        if self.loss not in LOSSES:
            raise TinykitError(f"loss must be one of {', '.join(LOSSES)}, got {self.loss!r}")
        steps = self.num_gd_steps
        if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
            raise TinykitError(f"num_gd_steps must be a positive integer, got {steps!r}")
        for name in (
            "n_inner",
            "n_meta",
            "tasks_per_step",
            "test_tasks",
            "n_test",
            "num_post",
            "snapshots",
        ):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise TinykitError(f"{name} must be a positive integer, got {v!r}")
        if (
            isinstance(self.iterations, bool)
            or not isinstance(self.iterations, int)
            or self.iterations < 0
        ):
            raise TinykitError(f"iterations must be an integer >= 0, got {self.iterations!r}")
        if self.learner == "closed_form" and self.n_inner > self.d:
            raise TinykitError(
                f"the min-norm learner needs n_inner <= d (--n-inner {self.n_inner} > --d "
                f"{self.d}): with more points than features, interpolation has no solution"
            )
        for name in ("meta_lr", "inner_lr"):
            if not getattr(self, name) > 0:
                raise TinykitError(f"{name} must be positive, got {getattr(self, name)}")
        if self.clip < 0:
            raise TinykitError(f"clip must be >= 0 (0: no clipping), got {self.clip}")
        if self.noise_std < 0:
            raise TinykitError(f"noise_std must be >= 0, got {self.noise_std}")
        if not 0 <= self.label_noise < 0.5:
            raise TinykitError(f"label_noise must be in [0, 0.5), got {self.label_noise}")

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["subset"] = list(self.subset)
        return out

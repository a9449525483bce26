"""MAML for any nn.Module: a functional inner loop over its parameters (Finn et al. 2017).

The module's parameters are the meta-parameters theta. For a task, `adapt` takes gradient steps
theta' = theta - alpha * grad L_support(theta) on a copy held as a dict of tensors and runs the
module on it with torch.func.functional_call, so the module itself is never modified. The
meta-loss is the query loss at theta', averaged over a batch of tasks (vectorised with
torch.func.vmap); its gradient flows back through the inner steps (second order) or treats
the inner gradients as constants (first order, `first_order=True`).

Modules with batch-norm running statistics cannot be vmapped in training mode; pass
`vectorize=False` for them (a plain loop over tasks).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn
from torch.func import functional_call, grad, vmap

from tinykit.errors import TinykitError

Params = dict[str, torch.Tensor]
LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def mse(pred: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return ((pred - y) ** 2).mean()


@dataclass
class MAML:
    """Meta-learns a module's initial parameters so that a few gradient steps fit a new task.

    Args:
        model: any nn.Module; its parameters are the meta-parameters.
        loss_fn: loss(prediction, target) -> scalar, used for support and query sets.
        inner_lr: alpha, the step size of the inner (adaptation) steps.
        inner_steps: adaptation steps per task during meta-training.
        first_order: drop the second-order terms (FOMAML): cheaper, usually close.
        vectorize: batch tasks with torch.func.vmap (False: loop, for batch-norm modules).
    """

    model: nn.Module
    loss_fn: LossFn = mse
    inner_lr: float = 0.01
    inner_steps: int = 1
    first_order: bool = False
    vectorize: bool = True

    def __post_init__(self) -> None:
        if (
            isinstance(self.inner_steps, bool)
            or not isinstance(self.inner_steps, int)
            or self.inner_steps < 0
        ):
            raise TinykitError(f"inner_steps must be an integer >= 0, got {self.inner_steps!r}")
        if not self.inner_lr > 0:
            raise TinykitError(f"inner_lr must be positive, got {self.inner_lr}")

    def params(self) -> Params:
        """The meta-parameters, as live tensors of the module (gradients reach the module)."""
        return dict(self.model.named_parameters())

    def _buffers(self) -> Params:
        return dict(self.model.named_buffers())

    def forward(self, params: Params, x: torch.Tensor) -> torch.Tensor:
        """Run the module with `params` in place of its own."""
        return functional_call(self.model, (params, self._buffers()), (x,))

    def _loss(self, params: Params, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return self.loss_fn(self.forward(params, x), y)

    def adapt(
        self,
        x: torch.Tensor,
        y: torch.Tensor,
        *,
        steps: int | None = None,
        params: Params | None = None,
        differentiable: bool = False,
    ) -> Params:
        """theta' after `steps` gradient steps on (x, y) from `params` (default: the module's).

        With differentiable=True (meta-training, second order) theta' stays a function of
        theta; otherwise the result is detached, ready for prediction.
        """
        p = self.params() if params is None else params
        if not differentiable:
            p = {k: v.detach() for k, v in p.items()}
        for _ in range(self.inner_steps if steps is None else steps):
            g = grad(self._loss)(p, x, y)
            if self.first_order or not differentiable:
                g = {k: v.detach() for k, v in g.items()}
            p = {k: v - self.inner_lr * g[k] for k, v in p.items()}
        return p

    def task_loss(
        self, params: Params, xs: torch.Tensor, ys: torch.Tensor, xq: torch.Tensor, yq: torch.Tensor
    ) -> torch.Tensor:
        """Query loss of one task after adapting on its support set."""
        adapted = self.adapt(xs, ys, params=params, differentiable=True)
        return self._loss(adapted, xq, yq)

    def meta_loss(
        self, xs: torch.Tensor, ys: torch.Tensor, xq: torch.Tensor, yq: torch.Tensor
    ) -> torch.Tensor:
        """Mean query loss over a batch of tasks: xs (B, K, ...), ys, xq (B, Q, ...), yq.

        Call .backward() on it and step any optimizer over model.parameters().
        """
        params = self.params()
        if self.vectorize:
            per_task = vmap(self.task_loss, in_dims=(None, 0, 0, 0, 0))(params, xs, ys, xq, yq)
        else:
            per_task = torch.stack(
                [self.task_loss(params, *t) for t in zip(xs, ys, xq, yq, strict=True)]
            )
        return per_task.mean()

    @torch.no_grad()
    def predict(self, params: Params, x: torch.Tensor) -> torch.Tensor:
        return self.forward(params, x)

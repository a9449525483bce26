"""The alias problem by hand (homework 4a-c): one training point, a true and an alias feature.

The true feature phi_t and the alias phi_a take the same value at the single training point x
(a caricature of fewer points than features), yet are orthonormal under the test distribution;
the target is y = phi_t. With weights c = (c_0, c_1):

- (a) min-norm regression gives beta_hat = (c_0, c_1) / (c_0^2 + c_1^2), whatever phi(x) is;
- (b) the expected test loss is 1/2 (1 - beta_0 c_0)^2 + 1/2 (beta_1 c_1)^2 = c_1^4 / |c|^4, and
  its gradient is 4 c_0 c_1^3 / |c|^6 * (-c_1, c_0): always at right angles to c;
- (c) so gradient descent with a small step moves c along the circle |c| = |c^(0)| towards
  (|c^(0)|, 0) (sign of c_0 kept), and beta_hat -> (1 / |c^(0)|, 0): all weight on the true feature.

The approach is slow: near the end the gradient shrinks like c_1^3, so c_1 falls like 1/sqrt(t).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from tinykit.errors import TinykitError


def check_start(c0: Sequence[float]) -> tuple[float, float]:
    """A valid start: two finite numbers, not both zero (beta_hat is undefined at c = 0)."""
    if len(c0) != 2:
        raise TinykitError(f"--c0 needs exactly two weights c_0,c_1 (got {len(c0)})")
    a, b = (float(v) for v in c0)
    if not (math.isfinite(a) and math.isfinite(b)):
        raise TinykitError(f"--c0 must be finite numbers, got {a},{b}")
    if a == 0 and b == 0:
        raise TinykitError(
            "--c0 is the zero vector: beta_hat = c / |c|^2 is undefined there; start from a "
            "nonzero c such as 1.0,2.0"
        )
    return a, b


def parse_start(text: str) -> tuple[float, float]:
    """'1.0,2.0' -> (1.0, 2.0), refusing anything that is not two numbers (not both zero)."""
    parts = [p.strip() for p in text.split(",")]
    try:
        vals = [float(p) for p in parts]
    except ValueError:
        raise TinykitError(f"--c0 must be two numbers like 1.0,2.0, got {text!r}") from None
    return check_start(vals)


def beta_hat(c: Sequence[float]) -> np.ndarray:
    """(a): the min-norm coefficients, c / |c|^2."""
    c = np.asarray(c, dtype=np.float64)
    return c / (c @ c)


def min_norm_beta(c: Sequence[float], phi_x: float = 1.0) -> np.ndarray:
    """beta_hat by the general A^T (A A^T)^-1 y, with A = [c_0 phi(x), c_1 phi(x)], y = phi(x)."""
    a = np.asarray(c, dtype=np.float64)[None, :] * phi_x
    return (a.T @ np.linalg.solve(a @ a.T, np.array([phi_x]))).ravel()


def test_loss(c: Sequence[float]) -> float:
    """(b): 1/2 E[(phi_t - beta_0 c_0 phi_t - beta_1 c_1 phi_a)^2] = c_1^4 / |c|^4."""
    c0, c1 = (float(v) for v in c)
    s = c0 * c0 + c1 * c1
    return c1**4 / (s * s)


def loss_gradient(c: Sequence[float]) -> np.ndarray:
    """(b) by hand: d loss / dc = 4 c_0 c_1^3 / |c|^6 * (-c_1, c_0)."""
    c0, c1 = (float(v) for v in c)
    s = c0 * c0 + c1 * c1
    k = 4.0 * c0 * c1**3 / s**3
    return np.array([-k * c1, k * c0])


def loss_gradient_autograd(c: Sequence[float], phi_x: float = 1.0) -> np.ndarray:
    """(b) by torch autograd through the general min-norm solve and the orthonormal test loss.

    An independent route to the same number: nothing here uses the closed forms above.
    """
    import torch

    ct = torch.tensor([float(v) for v in c], dtype=torch.float64, requires_grad=True)
    a = (ct * phi_x)[None, :]
    y = torch.tensor([phi_x], dtype=torch.float64)
    beta = (a.T @ torch.linalg.solve(a @ a.T, y)).ravel()
    w = beta * ct  # coefficients on (phi_t, phi_a); the target is (1, 0)
    loss = 0.5 * ((1 - w[0]) ** 2 + w[1] ** 2)  # orthonormal features: E[.] is a sum of squares
    (g,) = torch.autograd.grad(loss, ct)
    return g.numpy()


@dataclass
class AliasTrace:
    """Gradient descent on c: every iterate, the loss along the way, and the limits it heads to."""

    c: np.ndarray  # (iterations + 1, 2)
    loss: np.ndarray  # (iterations + 1,)
    lr: float

    @property
    def start(self) -> np.ndarray:
        return self.c[0]

    @property
    def final(self) -> np.ndarray:
        return self.c[-1]

    def limit(self) -> np.ndarray:
        """Where c goes: (sign(c_0) |c^(0)|, 0); c_0 = 0 exactly is a stationary point."""
        r = float(np.linalg.norm(self.start))
        if self.start[0] == 0:
            return self.start.copy()
        return np.array([math.copysign(r, self.start[0]), 0.0])


def descend(c0: Sequence[float], *, lr: float = 1.0, iterations: int = 100_000) -> AliasTrace:
    """(c): plain gradient descent on the expected test loss from c0, with the hand gradient."""
    c0v = check_start(c0)
    if not lr > 0:
        raise TinykitError(f"the step size must be positive, got {lr}")
    cs = np.empty((iterations + 1, 2))
    cs[0] = c0v
    a, b = c0v
    for t in range(1, iterations + 1):
        s = a * a + b * b
        k = 4.0 * a * b**3 / (s * s * s)
        a, b = a + lr * k * b, b - lr * k * a
        cs[t] = a, b
    s = (cs**2).sum(1)
    return AliasTrace(c=cs, loss=cs[:, 1] ** 4 / s**2, lr=lr)


def summarize(trace: AliasTrace) -> dict:
    """The figures the homework asks for: start, its norm, final weights, where beta goes."""
    start, final = trace.start, trace.final
    n = len(trace.c) - 1
    idx = np.unique(np.concatenate([[0], np.geomspace(1, n, 200).astype(int), [n]])) if n else [0]
    return {
        "c_start": start.tolist(),
        "norm_start": float(np.linalg.norm(start)),
        "c_final": final.tolist(),
        "norm_final": float(np.linalg.norm(final)),
        "c_limit": trace.limit().tolist(),
        "beta_final": beta_hat(final).tolist(),
        "beta_limit": beta_hat(trace.limit()).tolist() if np.any(trace.limit()) else None,
        "loss_start": float(trace.loss[0]),
        "loss_final": float(trace.loss[-1]),
        "iterations": n,
        "lr": trace.lr,
        "stationary_start": bool(start[0] == 0 or start[1] == 0),
        "history": {
            "iteration": [int(i) for i in idx],
            "c0": trace.c[idx, 0].tolist(),
            "c1": trace.c[idx, 1].tolist(),
            "loss": trace.loss[idx].tolist(),
        },
    }

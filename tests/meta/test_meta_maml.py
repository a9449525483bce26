"""MAML for nn.Module: inner step, second- and first-order meta-gradients by hand, sine waves."""

import numpy as np
import pytest
import torch
from torch import nn

from tinykit.errors import TinykitError
from tinykit.meta.maml import MAML, mse
from tinykit.meta.sine import SineConfig, run_sine


def _scalar_model(w0: float) -> nn.Module:
    m = nn.Linear(1, 1, bias=False).double()
    with torch.no_grad():
        m.weight.fill_(w0)
    return m


def _task(seed):
    g = torch.Generator().manual_seed(seed)
    xs, xq = torch.randn(6, 1, generator=g).double(), torch.randn(5, 1, generator=g).double()
    return xs, 1.7 * xs + 0.1, xq, 1.7 * xq - 0.2


@pytest.mark.parametrize("first_order", [False, True])
def test_meta_gradient_of_a_scalar_linear_model_by_hand(first_order):
    # f(x) = w x, L(w) = mean (w x - y)^2. Inner: w' = w - a * 2 mean(x (w x - y)).
    # dLq(w')/dw = 2 mean(xq (w' xq - yq)) * (1 - 2 a mean(xs^2)); first order drops the factor.
    w0, a = 0.4, 0.05
    xs, ys, xq, yq = _task(0)
    model = _scalar_model(w0)
    maml = MAML(model, mse, inner_lr=a, inner_steps=1, first_order=first_order)
    loss = maml.meta_loss(xs[None], ys[None], xq[None], yq[None])
    loss.backward()
    w1 = w0 - a * 2 * (xs * (w0 * xs - ys)).mean()
    outer = 2 * (xq * (w1 * xq - yq)).mean()
    factor = 1.0 if first_order else 1 - 2 * a * (xs**2).mean()
    assert float(loss) == pytest.approx(float(((w1 * xq - yq) ** 2).mean()), rel=1e-12)
    assert float(model.weight.grad) == pytest.approx(float(outer * factor), rel=1e-10)
    # adapt() leaves the module untouched and gives the same w'
    p = maml.adapt(xs, ys)
    assert float(p["weight"]) == pytest.approx(float(w1), rel=1e-12)
    assert float(model.weight) == w0


def test_vmap_and_loop_give_the_same_meta_gradient():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(1, 8), nn.Tanh(), nn.Linear(8, 1)).double()
    tasks = [_task(s) for s in range(4)]
    batch = [torch.stack(t) for t in zip(*tasks, strict=True)]
    grads = []
    for vec in (True, False):
        net.zero_grad()
        MAML(net, mse, inner_lr=0.1, inner_steps=2, vectorize=vec).meta_loss(*batch).backward()
        grads.append([p.grad.clone() for p in net.parameters()])
    for a, b in zip(*grads, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-12)


def test_bad_inner_settings_are_refused():
    with pytest.raises(TinykitError):
        MAML(_scalar_model(0.0), inner_steps=-1)
    with pytest.raises(TinykitError):
        MAML(_scalar_model(0.0), inner_lr=0.0)


@pytest.mark.slow
def test_sine_maml_beats_the_pretrained_network_after_one_step():
    cfg = SineConfig(iterations=1500, test_tasks=100, eval_steps=(0, 1, 10), seed=0)
    res = run_sine(cfg, progress=False)
    maml, pre = res["mse"]["maml"], res["mse"]["pretrained"]
    assert len(res["per_task_mse"]["maml"]["1"]) == 100
    assert maml["1"]["mean"] < 0.6 * pre["1"]["mean"]
    assert maml["10"]["mean"] < maml["1"]["mean"] < maml["0"]["mean"]
    # the pretrained net starts near the mean function: its 0-step error is the task variance
    assert np.isfinite(pre["0"]["mean"]) and pre["0"]["mean"] > 1.0

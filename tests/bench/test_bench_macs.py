"""MAC counts against hand-worked and published figures, and against thop where thop is right."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from tinykit.bench.macs import count_macs, count_stage_macs


class FunctionalNet(nn.Module):
    """All its work is functional: thop's module hooks never see it."""

    def __init__(self):
        super().__init__()
        g = torch.Generator().manual_seed(0)
        self.w = nn.Parameter(torch.randn(8, 3, 3, 3, generator=g))
        self.fc = nn.Parameter(torch.randn(8 * 16 * 16, 10, generator=g))

    def forward(self, x):
        y = F.relu(F.conv2d(x, self.w, padding=1))
        return torch.matmul(y.flatten(1), self.fc)


# by hand: conv 8x16x16 outputs * (3*3*3) products; matmul 1x2048 @ 2048x10
FUNCTIONAL_MACS = 8 * 16 * 16 * 27 + 2048 * 10  # 75,776


def test_functional_calls_are_counted():
    c = count_macs(FunctionalNet(), torch.zeros(1, 3, 16, 16))
    assert c.macs == FUNCTIONAL_MACS


def test_thop_misses_functional_work():
    from thop import profile

    thop_macs, _ = profile(FunctionalNet(), inputs=(torch.zeros(1, 3, 16, 16),), verbose=False)
    ours = count_macs(FunctionalNet(), torch.zeros(1, 3, 16, 16)).macs
    assert thop_macs == 0  # thop only hooks modules; F.conv2d / torch.matmul are invisible
    assert ours - thop_macs == FUNCTIONAL_MACS


@pytest.fixture(scope="module")
def resnet18():
    import torchvision

    return torchvision.models.resnet18().eval()


def test_resnet18_matches_published_figure(resnet18):
    c = count_macs(resnet18, torch.zeros(1, 3, 224, 224))
    assert abs(c.macs / 1.82e9 - 1) < 0.01  # torchvision lists ~1.8 GMACs ("GFLOPS" 1.81)
    assert len(c.per_layer) == 21  # 20 convolutions (incl. 3 downsample) + fc
    assert c.per_layer["conv1"] == 112 * 112 * 64 * 3 * 7 * 7  # by hand: 118,013,952
    assert sum(c.per_layer.values()) == c.macs  # nothing outside conv/linear


def test_thop_agrees_on_module_work(resnet18):
    """thop is right for modules: with batch norm and pooling (which it charges as extra ops,
    not MACs) set to zero, its total equals ours exactly."""
    from thop import profile
    from thop.vision.basic_hooks import zero_ops

    x = torch.zeros(1, 3, 224, 224)
    not_macs = {nn.BatchNorm2d: zero_ops, nn.AdaptiveAvgPool2d: zero_ops}
    thop_macs, _ = profile(resnet18, inputs=(x,), custom_ops=not_macs, verbose=False)
    assert int(thop_macs) == count_macs(resnet18, x).macs


def test_mobilenet_v2_matches_published_figure():
    import torchvision

    m = torchvision.models.mobilenet_v2().eval()
    c = count_macs(m, torch.zeros(1, 3, 224, 224))
    assert abs(c.macs / 0.30e9 - 1) < 0.01  # published: 300 M multiply-adds (Sandler et al.)


def test_effective_macs_under_fine_grained_sparsity():
    torch.manual_seed(0)
    m = nn.Sequential(
        nn.Conv2d(3, 4, 3, padding=1, bias=False), nn.Flatten(), nn.Linear(4 * 8 * 8, 5, bias=False)
    )
    with torch.no_grad():
        m[0].weight.view(-1)[::2] = 0  # 54 of 108 weights zero: half the conv work is skipped
    c = count_macs(m, torch.zeros(1, 3, 8, 8))
    conv, fc = 4 * 8 * 8 * 27, 256 * 5
    assert c.macs == conv + fc
    assert c.effective_macs == conv // 2 + fc


def test_stage_macs_for_early_exit():
    stages = [nn.Conv2d(3, 4, 3, padding=1), nn.Conv2d(4, 4, 3, padding=1)]
    exits = [
        nn.Sequential(nn.Flatten(), nn.Linear(4 * 8 * 8, 10)),
        nn.Sequential(nn.Flatten(), nn.Linear(4 * 8 * 8, 10)),
    ]
    s = count_stage_macs(stages, torch.zeros(1, 3, 8, 8), exits)
    c1, c2, head = 4 * 64 * 27, 4 * 64 * 36, 256 * 10
    assert s.stage_macs == [c1, c2]
    assert s.exit_macs == [head, head]
    assert s.cumulative == [c1 + head, c1 + c2 + head]

import torch
import torch.nn.functional as F
from torch import nn

from tinykit.bench.macs import count_macs, param_counts


class Functional(nn.Module):
    """Work done in forward by functional calls, not modules."""

    def __init__(self):
        super().__init__()
        self.w = nn.Parameter(torch.randn(8, 1, 3, 3))
        self.p = nn.Parameter(torch.randn(8 * 8 * 8, 10))

    def forward(self, x):
        x = F.conv2d(x, self.w, padding=1)  # 8 out * 1 in * 9 * 64 positions = 4608
        return torch.matmul(x.flatten(1), self.p)  # 512 * 10 = 5120


def test_functional_work_is_counted():
    assert count_macs(Functional(), torch.zeros(1, 1, 8, 8)).macs == 4608 + 5120


def test_hand_counted_conv_linear_and_effective():
    m = nn.Sequential(nn.Conv2d(2, 4, 3, padding=1), nn.Flatten(), nn.Linear(4 * 5 * 5, 3))
    with torch.no_grad():
        m[0].weight[:2] = 0.0  # half the filters pruned
    mc = count_macs(m, torch.zeros(1, 2, 5, 5))
    conv = 4 * 2 * 9 * 25  # 1800
    fc = 100 * 3
    assert mc.macs == conv + fc
    assert mc.per_layer == {"0": conv, "2": fc}
    assert mc.effective_macs == conv // 2 + fc
    assert param_counts(m) == (4 * 2 * 9 + 4 + 300 + 3, 4 * 2 * 9 + 4 + 300 + 3 - 36)


def test_reference_model_macs(reference_model):
    # stem 16*9*1024 + stage1 2*(16*16*9*1024) + stage2 (16*32*9*256 + 32*32*9*256 + 16*32*256)
    # + stage3 (32*64*9*64 + 64*64*9*64 + 32*64*64) + fc 64*10
    expect = (
        147456 + 2 * 2359296 + (1179648 + 2359296 + 131072) + (1179648 + 2359296 + 131072) + 640
    )
    assert count_macs(reference_model, torch.zeros(1, 1, 32, 32)).macs == expect
    assert expect >= 5_000_000

"""Blocks and stages: the fx cut composes back to the backbone exactly; bad blocks are named."""

import pytest
import torch
from torch import nn

from tinykit.earlyexit.blocks import default_blocks, parse_blocks, split_backbone
from tinykit.earlyexit.heads import HeadConfig, attach_heads
from tinykit.errors import TinykitError


def _run(segments, x):
    for s in segments:
        x = s(x)
    return x


def test_resnet8_segments_compose_to_the_backbone(reference_model):
    blocks = default_blocks(reference_model)
    assert blocks == ["stem", "stage1", "stage2", "stage3"]
    segs = split_backbone(reference_model, blocks)
    assert len(segs) == 5
    x = torch.randn(3, 1, 32, 32)
    with torch.no_grad():
        assert torch.equal(_run(segs, x), reference_model(x))
        # each cut hands over exactly the block's output
        assert torch.equal(segs[1](segs[0](x)), reference_model.stage1(reference_model.stem(x)))


def test_torchvision_resnet18_blocks_and_segments():
    import torchvision

    torch.manual_seed(0)
    m = torchvision.models.resnet18(num_classes=10).eval()
    assert default_blocks(m) == ["layer1", "layer2", "layer3", "layer4"]
    segs = split_backbone(m, ["layer1", "layer2", "layer3"])
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        assert torch.equal(_run(segs, x), m(x))
        ee = attach_heads(
            m,
            ["layer1", "layer2", "layer3"],
            torch.zeros(1, 3, 64, 64),
            num_classes=10,
            config=HeadConfig(pool=4),
        )
        outs = ee(x)
    assert [tuple(o.shape) for o in outs] == [(2, 10)] * 4
    assert torch.equal(outs[-1], m(x))
    # layer1 is 64 x 16 x 16 here: pooled to 4 x 4 cells -> 1024 inputs to the linear layer
    assert ee.heads[0].fc.in_features == 64 * 4 * 4
    assert ee.heads[2].fc.in_features == 256 * 4 * 4  # layer3: 4 x 4 already


def test_segments_share_the_backbone_weights(reference_model):
    segs = split_backbone(reference_model, ["stem", "stage1"])
    with torch.no_grad():
        reference_model.stage1.conv1.weight.zero_()
    x = torch.randn(1, 1, 32, 32)
    with torch.no_grad():
        assert torch.equal(_run(segs, x), reference_model(x))


@pytest.mark.parametrize(
    ("blocks", "needle"),
    [
        (["nope"], "block 'nope' does not exist"),
        (["stage1", "stem"], "forward order"),
        (["stage1", "stage1.conv1"], "inside block 'stage1'"),
        (["stage1.conv1"], "not a clean cut"),
        (["fc"], "produces the model's output"),
        ([], "no blocks to hang heads on"),
    ],
)
def test_bad_blocks_are_named(reference_model, blocks, needle):
    with pytest.raises(TinykitError, match=needle):
        split_backbone(reference_model, blocks)


def test_models_without_blocks():
    with pytest.raises(TinykitError, match="no blocks to hang heads on"):
        default_blocks(nn.Linear(4, 2))
    with pytest.raises(TinykitError, match="no default blocks for Sequential.*0, 1"):
        default_blocks(nn.Sequential(nn.Linear(4, 4), nn.Linear(4, 2)))
    with pytest.raises(TinykitError, match="no blocks to hang heads on"):
        attach_heads(nn.Linear(4, 2), [], torch.zeros(1, 4), num_classes=2)


def test_parse_blocks():
    assert parse_blocks(" stem, stage1 ") == ["stem", "stage1"]
    assert parse_blocks("") is None and parse_blocks(None) is None
    with pytest.raises(TinykitError, match="twice"):
        parse_blocks("stem,stem")


def test_head_pooling_cells():
    # 32 x 32 features, 4 cells: 8 x 8 windows; 6 x 6 features, 4 cells wanted: 3 (divides 6)
    h = attach_heads(
        nn.Sequential(
            nn.Conv2d(1, 2, 3, padding=1), nn.Conv2d(2, 2, 1), nn.Flatten(), nn.Linear(72, 3)
        ),
        ["0"],
        torch.zeros(1, 1, 6, 6),
        num_classes=3,
    ).heads[0]
    assert isinstance(h.pool, nn.AvgPool2d) and h.pool.kernel_size == (2, 2)
    assert h.fc.in_features == 2 * 3 * 3
    with pytest.raises(TinykitError, match="pooling"):
        HeadConfig(kind="median")

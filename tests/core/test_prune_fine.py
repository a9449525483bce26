import pytest
import torch
from torch import nn

from tinykit.errors import TinykitError
from tinykit.prune.fine import magnitude_mask, prune_fine


def test_mask_zeroes_exactly_the_smallest():
    w = torch.tensor([[0.5, -0.1, 0.3], [-0.7, 0.05, 0.2]])
    m = magnitude_mask(w, 0.5)  # 3 of 6 smallest |w|: 0.05, 0.1, 0.2
    assert m.tolist() == [[True, False, True], [True, False, False]]


def test_prune_fine_exact_per_layer_sparsity_and_table():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(3, 8, 3), nn.ReLU(), nn.Flatten(), nn.Linear(8 * 16, 5))
    masks = prune_fine(model, {"0": 0.75, "3": 0.5})
    assert int((model[0].weight == 0).sum()) == round(0.75 * 216)
    assert int((model[3].weight == 0).sum()) == 320
    # masks hold after an optimizer step that would revive weights
    opt = torch.optim.SGD(model.parameters(), lr=1.0)
    model(torch.randn(2, 3, 6, 6)).sum().backward()
    opt.step()
    masks.apply()
    assert int((model[0].weight == 0).sum()) == 162


def test_unknown_layer_and_bad_sparsity():
    model = nn.Sequential(nn.Linear(4, 4))
    with pytest.raises(TinykitError, match="no prunable layer named 'fc'"):
        prune_fine(model, {"fc": 0.5})
    with pytest.raises(TinykitError, match=r"\[0, 1\)"):
        prune_fine(model, 1.0)


def test_public_verbs_and_registries(digits, reference_model):
    from tinykit.prune import PruneConfig, prune
    from tinykit.quant import QuantConfig, quantize

    masks = prune(reference_model, PruneConfig(sparsity=0.5))
    assert abs(masks.sparsity()["stage3.conv2"] - 0.5) < 1e-9
    books = quantize(reference_model, QuantConfig(bits=3))
    assert len(torch.unique(reference_model.stage3.conv2.weight)) <= 8 and len(books) == 10
    with pytest.raises(TinykitError, match="use one of channel, fine"):
        PruneConfig(method="magic")
    with pytest.raises(TinykitError, match="linear quantization needs bits 2-8"):
        QuantConfig(method="linear", bits=1)

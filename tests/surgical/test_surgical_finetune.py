"""Surgical fine-tuning keeps every other block bit-identical; deltas restore the tuned model."""

from __future__ import annotations

import numpy as np
import pytest
import torch


@pytest.fixture(scope="module")
def small():
    from tinykit.data import load_digits_data
    from tinykit.models import build_model

    torch.manual_seed(0)
    model = build_model("resnet8", num_classes=10, in_channels=1, width=4).eval()
    return model, load_digits_data(0)


def test_blocks_of_resnet8_and_choices(small):
    from tinykit.errors import TinykitError
    from tinykit.surgical.finetune import model_blocks, resolve_block

    model, _ = small
    assert model_blocks(model) == ["stem", "stage1", "stage2", "stage3", "fc"]
    assert resolve_block(model, "first") == ["stem"]
    assert resolve_block(model, "last") == ["fc"]
    assert resolve_block(model, "stage2") == ["stage2"]
    assert len(resolve_block(model, "all")) == 5
    with pytest.raises(TinykitError, match="no block named 'stage9'"):
        resolve_block(model, "stage9")


@pytest.mark.parametrize("block", ["stem", "stage2", "fc"])
def test_only_the_chosen_block_changes(small, block):
    from tinykit.surgical.finetune import corrupted_inputs, tune_blocks

    model, data = small
    x = corrupted_inputs(data, data.val, "gaussian_noise", 5, seed=0)[:64]
    before = {k: v.clone() for k, v in model.state_dict().items()}
    tuned = tune_blocks(
        model, [block], x, data.val.y[:64], epochs=2, lr=1e-2, batch_size=16, seed=0
    )
    after = tuned.state_dict()
    changed = {k for k in before if not torch.equal(before[k], after[k])}
    assert changed and all(k.startswith(block + ".") for k in changed)
    # batch norm in eval mode: running statistics untouched even inside the block
    assert not any("running" in k or "num_batches" in k for k in changed)
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())  # original kept


def test_delta_holds_only_the_block_and_restores_the_tuned_model(small, tmp_path):
    from tinykit.surgical.delta import apply_delta, load_delta, save_delta
    from tinykit.surgical.finetune import corrupted_inputs, tune_blocks

    model, data = small
    x = corrupted_inputs(data, data.val, "contrast", 5, seed=0)[:32]
    tuned = tune_blocks(
        model, ["stage1"], x, data.val.y[:32], epochs=1, lr=1e-2, batch_size=16, seed=0
    )
    path = save_delta(tmp_path / "d.pt", tuned, ["stage1"], base="test")
    delta = load_delta(path)
    assert delta["blocks"] == ["stage1"]
    assert set(delta["state_dict"]) == {
        n for n, _ in tuned.named_parameters() if n.startswith("stage1.")
    }
    import copy

    restored = apply_delta(copy.deepcopy(model), delta)
    xt = torch.from_numpy(x)
    with torch.no_grad():
        assert torch.equal(restored(xt), tuned(xt))


def test_corrupted_inputs_use_the_specs_scale(small):
    from tinykit.surgical.finetune import corrupted_inputs

    _, data = small
    x = corrupted_inputs(data, data.test, "brightness", 3, seed=0)
    clean = data.inputs("test")
    # digits: (raw / 16 - 0.5) / 0.5, so +0.15 in [0, 1] is +0.3 in model units (no clipping
    # except where a pixel was already above 0.85)
    below = (clean * 0.5 + 0.5) <= 0.85 - 1e-6
    assert np.allclose((x - clean)[below], 0.3, atol=1e-5)


def test_run_surgical_reports_each_choice(small):
    from tinykit.surgical.finetune import SurgicalConfig, run_surgical

    model, data = small
    cfg = SurgicalConfig(
        corruptions=("pixelate",),
        severity=3,
        blocks=("first", "fc"),
        n_train=40,
        epochs=1,
        lrs=(1e-2,),
    )
    seen = []
    report = run_surgical(
        model, data, cfg, progress=False, on_tuned=lambda c, ch, b, m: seen.append((c, ch, b))
    )
    row = report["results"][0]
    assert set(row["choices"]) == {"first", "fc"}
    assert row["choices"]["fc"]["trained_params"] == 4 * 4 * 10 + 10
    assert seen == [("pixelate", "first", ["stem"]), ("pixelate", "fc", ["fc"])]
    assert 0 <= row["none"] <= 1 and 0 <= row["choices"]["first"]["accuracy"] <= 1

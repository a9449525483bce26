"""compress with channel pruning on a torchvision model and your own data, per-layer tables
from TOML, automatic sparsity, linear quantization; sensitivity and inspect commands."""

import json

import numpy as np
import pytest

from tests.conftest import run_cli

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def rgb_dir(tmp_path_factory):
    """Small 3x32x32 data with a learnable signal: the class sets one colour channel's mean."""
    d = tmp_path_factory.mktemp("rgb")
    rng = np.random.default_rng(0)

    def make(n):
        y = np.arange(n) % 3
        x = rng.integers(0, 120, size=(n, 3, 32, 32)).astype(np.uint8)
        for c in range(3):
            x[y == c, c] += 120
        return x, y

    for split, n in (("train", 150), ("test", 60)):
        x, y = make(n)
        np.savez(d / f"{split}.npz", x=x, y=y)
    return d


def test_channel_interface_on_resnet18(rgb_dir, tmp_path):
    out = tmp_path / "out"
    r = run_cli(
        "compress",
        "--prune",
        "channel",
        "--ratio",
        "0.3",
        "--quant",
        "none",
        "--model",
        "resnet18",
        "--num-classes",
        "10",
        "--data",
        str(rgb_dir),
        "--out",
        str(out),
        "--json",
        "--quiet",
        "--finetune-epochs",
        "1",
        "--runs",
        "10",
        "--formats",
        "onnx",
    )
    assert r.returncode == 0, r.stderr
    rep = json.loads(r.stdout)
    # torchvision ResNet-18 at 32x32, 10 classes, by hand: conv1 7x7/2 -> 16x16:
    # 64*3*49*256 = 2,408,448; layer1 at 8x8: 4 * 64*64*9*64 = 9,437,184; layers 2-4 each
    # 1,179,648 (strided conv) + 3 * 2,359,296 + 131,072 (1x1 downsample) = 8,388,608; fc 5,120
    assert rep["baseline"]["macs"] == 2_408_448 + 9_437_184 + 3 * 8_388_608 + 5_120
    cut = 1 - rep["compressed"]["macs"] / rep["baseline"]["macs"]
    assert 0.45 <= cut <= 0.6
    # a dense model, not a mask: only weights that happen to be exactly zero are skipped
    assert rep["compressed"]["effective_macs"] >= 0.999 * rep["compressed"]["macs"]
    assert rep["compressed"]["nonzero_params"] >= 0.999 * rep["compressed"]["params"]
    assert rep["artifacts"][0]["agreement"] >= 0.99
    assert rep["pruning"]["method"] == "channel"
    assert abs(rep["pruning"]["removed_channel_share"] - 0.3) < 0.02  # no --round-to: as asked
    assert rep["pruning"]["layers"]["layer1.0.conv1"]["out"] < 64
    assert "untrained" in r.stderr  # no --weights: said plainly


def test_toml_per_layer_table_and_linear(tmp_path):
    recipe = tmp_path / "r.toml"
    recipe.write_text(
        '[recipe]\nprune = "fine"\nquant = "linear"\nbits = 8\nfinetune_epochs = 1\n'
        'formats = ["onnx"]\nbench_runs = 10\ncalibration = "percentile"\n'
        '[recipe.sparsity]\n"stage3.conv2" = 0.9\n"stage2.conv2" = 0.5\n'
    )
    out = tmp_path / "out"
    r = run_cli("compress", "--recipe", str(recipe), "--out", str(out), "--json", "--quiet")
    assert r.returncode == 0, r.stderr
    rep = json.loads(r.stdout)
    layers = {row["layer"]: row for row in rep["pruning"]["layers"]}
    assert layers["stage3.conv2"]["zeros"] == round(0.9 * 36864)
    assert layers["stage2.conv2"]["zeros"] == 4608
    assert layers["stem.0"]["zeros"] == 0 and rep["pruning"]["all_exact"]
    art = rep["artifacts"][0]
    assert art["precision"] == "int8" and art["agreement"] >= 0.99
    assert art["size_bytes"] < 0.3 * rep["baseline"]["size_bytes"]  # int8 weights + scales
    assert rep["quantization"]["method"] == "linear"
    # pruned zeros stay zero through int8 (the x86 file's weights are 7-bit)
    assert rep["compressed"]["nonzero_params"] <= rep["stages"][1]["nonzero_params"]


def test_linear_int8_interface(tmp_path):
    out = tmp_path / "out"
    r = run_cli(
        "compress",
        "--quant",
        "linear",
        "--bits",
        "8",
        "--prune",
        "none",
        "--out",
        str(out),
        "--json",
        "--quiet",
        "--runs",
        "20",
        "--board",
        "rpi4",
    )
    assert r.returncode == 0, r.stderr
    rep = json.loads(r.stdout)
    arts = {a["format"]: a for a in rep["artifacts"]}
    assert set(arts) == {"onnx", "tflite"}
    for a in arts.values():
        assert a["precision"] == "int8"
        assert a["agreement"] >= 0.99 and a["latency_ms"]["measured"] is True
        assert a["accuracy"] >= rep["baseline"]["accuracy"] - 0.005
    assert arts["tflite"]["io"] == "int8" and arts["onnx"]["io"] == "float"
    # no Raspberry Pi attached: the board figures are estimates and say so
    for a in [*arts.values(), *rep["stages"]]:
        assert a["board_latency_ms"]["measured"] is False and a["board_latency_ms"]["median"] > 0
    assert (out / "latency_vs_macs.png").is_file()
    man = json.loads((out / "bundle" / "digits-resnet8" / "manifest.json").read_text())
    q = man["input"]["quantization"]
    assert q["dtype"] == "int8" and q["scale"] == pytest.approx(2 / 255, rel=1e-6)
    assert man["output"]["quantization"]["scale"] > 0


def test_bad_layer_in_toml(tmp_path):
    recipe = tmp_path / "r.toml"
    recipe.write_text('[recipe.sparsity]\n"stage7.conv9" = 0.5\n')
    r = run_cli("compress", "--recipe", str(recipe), "--out", str(tmp_path / "o"))
    assert r.returncode == 2
    assert "no prunable layer named 'stage7.conv9'" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "o").exists()


def test_sensitivity_and_inspect_commands(tmp_path):
    r = run_cli(
        "sensitivity",
        "--sparsities",
        "0,0.5,0.9",
        "--out",
        str(tmp_path / "s"),
        "--json",
        "--quiet",
    )
    assert r.returncode == 0, r.stderr
    res = json.loads(r.stdout)
    assert res["split"] == "val" and res["sparsities"] == [0.0, 0.5, 0.9]
    assert len(res["accuracy"]) == 10  # every conv and linear layer of ResNet-8
    # the stem (144 weights feeding everything) is more sensitive than the largest layer
    assert res["accuracy"]["stem.0"][2] < res["accuracy"]["stage3.conv2"][2]
    for f in ("sensitivity.json", "sensitivity.png", "params.png"):
        assert (tmp_path / "s" / f).is_file()
    r = run_cli("inspect", "--out", str(tmp_path / "i"), "--json", "--quiet")
    assert r.returncode == 0, r.stderr
    res = json.loads(r.stdout)
    assert res["macs"] == 12_206_720 and res["params"] == 77_754
    row = next(x for x in res["layers"] if x["layer"] == "stage3.conv2")
    assert row["shape"] == [64, 64, 3, 3] and row["macs"] == 64 * 64 * 9 * 64
    assert (tmp_path / "i" / "weights.png").is_file()
    r = run_cli("sensitivity", "--sparsities", "0,1.2", "--out", str(tmp_path / "bad"))
    assert r.returncode == 2 and "outside [0, 1)" in r.stderr
    for grid in ("", "0.5,0.5"):
        r = run_cli("sensitivity", "--sparsities", grid, "--out", str(tmp_path / "bad"))
        assert r.returncode == 2 and "needs distinct values" in r.stderr
    assert not (tmp_path / "bad").exists()


def test_auto_sparsity_from_the_scan(tmp_path):
    """--sparsity auto: per-layer targets from the validation scan, each layer pruned exactly to
    its target, within the accuracy budget; the budget's resolution is said plainly."""
    out = tmp_path / "out"
    r = run_cli(
        "compress",
        "--sparsity",
        "auto",
        "--max-drop",
        "0.5",
        "--quant",
        "none",
        "--formats",
        "onnx",
        "--finetune-epochs",
        "1",
        "--runs",
        "10",
        "--out",
        str(out),
        "--json",
        "--quiet",
    )
    assert r.returncode == 0, r.stderr
    assert "one of the 180 validation images is worth 0.56 points" in r.stderr
    rep = json.loads(r.stdout)
    chosen = json.loads((out / "sensitivity.json").read_text())["chosen"]
    layers = {x["layer"]: x for x in rep["pruning"]["layers"]}
    assert set(layers) == set(chosen) and rep["pruning"]["all_exact"] is True
    for name, target in chosen.items():
        x = layers[name]
        assert x["target"] == target and x["zeros"] == round(target * x["weights"])
    assert max(chosen.values()) > 0.5  # the scan found layers that take heavy pruning
    assert rep["compressed"]["nonzero_params"] < 0.6 * rep["baseline"]["nonzero_params"]

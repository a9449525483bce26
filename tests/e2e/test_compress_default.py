"""`tinykit compress --bits 4` on the embedded default, checked against the issue's bar."""

import json

import numpy as np
import pytest

from tests.conftest import run_cli

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("c") / "out"
    r = run_cli("compress", "--bits", "4", "--out", str(out), "--json", "--quiet")
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout), out


def test_report_contract(run):
    rep, out = run
    assert json.loads((out / "report.json").read_text()) == rep
    for key in ("baseline", "compressed", "artifacts", "recipe", "environment"):
        assert key in rep
    for part in (rep["baseline"], rep["compressed"], *rep["artifacts"]):
        for f in (
            "accuracy",
            "size_bytes",
            "params",
            "nonzero_params",
            "macs",
            "effective_macs",
            "latency_ms",
        ):
            assert f in part, f
        assert part["latency_ms"]["median"] > 0 and part["latency_ms"]["measured"] is True
    assert rep["recipe"]["quant"] == "kmeans" and rep["recipe"]["bits"] == 4
    assert {a["format"] for a in rep["artifacts"]} == {"onnx", "tflite"}
    assert rep["baseline"]["macs"] == rep["compressed"]["macs"] == 12_206_720
    # fine-grained pruning: effective MACs and nonzero params drop, dense MACs do not
    assert rep["compressed"]["effective_macs"] < 0.5 * rep["baseline"]["macs"]
    assert rep["compressed"]["nonzero_params"] < 0.5 * rep["baseline"]["nonzero_params"]
    # baseline size is the fp32 ONNX export
    assert rep["baseline"]["size_bytes"] == (out / rep["baseline"]["onnx"]).stat().st_size


def test_done_criteria(run):
    rep, out = run
    base = rep["baseline"]
    assert base["accuracy"] >= 0.97
    onnx = next(a for a in rep["artifacts"] if a["format"] == "onnx")
    assert onnx["precision"] == "kmeans4"
    assert onnx["accuracy"] >= base["accuracy"] - 0.01
    assert onnx["size_bytes"] <= 0.16 * base["size_bytes"]
    for a in rep["artifacts"]:
        assert a["agreement"] >= 0.99
        assert a["size_bytes"] == (out / a["path"]).stat().st_size


def test_bundle_runs_from_the_manifest_alone(run, digits):
    """An app's view: read manifest.json, prepare raw digits as it says, run onnxruntime."""
    import onnxruntime as ort

    rep, out = run
    bundle = out / "bundle" / "digits-resnet8"
    man = json.loads((bundle / "manifest.json").read_text())
    assert man["input"]["shape"] == [1, 1, 32, 32] and man["input"]["layout"] == "NCHW"
    assert man["labels"] == [str(i) for i in range(10)]
    pre = man["input"]["preprocess"]
    entry = next(a for a in man["artifacts"] if a["format"] == "onnx")
    sess = ort.InferenceSession(str(bundle / entry["path"]), providers=["CPUExecutionProvider"])
    raw = digits.test.x  # raw 8x8 pixel counts
    import importlib.util

    spec = importlib.util.spec_from_file_location("bundle_pre", bundle / "preprocess.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    x = mod.preprocess(
        raw, scale=pre["scale"], mean=pre["mean"], std=pre["std"], resize=pre["resize"]
    )
    preds = np.array(
        [sess.run(None, {man["input"]["name"]: x[i : i + 1]})[0].argmax() for i in range(len(x))]
    )
    acc = float((preds == digits.test.y).mean())
    onnx = next(a for a in rep["artifacts"] if a["format"] == "onnx")
    assert acc == pytest.approx(onnx["accuracy"])
    assert entry["tensors"] == {"inputs": [man["input"]["name"]], "outputs": ["logits"]}
    # the .tflite through LiteRT's signature runner, by the names its entry gives
    from ai_edge_litert.interpreter import Interpreter

    tfl = next(a for a in man["artifacts"] if a["format"] == "tflite")
    ((sig_name, sig),) = tfl["signatures"].items()
    runner = Interpreter(model_path=str(bundle / tfl["path"])).get_signature_runner(sig_name)
    tfl_preds = np.array(
        [runner(**{sig["inputs"][0]: x[i : i + 1]})[sig["outputs"][0]].argmax() for i in range(60)]
    )
    assert (tfl_preds == preds[:60]).mean() >= 0.95
    assert (bundle.parent / "digits-resnet8.zip").is_file()


def test_plot_and_checkpoint(run):
    from tinykit.checkpoint import load_checkpoint

    rep, out = run
    png = (out / "weights.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 20_000
    model = load_checkpoint(out / "model.pt").build()
    conv = model.stage3.conv2.weight
    assert len(np.unique(conv.detach().numpy())) <= 16  # 4-bit codebook, zero included
    sparsity = float((conv == 0).float().mean())
    assert sparsity == pytest.approx(rep["recipe"]["sparsity"], abs=1e-3)


def test_second_run_uses_cache_and_is_identical(run, tmp_path):
    rep, _ = run
    r = run_cli(
        "compress",
        "--bits",
        "4",
        "--out",
        str(tmp_path / "o2"),
        "--json",
        "--quiet",
        "--runs",
        "20",
        "--formats",
        "onnx",
    )
    assert r.returncode == 0, r.stderr
    rep2 = json.loads(r.stdout)
    assert rep2["compressed"]["accuracy"] == rep["compressed"]["accuracy"]
    assert rep2["artifacts"][0]["size_bytes"] == rep["artifacts"][0]["size_bytes"]

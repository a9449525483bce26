"""tinykit difficulty / earlyexit end to end: outputs, exported stages that decide exactly as
PyTorch does, the standalone staged runner, and one-line errors with exit status 2."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from tinykit.cli.main import main

PNG = b"\x89PNG\r\n\x1a\n"


def _run(args, capsys):
    try:
        main(args)
        code = 0
    except SystemExit as e:
        code = e.code
    out = capsys.readouterr()
    return code, out.out, out.err


def _png(path):
    return path.read_bytes()[:8] == PNG and path.stat().st_size > 5000


def test_help_does_not_import_torch():
    code = (
        "import sys\nfrom tinykit.cli.main import main\n"
        "for argv in (['earlyexit', '--help'], ['difficulty', '--help']):\n"
        "    try:\n        main(argv)\n    except SystemExit:\n        pass\n"
        "print('torch' in sys.modules)"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "--max-drop" in r.stdout and "--k" in r.stdout
    assert r.stdout.strip().endswith("False")


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["earlyexit", "--thresholds", "0.9,1.5,0.9"], "threshold 1.5 is outside (0, 1]"),
        (["earlyexit", "--thresholds", "0.9,0,0.9"], "threshold 0 is outside (0, 1]"),
        (["earlyexit", "--sweep", "0.5,2"], "sweep threshold 2 is outside (0, 1]"),
        (["earlyexit", "--blocks", "stem,nope"], "block 'nope' does not exist in ResNet8"),
        (["earlyexit", "--blocks", "fc"], "block 'fc' produces the model's output"),
        (["earlyexit", "--thresholds", "0.9,0.9"], "2 thresholds given for 3 exit heads"),
        (["earlyexit", "--max-drop", "1", "--mac-budget", "0.5"], "two targets"),
        (["earlyexit", "--formats", ""], "no export format given"),
        (["difficulty", "--blocks", "stage9"], "block 'stage9' does not exist"),
        (["difficulty", "--blocks", "stage2,stem"], "--blocks must be in forward order"),
        (["difficulty", "--blocks", "stage1.conv1"], "'stage1.conv1' is not a clean cut"),
        (["difficulty", "--blocks", "fc"], "block 'fc' produces the model's output"),
    ],
)
def test_bad_input_is_one_line_and_status_2(args, needle, capsys, tmp_path):
    code, out, err = _run(
        [*args, "--out", str(tmp_path / "o"), "--quiet", "--no-bench"]
        if args[0] == "earlyexit"
        else [*args, "--out", str(tmp_path / "o"), "--quiet"],
        capsys,
    )
    lines = [ln for ln in err.strip().splitlines() if ln.strip()]
    assert code == 2, err
    assert len(lines) == 1 and lines[0].startswith("tinykit: error:") and needle in lines[0]
    assert not (tmp_path / "o").exists()  # nothing half-written


def test_backbone_without_known_blocks_is_named(tmp_path, capsys):
    rng = np.random.default_rng(0)
    d = tmp_path / "rgb"
    d.mkdir()
    for split, n in (("train", 40), ("test", 10)):
        np.savez(
            d / f"{split}.npz", x=rng.random((n, 3, 32, 32), dtype=np.float32), y=np.arange(n) % 2
        )
    code, _, err = _run(
        [
            "earlyexit",
            "--model",
            "mobilenet_v2",
            "--data",
            str(d),
            "--out",
            str(tmp_path / "o"),
            "--quiet",
            "--no-bench",
        ],
        capsys,
    )
    assert code == 2
    assert "no default blocks for MobileNetV2: name them with --blocks" in err
    assert len(err.strip().splitlines()) == 2  # the warning about random weights, the error


@pytest.fixture(scope="module")
def ee_run(tmp_path_factory):
    """One real run: reference ResNet-8, ONNX and TFLite stages, one timed pass each."""
    out = tmp_path_factory.mktemp("ee") / "run"
    try:
        main(["earlyexit", "--out", str(out), "--quiet", "--passes", "1", "--json"])
    except SystemExit as e:
        assert e.code in (0, None)
    return out, json.loads((out / "earlyexit.json").read_text())


@pytest.mark.slow
def test_earlyexit_report_and_targets(ee_run):
    out, rep = ee_run
    for f in ("accuracy_vs_macs.png", "exit_vs_depth.png"):
        assert _png(out / f), f
    t = rep["test"]
    assert rep["exits"] == ["stem", "stage1", "stage2"]
    assert len(rep["thresholds"]) == 3 and all(0 < v <= 1 for v in rep["thresholds"])
    assert sum(t["exit_counts"]) == 359 == len(t["exits"])
    assert np.bincount(t["exits"], minlength=4).tolist() == t["exit_counts"]
    # the target on the reference model: >= 40% MACs saved, <= 1 more test error
    assert t["mac_ratio"] <= 0.6
    assert round(359 * (t["full_accuracy"] - t["accuracy"])) <= 1
    # calibration met its target on the validation split
    v = rep["calibration"]["val"]
    assert 100 * (v["full_accuracy"] - v["accuracy"]) <= 0.5
    # average MACs are the exits' cumulative MACs weighted by the exit counts
    cum = rep["macs"]["cumulative"]
    assert t["average_macs"] == pytest.approx(np.dot(t["exit_counts"], cum) / 359)
    ev = rep["difficulty"]["exit_vs_depth"]
    assert np.sum(ev["counts"]) == 359 and np.array(ev["counts"]).shape == (5, 4)
    assert len(rep["sweep"]["test"]) == 11


@pytest.mark.slow
def test_exported_stages_decide_exactly_as_pytorch(ee_run):
    out, rep = ee_run
    for rt in ("onnxruntime", "tflite"):
        v = rep["verification"][rt]
        assert v["samples"] == 359
        assert v["exit_agreement"] == 1.0 and v["prediction_agreement"] == 1.0, rt
        assert v["accuracy"] == rep["test"]["accuracy"]


@pytest.mark.slow
def test_manifest_early_exit_section(ee_run):
    from tinykit.earlyexit.decide import CONFIDENCE_RULE
    from tinykit.fileio import sha256

    out, rep = ee_run
    bundle = out / rep["bundle"]
    man = json.loads((bundle / "manifest.json").read_text())
    ee = man["early_exit"]
    assert [s["exit_after"] for s in ee["stages"]] == ["stem", "stage1", "stage2", "final"]
    assert [s["threshold"] for s in ee["stages"]] == [*rep["thresholds"], None]
    assert [s["cumulative_macs"] for s in ee["stages"]] == rep["macs"]["cumulative"]
    assert ee["confidence_rule"] == CONFIDENCE_RULE
    assert ee["tflite"]["signatures"] == ["stage0", "stage1", "stage2", "stage3"]
    assert ee["stages"][1]["input"]["shape"] == [1, 16, 32, 32]
    assert ee["stages"][2]["features_shape"] == [1, 32, 16, 16]
    for a in man["artifacts"]:
        assert sha256(bundle / a["path"]) == a["sha256"]
    assert {a["role"] for a in man["artifacts"]} >= {"stage0", "stage3", "stages", "full"}
    assert (bundle / "staged_runner.py").is_file() and (bundle / "preprocess.py").is_file()
    assert bundle.with_suffix(".zip").is_file()
    lat = rep["latency"]["onnxruntime"]
    assert lat["measured"] is True and lat["latency_ms"]["full"]["mean"] > 0
    assert lat["mac_saving"] == pytest.approx(1 - rep["test"]["mac_ratio"])


@pytest.mark.slow
def test_bundled_runner_is_standalone_and_agrees(ee_run):
    import ast

    out, rep = ee_run
    bundle = out / rep["bundle"]
    src = (bundle / "staged_runner.py").read_text()
    names = set()
    for node in ast.walk(ast.parse(src)):
        if isinstance(node, ast.Import):
            names |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            names.add((node.module or "").split(".")[0])
    assert names <= {
        "__future__",
        "argparse",
        "json",
        "os",
        "platform",
        "signal",
        "statistics",
        "sys",
        "time",
        "numpy",
        "onnxruntime",
        "ai_edge_litert",
        "tflite_runtime",
    }
    code = (
        "import runpy, sys\n"
        f"sys.argv = ['staged_runner.py', {str(bundle)!r}, '--inputs', "
        f"{str(out / 'test_inputs.npz')!r}, '--runtime', 'tflite', '--passes', '1', "
        "'--per-input']\n"
        "try:\n    runpy.run_path('staged_runner.py', run_name='__main__')\n"
        "except SystemExit as e:\n    assert e.code == 0\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.startswith('tinykit'))))"
    )
    r = subprocess.run(
        [sys.executable, "-c", "import json\n" + code],
        capture_output=True,
        text=True,
        cwd=bundle,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
    )
    assert r.returncode == 0, r.stderr
    lines = r.stdout.strip().splitlines()
    assert json.loads(lines[-1]) == []  # nothing from tinykit was imported
    res = json.loads(lines[-2])
    assert res["exits"] == rep["test"]["exits"]
    assert res["accuracy"] == rep["test"]["accuracy"]
    assert res["exit_counts"] == rep["test"]["exit_counts"]


def test_runner_confidence_is_the_manifest_rule():
    from tinykit.bench import staged_runner
    from tinykit.earlyexit.decide import confidence

    z = np.random.default_rng(0).normal(scale=8, size=(50, 10))
    ours = confidence(z)
    assert [staged_runner.confidence(row) for row in z] == ours.tolist()


@pytest.mark.slow
def test_difficulty_command(tmp_path, capsys):
    out = tmp_path / "d"
    code, stdout, err = _run(
        ["difficulty", "--out", str(out), "--quiet", "--max-dim", "1024", "--json"], capsys
    )
    assert code in (0, None), err
    res = json.loads(stdout)
    assert len(res["examples"]) == 359 and res["k"] == 30
    assert res["blocks"] == ["stem", "stage1", "stage2", "stage3"]
    assert sum(d["count"] for d in res["per_depth"]) == 359
    assert json.loads((out / "difficulty.json").read_text())["per_depth"] == res["per_depth"]
    for f in ("depth_histogram.png", "accuracy_by_depth.png", "examples.png"):
        assert _png(out / f), f
    depths = np.array([e["depth"] for e in res["examples"]])
    assert depths.min() == 0 and res["mean_depth"] == pytest.approx(depths.mean())

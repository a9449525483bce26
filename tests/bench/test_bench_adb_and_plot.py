"""The adb command line (quoting, options) and the latency-vs-MACs plot."""

from __future__ import annotations

import shlex

import pytest

from tinykit.bench.adb import AdbTarget, adb_bench, benchmark_command
from tinykit.errors import TinykitError


def test_benchmark_command_quotes_everything():
    cmd = benchmark_command(
        "/data/local/tmp/bm",
        "/data/local/tmp/d/model.tflite",
        threads=4,
        runs=50,
        warmup=5,
        delegate="gpu",
        taskset="f0",
        signature="serve; rm -rf /",
        timeout=120,
    )
    words = shlex.split(cmd.split("else ", 1)[1].rsplit("; fi", 1)[0])  # the no-timeout branch
    assert words == [
        "taskset",
        "f0",
        "/data/local/tmp/bm",
        "--graph=/data/local/tmp/d/model.tflite",
        "--num_threads=4",
        "--num_runs=50",
        "--warmup_runs=5",
        "--use_gpu=true",
        "--signature_to_run_for=serve; rm -rf /",
    ]
    assert "timeout 120 taskset f0" in cmd


def test_bad_taskset_and_delegate():
    with pytest.raises(TinykitError, match="hexadecimal CPU mask"):
        benchmark_command("bm", "g", threads=1, runs=1, warmup=0, taskset="f0;reboot")
    with pytest.raises(TinykitError, match="unknown delegate"):
        benchmark_command("bm", "g", threads=1, runs=1, warmup=0, delegate="npu")


def test_missing_adb_is_one_clear_error(artifacts):
    with pytest.raises(TinykitError, match="no adb here"):
        adb_bench(artifacts["tflite"], AdbTarget(adb="/nonexistent/adb"))


def test_plot_points(tmp_path):
    from matplotlib.image import imread

    from tinykit.bench.plot import latency_vs_macs_plot

    pts = [
        {
            "stage": "baseline",
            "runtime": "onnxruntime",
            "macs": 12e6,
            "latency_ms": {"median": 0.20, "measured": True},
        },
        {
            "stage": "pruned",
            "runtime": "onnxruntime",
            "macs": 6e6,
            "latency_ms": {"median": 0.12, "measured": True},
        },
        {"stage": "baseline", "runtime": "ai-edge-litert", "macs": 12e6, "latency_ms": 0.25},
        {
            "stage": "quantized",
            "runtime": "rpi4 estimate",
            "macs": 6e6,
            "latency_ms": {"median": 1.1, "measured": False},
        },
    ]
    p = latency_vs_macs_plot(pts, tmp_path / "lat.png")
    assert p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    h, w = imread(p).shape[:2]
    assert w > 400 and h > 300
    with pytest.raises(TinykitError, match="no points"):
        latency_vs_macs_plot([], tmp_path / "none.png")
    assert not (tmp_path / "none.png").exists()

"""Roofline estimates: hand-checked arithmetic, labels, and the host estimate against a
measurement on this machine (the error is printed and bounded)."""

from __future__ import annotations

import pytest

from tinykit.bench.board import bench_on_board
from tinykit.bench.estimate import estimate, roofline_ms
from tinykit.bench.onnx_macs import NodeCost, OnnxMacCount
from tinykit.boards import load_board


def test_roofline_by_hand():
    pi4 = load_board("rpi4")  # 1 core: 7.2 GMAC/s fp32, 12.8 GB/s
    c = OnnxMacCount(
        macs=0,
        effective_macs=0,
        bytes=0,
        per_node=[
            NodeCost("conv", "Conv", 72_000_000, 72_000_000, 1_280_000),  # 10 ms vs 0.1 ms
            NodeCost("relu", "Relu", 0, 0, 12_800_000),
        ],
    )  # 0 vs 1 ms
    r = roofline_ms(c, pi4, threads=1)
    assert r["ms"] == pytest.approx(11.0) and r["compute_bound_layers"] == 1
    r8 = roofline_ms(c, pi4, threads=1, precision="int8")  # 2x MACs/cycle without dot product
    assert r8["ms"] == pytest.approx(6.0)


def test_estimates_are_labelled_and_scale_with_the_board(artifacts):
    e4 = bench_on_board(artifacts["tflite"], "rpi4")
    e5 = bench_on_board(artifacts["tflite"], "rpi5")
    for e in (e4, e5):
        assert e["measured"] is False and e["estimate"] == "roofline" and e["runs"] == 0
    assert e4["board"] == "rpi4" and e4["macs"] == 12_206_720
    assert e5["median"] < e4["median"]  # faster cores, same model


def test_host_estimate_against_measurement(artifacts):
    host = load_board("host")
    for kind in ("onnx", "tflite"):
        est = estimate(artifacts[kind], host, threads=1)["median"]
        meas = bench_on_board(artifacts[kind], host, runs=50, warmup=5)["median"]
        err = est / meas - 1
        print(f"host estimate {kind}: {est:.3f} ms vs measured {meas:.3f} ms ({100 * err:+.0f}%)")
        assert 1 / 3 < est / meas < 3  # measured here: within -57%..+45% (docs/bench.md)

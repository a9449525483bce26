"""Local latency: fresh-process runs, pooled repeats, the stability check, the runner's JSON."""

from __future__ import annotations

import json
import statistics
import subprocess
import sys

import pytest

from tinykit.bench.latency import RUNNER, artifact_kind, bench, combine
from tinykit.errors import TinykitError


def _record(times, **kw):
    from tinykit.bench.runner import summarize

    r = summarize(times, first_ms=5.0)
    r.update(runtime="onnxruntime", peak_rss_kb=kw.get("rss", 1000), threads=1, warmup=0)
    return r


def test_pooled_figures_are_over_every_run():
    a, b = [2.0, 2.1, 2.2, 2.3], [2.05, 2.15, 2.25, 9.0]
    out = combine([_record(a, rss=10), _record(b, rss=30)])
    assert out["median"] == statistics.median(a + b) and out["runs"] == 8
    assert out["mean"] == pytest.approx(statistics.fmean(a + b))
    assert out["repeat_medians"] == pytest.approx([2.15, 2.2]) and out["peak_rss_kb"] == 30
    assert out["first_ms"] == 5.0 and out["stable"] and out["warnings"] == []


def test_unstable_figure_warns_over_5_percent_at_1ms_or_more():
    out = combine([_record([10.0] * 5), _record([10.6] * 5)])  # medians 6% apart
    assert out["spread"] == pytest.approx(0.06) and not out["stable"]
    assert "differ by 6.0%" in out["warnings"][0]
    ok = combine([_record([10.0] * 5), _record([10.4] * 5)])  # 4%: fine
    assert ok["stable"] and ok["warnings"] == []
    fast = combine([_record([0.10] * 5), _record([0.20] * 5)])  # 100% apart but under 1 ms
    assert fast["stable"] and fast["warnings"] == []


def test_single_process_judged_on_its_two_halves():
    out = combine([_record([10.0] * 10 + [12.0] * 10)])
    assert out["spread"] == pytest.approx(0.2) and not out["stable"]
    assert "halves of the runs" in out["warnings"][0]


def test_runner_json_and_first_inference_apart(artifacts):
    r = subprocess.run(
        [sys.executable, str(RUNNER), str(artifacts["tflite"]), "--runs", "7", "--warmup", "2"],
        capture_output=True,
        text=True,
        check=True,
    )
    res = json.loads(r.stdout)
    assert res["runs"] == 7 and "times_ms" not in res and res["first_ms"] > 0
    assert res["p90"] >= res["median"] >= res["min"] and res["runtime"] == "ai-edge-litert"
    assert set(res["cpu_flags"]) <= {
        "avx2",
        "fma",
        "avx512f",
        "avx512_vnni",
        "avx_vnni",
        "amx_int8",
        "amx_tile",
        "asimd",
        "asimddp",
        "i8mm",
        "sve",
        "sve2",
    }


def test_runner_imports_nothing_from_tinykit():
    src = RUNNER.read_text()
    assert "tinykit" not in "".join(
        ln for ln in src.splitlines() if ln.lstrip().startswith(("import", "from"))
    )


def test_each_kind_in_its_own_runtime(artifacts):
    for kind, runtime in (
        ("onnx", "onnxruntime"),
        ("tflite", "ai-edge-litert"),
        ("checkpoint", "pytorch"),
    ):
        r = bench(artifacts[kind], runs=10, warmup=1)
        assert r["runtime"] == runtime and r["board"] == "host" and r["measured"] is True
        assert r["runs"] == 10 and r["median"] > 0 and r["peak_rss_kb"] > 0


def test_artifact_kinds(tmp_path):
    for name, kind in (("a.onnx", "onnx"), ("b.TFLITE", "tflite"), ("c.pt", "checkpoint")):
        (tmp_path / name).write_bytes(b"x")
        assert artifact_kind(tmp_path / name) == kind
    (tmp_path / "d.bin").write_bytes(b"x")
    with pytest.raises(TinykitError, match="d.bin is not a model"):
        artifact_kind(tmp_path / "d.bin")
    with pytest.raises(TinykitError, match="does not exist"):
        artifact_kind(tmp_path / "missing.onnx")


def test_checkpoint_that_is_not_one(tmp_path):
    p = tmp_path / "weights.pt"
    p.write_bytes(b"not a torch file at all")
    with pytest.raises(TinykitError, match=r"weights\.pt(: not a PyTorch| is not a tinykit)"):
        bench(p, runs=2, warmup=0)

"""The bench table's words: labels that tell files apart, and footers that say what was done."""

from __future__ import annotations

from tinykit.bench.report import render_bench, short_labels
from tinykit.boards import load_board


def test_labels_keep_just_enough_folders():
    paths = ["/x/c4/model.pt", "/x/c8/model.pt", "/y/m.onnx"]
    assert short_labels(paths) == ["c4/model.pt", "c8/model.pt", "m.onnx"]
    assert short_labels(["/a/m.onnx", "/a/m.onnx"]) == ["m.onnx", "m.onnx"]  # one file twice


def _report(board, lat):
    lat = {"board": board, **lat}
    return {
        "board": load_board(board).to_dict(),
        "results": [
            {
                "artifact": "/x/m.tflite",
                "label": "m.tflite",
                "kind": "tflite",
                "macs": 10,
                "effective_macs": 10,
                "size_bytes": 1,
                "latency_ms": lat,
            }
        ],
    }


def test_a_device_unlike_its_profile_is_pointed_out():
    lat = {
        "median": 1.0,
        "p90": 1.1,
        "mean": 1.0,
        "std": 0.1,
        "first_ms": 2.0,
        "runs": 10,
        "repeats": 1,
        "runtime": "ai-edge-litert",
        "threads": 1,
        "measured": True,
        "machine": "x86_64",
        "cpu": "AMD EPYC",
        "cpu_flags": ["avx2"],
    }
    text = render_bench(_report("rpi5", lat))
    assert "warning: the device is x86_64, but profile 'rpi5' describes Broadcom" in text
    text = render_bench(_report("rpi5", {**lat, "machine": "aarch64", "cpu_flags": ["asimd"]}))
    assert "warning: the device" not in text


def test_estimate_footer_names_every_peak_and_the_way_to_measure():
    def est(prec, peak):
        return {
            "median": 1.0,
            "runtime": "roofline estimate",
            "board": "rpi5",
            "threads": 1,
            "measured": False,
            "roofline": {"peak_gmacs": peak, "precision": prec},
        }

    rep = _report("rpi5", est("int8", 76.8))
    rep["results"].append({**rep["results"][0], "latency_ms": est("fp32", 19.2)})
    text = render_bench(rep)
    assert (
        "19.2 Gfp32 MAC/s, 76.8 Gint8 MAC/s" in text and "pass --host (without --estimate)" in text
    )
    assert "drop --estimate to measure on this machine" in render_bench(
        _report("host", est("fp32", 50))
    )

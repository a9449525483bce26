"""Int8 ONNX speed (issue 4), side by side in one run: tinykit's int8 ONNX against the model
onnxruntime's own ``quantize_static`` makes from the same fp32 ONNX (QDQ, per-channel, same
calibration inputs) and against fp32, for CIFAR-size ResNet-18 (3x32x32) and MobileNetV2
(3x224x224). Each file is timed in its own process (batch 1, 1 thread, median).
Target: tinykit int8 at least as fast as quantize_static's, and faster than fp32.

    .venv/bin/python bench/perf/int8_speed.py [--runs 100]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

MODELS = {"cifar_resnet18": (1, 3, 32, 32), "mobilenet_v2": (1, 3, 224, 224)}


def build_files(arch: str, shape, d: Path) -> dict[str, Path]:
    import numpy as np
    import torch
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    from tinykit.exporters.onnx import export_onnx
    from tinykit.exporters.onnx_qop import export_onnx_qop
    from tinykit.models import build_model
    from tinykit.quant.linear import x86_variant
    from tinykit.quant.qgraph import build_qgraph
    from tinykit.spec import InputSpec
    from tinykit.transforms import fold_batchnorm

    torch.manual_seed(0)
    m = build_model(arch, num_classes=10, in_channels=3).eval()
    for mod in m.modules():  # trained-like batch-norm statistics
        if isinstance(mod, torch.nn.BatchNorm2d):
            mod.running_var.uniform_(0.5, 2.0)
            mod.running_mean.uniform_(-0.2, 0.2)
    spec = InputSpec(shape=shape, labels=tuple(map(str, range(10))))
    calib = torch.randn(32, *shape[1:])
    files = {
        "fp32": d / f"{arch}.fp32.onnx",
        "ort": d / f"{arch}.ort_qdq.onnx",
        "tinykit": d / f"{arch}.tinykit_int8.onnx",
    }
    export_onnx(m, spec, files["fp32"])
    fold_batchnorm(m)
    g, gm = build_qgraph(m, [calib[i : i + 8] for i in range(0, 32, 8)], progress=False)
    export_onnx_qop(x86_variant(gm, g), spec, files["tinykit"], unsigned=True)

    class Reader(CalibrationDataReader):
        def __init__(self):
            self.it = iter([{"input": calib[i : i + 1].numpy()} for i in range(len(calib))])

        def get_next(self):
            return next(self.it, None)

    pre = d / f"{arch}.pre.onnx"
    quant_pre_process(str(files["fp32"]), str(pre))
    quantize_static(
        str(pre), str(files["ort"]), Reader(), quant_format=QuantFormat.QDQ, per_channel=True
    )
    del np
    return files


def main() -> int:
    from tinykit.bench.latency import bench

    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=100)
    a = ap.parse_args()
    ok = True
    print(
        f"{'model':<16} {'fp32 ms':>9} {'ORT quantize_static ms':>23} {'tinykit int8 ms':>16} "
        f"{'vs ORT':>7} {'vs fp32':>8}"
    )
    with tempfile.TemporaryDirectory() as d:
        for arch, shape in MODELS.items():
            files = build_files(arch, shape, Path(d))
            t = {k: bench(p, threads=1, runs=a.runs, warmup=20)["median"] for k, p in files.items()}
            vs_ort, vs_fp32 = t["ort"] / t["tinykit"], t["fp32"] / t["tinykit"]
            ok &= vs_ort >= 1.0 and vs_fp32 > 1.0
            print(
                f"{arch:<16} {t['fp32']:>9.3f} {t['ort']:>23.3f} {t['tinykit']:>16.3f} "
                f"{vs_ort:>6.2f}x {vs_fp32:>7.2f}x"
            )
    print("target (tinykit >= ORT's quantize_static, > fp32):", "met" if ok else "MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

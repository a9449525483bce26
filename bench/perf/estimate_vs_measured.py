"""The roofline estimate of the host board against a measurement on this machine.

Untrained ResNet-8 (digits shape) and CIFAR ResNet-18, as ONNX (onnxruntime) and TFLite
(ai-edge-litert), 1 thread: the estimate, the measured median, and the error.

    .venv/bin/python bench/perf/estimate_vs_measured.py
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path


def main() -> int:
    import torch

    from tinykit.bench.estimate import estimate
    from tinykit.bench.latency import bench
    from tinykit.boards import load_board
    from tinykit.exporters.onnx import export_onnx
    from tinykit.exporters.tflite import export_tflite
    from tinykit.models import build_model
    from tinykit.spec import InputSpec

    host = load_board("host")
    print(
        f"host: {host.cpu_model}, {host.clock_ghz} GHz, measured peaks "
        f"{host.fp32_macs_per_cycle:g} fp32 MAC/cycle/core, {host.bandwidth_gbs:g} GB/s"
    )
    print(f"{'model':<26} {'MACs':>9} {'estimate ms':>11} {'measured ms':>11} {'error':>7}")
    with tempfile.TemporaryDirectory() as d:
        for arch, ch in (("resnet8", 1), ("cifar_resnet18", 3)):
            torch.manual_seed(0)
            m = build_model(arch, num_classes=10, in_channels=ch).eval()
            spec = InputSpec(shape=(1, ch, 32, 32), labels=tuple(str(i) for i in range(10)))
            for fmt, export in (("onnx", export_onnx), ("tflite", export_tflite)):
                p = Path(d) / f"{arch}.{fmt}"
                export(m, spec, p)
                e = estimate(p, host, threads=1)
                r = bench(p, threads=1, runs=100, warmup=10, repeats=2)
                err = e["median"] / r["median"] - 1
                print(
                    f"{arch + '.' + fmt:<26} {e['macs'] / 1e6:>8.1f}M {e['median']:>11.3f} "
                    f"{r['median']:>11.3f} {100 * err:>+6.0f}%"
                )
    print(
        "the estimate is a per-layer roofline (max of compute and memory time): it ignores "
        "dispatch and kernel efficiency (too fast) and charges every byte at DRAM speed "
        "(too slow for models that fit in cache)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

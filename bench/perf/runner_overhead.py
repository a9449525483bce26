"""Target: the runner's own overhead per inference is within 3% of a direct onnxruntime loop.

CIFAR-size ResNet-18 (tinykit.models "cifar_resnet18", 32x32, exported with export_onnx),
1 thread. Each side runs in a fresh process pinned to the same CPU core, alternating A/B/A/B
so that drift of the machine hits both; the medians are printed side by side with their ratio,
and the verdict uses the median of the per-round ratios.

    .venv/bin/python bench/perf/runner_overhead.py [--rounds 5] [--runs 300]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

DIRECT = r"""
import json, sys, time
import numpy as np
import onnxruntime as ort
so = ort.SessionOptions()
so.intra_op_num_threads = 1
so.inter_op_num_threads = 1
so.log_severity_level = 3
sess = ort.InferenceSession(sys.argv[1], so, providers=["CPUExecutionProvider"])
i = sess.get_inputs()[0]
x = np.random.default_rng(0).standard_normal([1, 3, 32, 32]).astype(np.float32)
feed = {i.name: x}
runs, warmup = int(sys.argv[2]), int(sys.argv[3])
sess.run(None, feed)
for _ in range(warmup):
    sess.run(None, feed)
times = []
for _ in range(runs):
    t = time.perf_counter()
    sess.run(None, feed)
    times.append((time.perf_counter() - t) * 1e3)
times.sort()
print(json.dumps({"median": times[len(times) // 2] if len(times) % 2 else
                  (times[len(times) // 2 - 1] + times[len(times) // 2]) / 2}))
"""


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--runs", type=int, default=300)
    ap.add_argument("--warmup", type=int, default=20)
    a = ap.parse_args()

    import os

    import torch

    if hasattr(os, "sched_setaffinity"):  # children inherit it: both sides on one core
        os.sched_setaffinity(0, {max(os.sched_getaffinity(0))})

    from tinykit.bench.latency import bench
    from tinykit.exporters.onnx import export_onnx
    from tinykit.models import build_model
    from tinykit.spec import InputSpec

    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "cifar_resnet18.onnx"
        torch.manual_seed(0)
        model = build_model("cifar_resnet18", num_classes=10, in_channels=3).eval()
        spec = InputSpec(shape=(1, 3, 32, 32), labels=tuple(str(i) for i in range(10)))
        export_onnx(model, spec, path)
        direct, runner = [], []
        for _ in range(a.rounds):
            out = subprocess.run(
                [sys.executable, "-c", DIRECT, str(path), str(a.runs), str(a.warmup)],
                capture_output=True,
                text=True,
                check=True,
                env={**os.environ, "OMP_NUM_THREADS": "1"},
            )
            direct.append(json.loads(out.stdout)["median"])
            runner.append(bench(path, threads=1, runs=a.runs, warmup=a.warmup)["median"])
    d_med, r_med = statistics.median(direct), statistics.median(runner)
    overhead = statistics.median(r / d for r, d in zip(runner, direct, strict=True)) - 1
    print("cifar_resnet18 (32x32), onnxruntime, 1 thread, batch 1; median ms per round")
    print(f"{'round':>5}  {'direct loop':>11}  {'runner':>8}  {'ratio':>6}")
    for i, (x, y) in enumerate(zip(direct, runner, strict=True), 1):
        print(f"{i:>5}  {x:>11.3f}  {y:>8.3f}  {y / x:>6.3f}")
    print(f"{'all':>5}  {d_med:>11.3f}  {r_med:>8.3f}  {r_med / d_med:>6.3f}")
    ok = abs(overhead) <= 0.03
    verdict = "PASS" if ok else "FAIL"
    print(
        f"runner overhead (median of round ratios) {100 * overhead:+.2f}% "
        f"(target within 3%): {verdict}"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

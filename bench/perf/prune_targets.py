"""Pruning targets (issue 3), measured side by side in one run.

1. CIFAR-size ResNet-18 (3x32x32), channel ratio 0.3: MAC cut, and the fp32 onnxruntime latency
   cut (each model timed in its own process, 1 thread), with and without round_to=8.
   Target: MACs cut >= 45%, latency cut >= 0.8 x MAC cut.
2. Reference digits ResNet-8: per-layer sparsities from the sensitivity scan reaching 70%
   overall, fine-tuned with masks held. Target: test accuracy within 0.5 point of baseline.

    .venv/bin/python bench/perf/prune_targets.py
"""

from __future__ import annotations

import copy
import sys
import tempfile
from pathlib import Path


def channel_target(tmp: Path, runs: int = 300) -> bool:
    import torch

    from tinykit.bench.latency import bench
    from tinykit.bench.macs import count_macs
    from tinykit.exporters.onnx import export_onnx
    from tinykit.models import build_model
    from tinykit.prune.channel import prune_channels
    from tinykit.spec import InputSpec

    torch.manual_seed(0)
    base = build_model("cifar_resnet18", num_classes=10, in_channels=3).eval()
    spec = InputSpec(shape=(1, 3, 32, 32), labels=tuple(map(str, range(10))))
    x = torch.zeros(spec.shape)
    variants = {"baseline": base}
    for round_to in (None, 8):
        m = copy.deepcopy(base)
        prune_channels(m, x, 0.3, round_to=round_to)
        variants[f"ratio 0.3, round_to={round_to}"] = m
    rows, ok = [], True
    macs0 = count_macs(base, x).macs
    lat = {}
    for name, m in variants.items():
        path = tmp / f"{len(lat)}.onnx"
        export_onnx(m, spec, path)
        lat[name] = bench(path, threads=1, runs=runs, warmup=30)["median"]
    for name, m in variants.items():
        macs = count_macs(m, x).macs
        mac_cut = 1 - macs / macs0
        lat_cut = 1 - lat[name] / lat["baseline"]
        passed = name == "baseline" or (mac_cut >= 0.45 and lat_cut >= 0.8 * mac_cut)
        if name != "baseline" and "round_to=8" in name:
            ok &= passed
        rows.append((name, macs, lat[name], mac_cut, lat_cut, passed))
    print("CIFAR-size ResNet-18, channel pruning (fp32 onnxruntime, 1 thread, median)")
    print(
        f"{'model':<28} {'MACs':>12} {'latency ms':>11} {'MAC cut':>8} {'lat. cut':>9} "
        f"{'lat/MAC':>8}  target"
    )
    for name, macs, ms, mc, lc, p in rows:
        ratio = f"{lc / mc:.2f}" if mc > 0 else "-"
        print(
            f"{name:<28} {macs:>12,} {ms:>11.3f} {100 * mc:>7.1f}% {100 * lc:>8.1f}% "
            f"{ratio:>8}  {'-' if name == 'baseline' else ('met' if p else 'MISSED')}"
        )
    return ok


def fine_target(tmp: Path) -> bool:
    from tinykit.pipeline import compress
    from tinykit.recipe import Recipe
    from tinykit.sources import load_source

    src, ds = load_source(None, progress=False)
    rec = Recipe(
        prune="fine",
        sparsity="auto",
        target_sparsity=0.7,
        quant="none",
        formats=["onnx"],
        bench_runs=20,
    )
    rep = compress(src, ds, rec, out_dir=tmp / "fine", progress=False, log=lambda m: None)
    base, final = rep["baseline"]["accuracy"], rep["compressed"]["accuracy"]
    sp = rep["pruning"]["overall_sparsity"]
    ok = sp >= 0.70 and final >= base - 0.005
    print("\nReference digits ResNet-8, fine-grained pruning, per-layer sparsities from the scan")
    print(f"overall sparsity {100 * sp:.1f}%  (every layer exact: {rep['pruning']['all_exact']})")
    print(
        f"test accuracy: baseline {100 * base:.2f}%, pruned + fine-tuned {100 * final:.2f}%, "
        f"drop {100 * (base - final):.2f} points  target {'met' if ok else 'MISSED'}"
    )
    return ok


if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as d:
        a = channel_target(Path(d))
        b = fine_target(Path(d))
    sys.exit(0 if a and b else 1)

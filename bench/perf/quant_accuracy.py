"""Quantization accuracy targets on the reference digits ResNet-8 (issue 4), no pruning:
linear int8 within 0.5 point of fp32, k-means 4-bit within 0.5 point, k-means 2-bit within
3 points after its centroid fine-tune. Accuracy of each exported ONNX file on the test split
(359 images: one image is 0.28 point).

    .venv/bin/python bench/perf/quant_accuracy.py
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

CASES = [
    ("linear int8", "linear", 8, 0.5),
    ("k-means 4-bit", "kmeans", 4, 0.5),
    ("k-means 2-bit", "kmeans", 2, 3.0),
]


def main() -> int:
    from tinykit.pipeline import compress
    from tinykit.recipe import Recipe
    from tinykit.sources import load_source

    ok = True
    print(f"{'method':<22} {'fp32':>8} {'artifact':>9} {'drop':>6} {'budget':>6}  size vs fp32")
    with tempfile.TemporaryDirectory() as d:
        for i, (label, quant, bits, budget) in enumerate(CASES):
            src, ds = load_source(None, progress=False)
            rec = Recipe(
                prune="none", quant=quant, bits=bits, formats=["onnx", "tflite"], bench_runs=10
            )
            rep = compress(
                src, ds, rec, out_dir=Path(d) / str(i), progress=False, log=lambda m: None
            )
            base = rep["baseline"]["accuracy"]
            for art in rep["artifacts"]:
                drop = 100 * (base - art["accuracy"])
                ok &= drop <= budget
                ratio = art["size_bytes"] / rep["baseline"]["size_bytes"]
                print(
                    f"{label + ' ' + art['format']:<22} {100 * base:>7.2f}% "
                    f"{100 * art['accuracy']:>8.2f}% {drop:>6.2f} {budget:>6.1f}  {ratio:.3f}"
                )
    print("targets:", "met" if ok else "MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

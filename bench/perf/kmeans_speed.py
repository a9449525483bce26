"""K-means speed and quality (issue 4): tinykit's 1-D k-means against scikit-learn's KMeans
(n_init=1) on every conv and linear layer of torchvision ResNet-18 (11.7 M weights, 21 layers),
at 4 bits. Each side runs in its own process; the script prints both times, the speed ratio and
the reconstruction errors. Target: >= 30x faster, error no worse than 1% above scikit-learn.

    .venv/bin/python bench/perf/kmeans_speed.py [--bits 4]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def dump_weights(path: Path) -> int:
    import numpy as np
    import torch
    import torchvision

    torch.manual_seed(0)
    m = torchvision.models.resnet18(weights=None)
    arrays = {
        n: mod.weight.detach().numpy().ravel()
        for n, mod in m.named_modules()
        if isinstance(mod, (torch.nn.Conv2d, torch.nn.Linear))
    }
    np.savez(path, **arrays)
    return sum(a.size for a in arrays.values())


def run_side(side: str, path: str, bits: int) -> dict:
    import numpy as np

    z = np.load(path)
    k = 2**bits
    if side == "tinykit":  # imports outside the timed region, on both sides
        from tinykit.quant.kmeans import kmeans_1d
    else:
        from sklearn.cluster import KMeans
    total_t, sq_err, n = 0.0, 0.0, 0
    for name in z.files:
        w = z[name].astype(np.float64)
        t = time.perf_counter()
        if side == "tinykit":
            c, labels = kmeans_1d(w, k)
            rec = c[labels]
        else:
            km = KMeans(n_clusters=k, n_init=1, random_state=0).fit(w.reshape(-1, 1))
            rec = km.cluster_centers_[km.labels_, 0]
        total_t += time.perf_counter() - t
        sq_err += float(((w - rec) ** 2).sum())
        n += w.size
    return {"seconds": total_t, "mse": sq_err / n, "layers": len(z.files), "weights": n}


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--bits", type=int, default=4)
    ap.add_argument("--side")
    ap.add_argument("--weights")
    a = ap.parse_args()
    if a.side:
        print(json.dumps(run_side(a.side, a.weights, a.bits)))
        return 0
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "w.npz"
        dump_weights(path)
        res = {}
        for side in ("tinykit", "sklearn"):
            out = subprocess.run(
                [
                    sys.executable,
                    __file__,
                    "--side",
                    side,
                    "--weights",
                    str(path),
                    "--bits",
                    str(a.bits),
                ],
                capture_output=True,
                text=True,
                check=True,
            )
            res[side] = json.loads(out.stdout)
    t, s = res["tinykit"], res["sklearn"]
    speed = s["seconds"] / t["seconds"]
    err = t["mse"] / s["mse"] - 1
    print(f"ResNet-18: {t['weights']:,} weights in {t['layers']} layers, {a.bits}-bit k-means")
    print(f"{'':10} {'seconds':>9} {'MSE':>12}")
    print(f"{'tinykit':10} {t['seconds']:>9.3f} {t['mse']:>12.4e}")
    print(f"{'sklearn':10} {s['seconds']:>9.3f} {s['mse']:>12.4e}")
    ok = speed >= 30 and err <= 0.01
    print(
        f"speed-up {speed:.1f}x (target >= 30x), error {100 * err:+.2f}% vs sklearn "
        f"(target <= +1%): {'met' if ok else 'MISSED'}"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

"""Early-exit targets (issue 6), measured side by side in one run.

Reference digits ResNet-8 with exit heads after stem, stage1 and stage2 (frozen backbone),
thresholds calibrated on the validation split for at most 0.5 point of accuracy lost. The
exported stages run in the standalone staged runner, each runtime in its own process (batch 1,
1 thread), over the 359-image test split, against the full model in the same process.

Targets: average MACs cut >= 40% for at most 0.5 point of test accuracy lost (on 359 images:
at most one more error than the full network), and an onnxruntime latency cut of at least
0.6 x the MAC cut. The staged-execution overheads are printed beside: every stage run to the
end against one full-model call (the cost of the cut), and the exit decisions' own time.

    .venv/bin/python bench/perf/earlyexit_targets.py [--passes 5]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path


def run(out: Path, passes: int) -> dict:
    from tinykit.earlyexit.run import EarlyExitRecipe, EarlyExitRun
    from tinykit.sources import load_source

    src, ds = load_source(None, progress=False)
    recipe = EarlyExitRecipe(passes=passes)
    return EarlyExitRun(src, ds, recipe, out, progress=False, log=lambda m: None).run()


def report(rep: dict) -> bool:
    t = rep["test"]
    n = sum(t["exit_counts"])
    errors = round((1 - t["accuracy"]) * n)
    full_errors = round((1 - t["full_accuracy"]) * n)
    mac_cut = 1 - t["mac_ratio"]
    drop = 100 * (t["full_accuracy"] - t["accuracy"])
    acc_ok = drop <= 0.5 + 1e-9 and mac_cut >= 0.40
    names = [*rep["exits"], "final"]
    print(
        "Reference digits ResNet-8, exit heads after "
        + ", ".join(rep["exits"])
        + f" (thresholds {', '.join(f'{v:.3f}' for v in rep['thresholds'])}, calibrated on "
        "the validation split)"
    )
    print(
        f"test accuracy: full {100 * t['full_accuracy']:.2f}% ({full_errors} errors), early "
        f"exit {100 * t['accuracy']:.2f}% ({errors} errors): {drop:.2f} points lost"
    )
    print(
        "inputs leaving at each exit: "
        + ", ".join(f"{nm} {100 * s:.1f}%" for nm, s in zip(names, t["exit_shares"], strict=True))
    )
    print(
        f"average MACs {t['average_macs'] / 1e6:.2f} M of {rep['macs']['full'] / 1e6:.2f} M: "
        f"{100 * mac_cut:.1f}% saved  target (>= 40% saved, <= 0.5 point lost) "
        f"{'met' if acc_ok else 'MISSED'}"
    )
    print()
    print(
        f"{'runtime':<12} {'full ms':>8} {'exit ms':>8} {'all stages':>10} {'cut cost':>9} "
        f"{'decide ms':>9} {'lat. cut':>9} {'MAC cut':>8} {'lat/MAC':>8}  exits = torch  target"
    )
    ok = acc_ok
    for rt, lat in rep["latency"].items():
        ms = lat["latency_ms"]
        ratio = lat["latency_saving_per_mac_saving"]
        agree = rep["verification"][rt]["exit_agreement"]
        target = "-"
        if rt == "onnxruntime":
            passed = ratio is not None and ratio >= 0.6
            ok &= passed
            target = ">= 0.6: " + ("met" if passed else "MISSED")
        print(
            f"{rt:<12} {ms['full']['mean']:>8.3f} {ms['early_exit']['mean']:>8.3f} "
            f"{ms['all_stages']['mean']:>10.3f} {100 * lat['staging_overhead']:>8.1f}% "
            f"{lat['decision_ms']:>9.4f} {100 * lat['latency_saving']:>8.1f}% "
            f"{100 * lat['mac_saving']:>7.1f}% {ratio:>8.2f}  {100 * agree:>12.2f}%  {target}"
        )
    print(
        "\nms: mean over the test inputs of each input's median over the passes (batch 1, "
        "1 thread);\ncut cost: all stages run to the end vs one full-model call; decide ms: "
        "one exit decision (softmax + compare) in the runner"
    )
    for rt, lat in rep["latency"].items():
        stages = ", ".join(
            f"{nm} {v:.3f} ms x{c}"
            for nm, v, c in zip(names, lat["stage_ms"], lat["stage_calls"], strict=True)
            if v is not None
        )
        print(f"{rt} per stage call (calls per pass): {stages}")
    return ok


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--passes", type=int, default=5, help="timed passes over the test split")
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        rep = run(Path(d), a.passes)
    return 0 if report(rep) else 1


if __name__ == "__main__":
    sys.exit(main())

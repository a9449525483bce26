"""Target: `tinykit --help` starts in under 0.5 s (lazy imports), shown beside `python -c pass`.

.venv/bin/python bench/perf/cli_startup.py [--repeats 10]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path


def wall(cmd: list[str], repeats: int) -> list[float]:
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        times.append(time.perf_counter() - t)
    return times


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=10)
    a = ap.parse_args()
    tinykit = str(Path(sys.executable).with_name("tinykit"))
    rows = [
        ("python -c pass", [sys.executable, "-c", "pass"]),
        ("tinykit --help", [tinykit, "--help"]),
        ("tinykit bench --help", [tinykit, "bench", "--help"]),
    ]
    print(f"{'command':<22} {'median s':>9} {'min s':>7}   ({a.repeats} runs each)")
    results = {}
    for name, cmd in rows:
        wall(cmd, 1)  # warm the page cache
        t = wall(cmd, a.repeats)
        results[name] = statistics.median(t)
        print(f"{name:<22} {statistics.median(t):>9.3f} {min(t):>7.3f}")
    ok = results["tinykit --help"] < 0.5
    print(
        f"tinykit --help: {results['tinykit --help']:.3f} s, "
        f"{results['tinykit --help'] - results['python -c pass']:.3f} s over bare Python "
        f"(target < 0.5 s): {'PASS' if ok else 'FAIL'}"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

"""Latency on this machine: each measurement in its own fresh process (runtimes sharing a
process disturb each other's thread pools)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tinykit.errors import TinykitError

RUNNER = Path(__file__).with_name("runner.py")


def bench(path: str | os.PathLike[str], *, threads: int = 1, runs: int = 100, warmup: int = 10,
          timeout: float = 600.0) -> dict:
    """Median/p90/mean latency (ms) of ``path`` measured by the standalone runner."""
    cmd = [sys.executable, str(RUNNER), str(path), "--threads", str(threads), "--runs", str(runs),
           "--warmup", str(warmup), "--json"]
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "OMP_NUM_THREADS": str(threads)}
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
    except subprocess.TimeoutExpired as e:
        raise TinykitError(f"benchmark of {path} did not finish within {timeout:.0f} s") from e
    if proc.returncode != 0:
        lines = proc.stderr.strip().splitlines()
        raise TinykitError(lines[-1] if lines else f"benchmark of {path} failed")
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    result["board"] = "host"
    return result

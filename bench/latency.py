"""Latency on this machine: each measurement in its own fresh process (runtimes sharing a
process disturb each other's thread pools: a 2-thread onnxruntime figure was measured 2.5x too
slow next to torch)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tinykit.errors import TinykitError

RUNNER = Path(__file__).with_name("runner.py")
CHECKPOINT_SUFFIXES = (".pt", ".pth", ".ckpt")
MODEL_SUFFIXES = (".onnx", ".tflite", *CHECKPOINT_SUFFIXES)
STABLE_SPREAD = 0.05  # two back-to-back figures of a >= 1 ms model differ by less than this
STABLE_MIN_MS = 1.0


def artifact_kind(path: str | os.PathLike[str]) -> str:
    """'onnx', 'tflite' or 'checkpoint', from the file name; anything else is refused."""
    p = Path(path)
    if not p.is_file():
        raise TinykitError(f"{p} does not exist (or is not a file)")
    suffix = p.suffix.lower()
    if suffix not in MODEL_SUFFIXES:
        raise TinykitError(
            f"{p} is not a model tinykit can bench: give a .onnx (onnxruntime), .tflite "
            "(ai-edge-litert) or a tinykit checkpoint (.pt, PyTorch eager)"
        )
    return "checkpoint" if suffix in CHECKPOINT_SUFFIXES else suffix[1:]


def runner_command(
    path: str | os.PathLike[str],
    *,
    threads: int,
    runs: int,
    warmup: int,
    python: str = sys.executable,
) -> list[str]:
    """The argv that measures ``path`` in a fresh process (an argv list: no shell involved)."""
    args = ["--threads", str(threads), "--runs", str(runs), "--warmup", str(warmup), "--raw"]
    if artifact_kind(path) == "checkpoint":
        return [python, "-m", "tinykit.bench.torch_runner", str(path), *args]
    return [python, str(RUNNER), str(path), *args]


def _run_once(cmd: list[str], path, *, threads: int, timeout: float) -> dict:
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "OMP_NUM_THREADS": str(threads)}
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
    except subprocess.TimeoutExpired as e:  # subprocess.run has killed the runner already
        raise TinykitError(f"benchmark of {path} did not finish within {timeout:.0f} s") from e
    if proc.returncode != 0:
        lines = [ln for ln in proc.stderr.strip().splitlines() if ln.strip()]
        errs = [ln for ln in lines if ln.startswith("runner: error:")]
        msg = (errs or lines or [f"benchmark of {path} failed (exit {proc.returncode})"])[-1]
        raise TinykitError(msg.removeprefix("runner: error: "))
    try:
        return json.loads(proc.stdout.strip().splitlines()[-1])
    except (json.JSONDecodeError, IndexError) as e:
        raise TinykitError(f"the runner printed no result for {path}") from e


def combine(results: list[dict]) -> dict:
    """Pool the runs of several fresh processes into one figure, and judge its stability.

    The median, p90, mean and std are over every timed run; ``repeat_medians`` keeps each
    process's own median; ``spread`` is their relative difference (or that of the two halves of
    one process's runs). A spread above 5% on a model of 1 ms or more adds a warning.
    """
    from tinykit.bench.runner import summarize

    times = [t for r in results for t in r["times_ms"]]
    out = {k: v for k, v in results[0].items() if k != "times_ms"}
    out.update(summarize(times, first_ms=results[0].get("first_ms")))
    out.pop("times_ms")
    out["repeats"] = len(results)
    out["repeat_medians"] = [r["median"] for r in results]
    rss = [r.get("peak_rss_kb") for r in results if r.get("peak_rss_kb") is not None]
    out["peak_rss_kb"] = max(rss) if rss else None
    pair = out["repeat_medians"] if len(results) > 1 else results[0]["half_medians"]
    out["spread"] = (max(pair) - min(pair)) / min(pair) if min(pair) > 0 else 0.0
    out["stable"] = out["spread"] <= STABLE_SPREAD or out["median"] < STABLE_MIN_MS
    out["warnings"] = []
    if not out["stable"]:
        what = "back-to-back runs" if len(results) > 1 else "halves of the runs"
        out["warnings"].append(
            f"unstable figure: medians of {what} differ by {100 * out['spread']:.1f}% "
            f"(> {100 * STABLE_SPREAD:.0f}%); the machine is busy or throttling, measure again"
        )
    return out


def bench(
    path: str | os.PathLike[str],
    *,
    threads: int = 1,
    runs: int = 100,
    warmup: int = 10,
    timeout: float = 600.0,
    repeats: int = 1,
) -> dict:
    """Median/p90/mean/std latency (ms) of ``path`` on this machine.

    Args:
        path: a .onnx (onnxruntime), .tflite (ai-edge-litert, XNNPACK) or tinykit checkpoint
            (PyTorch eager).
        repeats: fresh processes run back to back; their runs are pooled and their medians
            compared for the stability check.

    Returns:
        the runner's figures (see :func:`combine`) with ``board: "host"`` and
        ``measured: True``.
    """
    if repeats < 1:
        raise TinykitError("repeats must be >= 1")
    cmd = runner_command(path, threads=threads, runs=runs, warmup=warmup)
    results = [_run_once(cmd, path, threads=threads, timeout=timeout) for _ in range(repeats)]
    out = combine(results)
    out["board"] = "host"
    out["measured"] = True
    return out

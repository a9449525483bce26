"""Run the exported stages: verify their exit decisions against PyTorch's on the whole test
split, and time them with the standalone staged runner, each runtime in its own process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

from tinykit.errors import TinykitError

RUNTIMES = {"onnx": "onnxruntime", "tflite": "tflite"}


def runner_path() -> Path:
    import tinykit.bench as bench_pkg

    return Path(bench_pkg.__file__).with_name("staged_runner.py")


def verify_stages(
    bundle: Path,
    x: np.ndarray,
    y: np.ndarray,
    torch_exits: np.ndarray,
    torch_preds: np.ndarray,
    *,
    runtime: str,
    progress: bool = True,
) -> dict:
    """Exit and prediction of every test input from the bundle's stages, as the runner
    decides them, compared with the PyTorch early-exit model's."""
    from tinykit.bench import staged_runner as sr
    from tinykit.exporters.artifact import silence_native_stderr
    from tinykit.progress import progress_bar

    man = sr._read_manifest(str(bundle))
    thresholds = [st["threshold"] for st in man["early_exit"]["stages"][:-1]]
    with silence_native_stderr():
        calls, _, _ = sr.load_stages(str(bundle), man, runtime, 1)
    exits = np.zeros(len(x), dtype=np.int64)
    preds = np.zeros(len(x), dtype=np.int64)
    for i in progress_bar(range(len(x)), desc=f"verify stages ({runtime})", enabled=progress):
        exits[i], logits = sr.run_early_exit(calls, thresholds, np.ascontiguousarray(x[i : i + 1]))
        preds[i] = int(np.argmax(logits))
    return {
        "runtime": runtime,
        "samples": int(len(x)),
        "accuracy": float((preds == y).mean()) if len(y) else None,
        "exit_agreement": float((exits == torch_exits).mean()),
        "prediction_agreement": float((preds == torch_preds).mean()),
        "exit_mismatches": int((exits != torch_exits).sum()),
    }


def bench_stages(
    bundle: Path,
    inputs: Path,
    *,
    runtime: str,
    threads: int = 1,
    passes: int = 5,
    warmup: int = 1,
    timeout: float = 1200.0,
) -> dict:
    """The staged runner's JSON for one runtime, measured in a fresh process."""
    cmd = [
        sys.executable,
        str(runner_path()),
        str(bundle),
        "--inputs",
        str(inputs),
        "--runtime",
        runtime,
        "--threads",
        str(threads),
        "--passes",
        str(passes),
        "--warmup",
        str(warmup),
        "--json",
    ]
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "OMP_NUM_THREADS": str(threads)}
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
    except subprocess.TimeoutExpired as e:
        raise TinykitError(f"staged benchmark ({runtime}) did not finish in {timeout:.0f} s") from e
    if proc.returncode != 0:
        lines = proc.stderr.strip().splitlines()
        raise TinykitError(lines[-1] if lines else f"staged benchmark ({runtime}) failed")
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    result["board"] = "host"
    return result

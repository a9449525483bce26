"""Standalone latency runner: standard library + numpy + whichever runtime is installed.

Copied as is to a Raspberry Pi or run beside a phone; imports nothing from tinykit (Python 3.8+).

    python3 runner.py MODEL [--threads N] [--runs N] [--warmup N] [--raw]

Times batch-1 inference of a .onnx (onnxruntime) or .tflite (ai_edge_litert, else
tflite_runtime; XNNPACK on CPU) on one fixed input, and prints one JSON line: median, p90,
mean, std, min of the timed runs (ms), the first inference apart, the runtime and its version,
the CPU and its int8-relevant instruction-set features, and the peak memory of this process.
Errors are one line on stderr starting with ``runner: error:`` and exit status 2.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import signal
import statistics
import sys
import time

EXIT_BAD_INPUT = 2

# The instruction-set features that decide int8 speed: x86 (AVX2, AVX-512 VNNI, AVX-VNNI, AMX)
# and Arm (dot product, int8 matrix multiply, SVE); FMA and plain ASIMD for the fp32 side.
INT8_FLAGS = (
    "avx2",
    "fma",
    "avx512f",
    "avx512_vnni",
    "avx_vnni",
    "amx_int8",
    "amx_tile",
    "asimd",
    "asimddp",
    "i8mm",
    "sve",
    "sve2",
)

# /proc/cpuinfo "CPU part" of Arm cores (Arm's MIDR part numbers) -> core name
ARM_PARTS = {
    "0xd03": "Cortex-A53",
    "0xd04": "Cortex-A35",
    "0xd05": "Cortex-A55",
    "0xd07": "Cortex-A57",
    "0xd08": "Cortex-A72",
    "0xd09": "Cortex-A73",
    "0xd0a": "Cortex-A75",
    "0xd0b": "Cortex-A76",
    "0xd0d": "Cortex-A77",
    "0xd41": "Cortex-A78",
    "0xd44": "Cortex-X1",
    "0xd46": "Cortex-A510",
    "0xd47": "Cortex-A710",
    "0xd48": "Cortex-X2",
    "0xd4d": "Cortex-A715",
    "0xd4e": "Cortex-X3",
    "0xd80": "Cortex-A520",
    "0xd81": "Cortex-A720",
}


class RunnerError(Exception):
    pass


def _read(path: str) -> str:
    try:
        with open(path, "rb") as f:
            return f.read().decode("utf-8", "replace").strip("\x00\n ")
    except OSError:
        return ""


def cpu_info() -> dict:
    """CPU model, core count and int8-relevant features of the machine this runs on."""
    text = _read("/proc/cpuinfo")
    model, flags, parts = "", set(), []
    for line in text.splitlines():
        key, _, value = line.partition(":")
        key, value = key.strip(), value.strip()
        if key in ("model name", "Hardware") and not model:
            model = value
        elif key in ("flags", "Features"):
            flags |= set(value.split())
        elif key == "CPU part":
            parts.append(ARM_PARTS.get(value.lower(), value))
    board = _read("/proc/device-tree/model")  # e.g. "Raspberry Pi 5 Model B Rev 1.0"
    if parts:
        cores = ", ".join(f"{parts.count(p)}x {p}" for p in sorted(set(parts), key=parts.index))
        model = f"{board or model or 'Arm'} ({cores})"
    elif board and not model:
        model = board
    return {
        "cpu": model or platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "cpu_flags": sorted(flags & set(INT8_FLAGS)),
        "machine": platform.machine(),
    }


def _peak_rss_kb() -> int | None:
    """Peak resident memory of this process. /proc's VmHWM first: ru_maxrss survives exec on
    Linux and would report the parent's peak."""
    for line in _read("/proc/self/status").splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    try:
        import resource

        kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return int(kb // 1024) if sys.platform == "darwin" else int(kb)
    except ImportError:
        return None


def _numpy():
    try:
        import numpy as np
    except ImportError as e:
        raise RunnerError("no numpy here: pip install numpy") from e
    return np


def fixed_input(shape, dtype, seed: int = 0):
    """The same input every run (and on every device): seeded, batch 1 for unknown dims."""
    np = _numpy()
    rng = np.random.default_rng(seed)
    shape = [int(d) if isinstance(d, (int, np.integer)) and int(d) > 0 else 1 for d in shape]
    if np.issubdtype(dtype, np.integer):
        info = np.iinfo(dtype)
        return rng.integers(info.min, info.max + 1, size=shape).astype(dtype)
    if dtype == np.bool_:
        return rng.integers(0, 2, size=shape).astype(bool)
    return rng.standard_normal(shape).astype(dtype)


def load_onnx(path: str, threads: int):
    try:
        import onnxruntime as ort
    except ImportError as e:
        raise RunnerError("no onnxruntime here: pip install onnxruntime") from e
    np = _numpy()
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.log_severity_level = 3
    try:
        sess = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
    except Exception as e:  # onnxruntime raises its own exception types
        msg = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        msg = re.sub(r"^\[ONNXRuntimeError\] : \d+ : \w+ : ", "", msg)
        raise RunnerError(f"onnxruntime cannot load {path}: {msg}") from e
    types = {
        "tensor(float)": np.float32,
        "tensor(float16)": np.float16,
        "tensor(int8)": np.int8,
        "tensor(uint8)": np.uint8,
        "tensor(int32)": np.int32,
        "tensor(int64)": np.int64,
        "tensor(bool)": np.bool_,
    }
    feed = {
        i.name: fixed_input(i.shape, types.get(i.type, np.float32), seed=k)
        for k, i in enumerate(sess.get_inputs())
    }
    return (lambda: sess.run(None, feed)), "onnxruntime", ort.__version__


def _tflite_interpreter():
    try:
        import ai_edge_litert
        from ai_edge_litert.interpreter import Interpreter

        return Interpreter, "ai-edge-litert", getattr(ai_edge_litert, "__version__", "unknown")
    except ImportError:
        pass
    try:
        import tflite_runtime
        from tflite_runtime.interpreter import Interpreter

        return Interpreter, "tflite-runtime", getattr(tflite_runtime, "__version__", "unknown")
    except ImportError as e:
        raise RunnerError("no TFLite runtime here: pip install ai-edge-litert") from e


def load_tflite(path: str, threads: int):
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    Interpreter, name, version = _tflite_interpreter()
    try:
        it = Interpreter(model_path=path, num_threads=threads)
        it.allocate_tensors()
    except (ValueError, RuntimeError) as e:
        msg = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        low = msg.lower()
        if name == "tflite-runtime" and ("version" in low or "op" in low or "registration" in low):
            msg += (
                f" (tflite_runtime {version} is too old for this model: pip install ai-edge-litert)"
            )
        raise RunnerError(f"{name} cannot load {path}: {msg}") from e
    for k, d in enumerate(it.get_input_details()):
        it.set_tensor(d["index"], fixed_input(d["shape"], d["dtype"], seed=k))
    return it.invoke, name, version


def _percentile(sorted_times: list, q: float) -> float:
    return sorted_times[min(len(sorted_times) - 1, int(round(q * (len(sorted_times) - 1))))]


def time_calls(run, *, runs: int, warmup: int) -> dict:
    """Time ``run()``: the first call apart, then ``warmup`` untimed calls, then ``runs``."""
    t0 = time.perf_counter()
    run()
    first_ms = (time.perf_counter() - t0) * 1e3
    for _ in range(warmup):
        run()
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        run()
        times.append((time.perf_counter() - t) * 1e3)
    return summarize(times, first_ms=first_ms)


def summarize(times: list, *, first_ms: float | None = None) -> dict:
    """Median, p90, mean, std and min of per-run times (ms), and the medians of the first and
    second half of the runs (a drift between them means the figure is not stable)."""
    s = sorted(times)
    half = len(times) // 2
    halves = (
        [statistics.median(times[:half]), statistics.median(times[half:])] if half else [s[0], s[0]]
    )
    return {
        "median": statistics.median(s),
        "p90": _percentile(s, 0.9),
        "mean": statistics.fmean(s),
        "std": statistics.pstdev(s),
        "min": s[0],
        "first_ms": first_ms,
        "half_medians": halves,
        "runs": len(times),
        "times_ms": times,
    }


def measure(path: str, *, threads: int = 1, runs: int = 100, warmup: int = 10) -> dict:
    if not os.path.isfile(path):
        raise RunnerError(f"model file {path} does not exist")
    if path.endswith(".onnx"):
        run, runtime, version = load_onnx(path, threads)
    elif path.endswith(".tflite"):
        run, runtime, version = load_tflite(path, threads)
    else:
        raise RunnerError(f"{path}: the runner takes .onnx or .tflite files")
    result = time_calls(run, runs=runs, warmup=warmup)
    result.update(
        warmup=warmup,
        threads=threads,
        runtime=runtime,
        runtime_version=version,
        peak_rss_kb=_peak_rss_kb(),
        measured=True,
        **cpu_info(),
    )
    return result


def main(argv: list | None = None) -> int:
    ap = argparse.ArgumentParser(description="Time batch-1 inference of a .onnx or .tflite file.")
    ap.add_argument("model")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--runs", type=int, default=100)
    ap.add_argument("--warmup", type=int, default=10)
    ap.add_argument("--raw", action="store_true", help="keep every run's time in the JSON")
    ap.add_argument("--json", action="store_true", help="print JSON (the default output)")
    ap.add_argument(
        "--deadline",
        type=float,
        default=0,
        help="exit after this many seconds whatever happens (remote runs: nothing "
        "outlives a dropped connection)",
    )
    a = ap.parse_args(argv)
    if a.deadline > 0 and hasattr(signal, "SIGALRM"):

        def _expire(signum, frame):
            print(f"runner: error: did not finish within {a.deadline:.0f} s", file=sys.stderr)
            os._exit(3)

        signal.signal(signal.SIGALRM, _expire)
        signal.alarm(max(1, int(a.deadline)))
    try:
        if a.threads < 1 or a.runs < 1 or a.warmup < 0:
            raise RunnerError("--threads and --runs must be >= 1, --warmup >= 0")
        result = measure(a.model, threads=a.threads, runs=a.runs, warmup=a.warmup)
    except RunnerError as e:
        print(f"runner: error: {e}", file=sys.stderr)
        return EXIT_BAD_INPUT
    if not a.raw:
        result.pop("times_ms")
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())

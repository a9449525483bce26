"""Standalone latency runner: standard library + numpy + whichever runtime is installed.

Copied as is to a Raspberry Pi or run beside a phone; imports nothing from tinykit.

    python runner.py MODEL [--threads N] [--runs N] [--warmup N] [--json]

Times batch-1 inference of a .onnx (onnxruntime) or .tflite (ai_edge_litert, else
tflite_runtime; XNNPACK on CPU) on one fixed input, and prints JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time

EXIT_BAD_INPUT = 2


class RunnerError(Exception):
    pass


def _peak_rss_kb() -> int | None:
    """Peak resident memory of this process. /proc's VmHWM first: ru_maxrss survives exec on
    Linux and would report the parent's peak."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    try:
        import resource

        kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return int(kb // 1024) if sys.platform == "darwin" else int(kb)
    except ImportError:
        return None


def _fixed_input(shape, dtype, seed: int = 0):
    import numpy as np

    rng = np.random.default_rng(seed)
    shape = [int(d) if isinstance(d, (int, np.integer)) and int(d) > 0 else 1 for d in shape]
    if np.issubdtype(dtype, np.integer):
        info = np.iinfo(dtype)
        return rng.integers(info.min, info.max + 1, size=shape).astype(dtype)
    return rng.standard_normal(shape).astype(dtype)


def load_onnx(path: str, threads: int):
    try:
        import onnxruntime as ort
    except ImportError as e:
        raise RunnerError("no onnxruntime here: pip install onnxruntime") from e
    import numpy as np

    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.log_severity_level = 3
    try:
        sess = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
    except Exception as e:  # onnxruntime raises its own exception types
        raise RunnerError(f"onnxruntime cannot load {path}: {str(e).splitlines()[0]}") from e
    inp = sess.get_inputs()[0]
    types = {"tensor(float)": np.float32, "tensor(int8)": np.int8, "tensor(uint8)": np.uint8}
    x = _fixed_input(inp.shape, types.get(inp.type, np.float32))
    feed = {inp.name: x}
    return (lambda: sess.run(None, feed)), "onnxruntime", ort.__version__


def load_tflite(path: str, threads: int):
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    try:
        from ai_edge_litert.interpreter import Interpreter

        name = "ai-edge-litert"
        import ai_edge_litert

        version = getattr(ai_edge_litert, "__version__", "unknown")
    except ImportError:
        try:
            from tflite_runtime.interpreter import Interpreter

            import tflite_runtime

            name, version = "tflite-runtime", getattr(tflite_runtime, "__version__", "unknown")
        except ImportError as e:
            raise RunnerError("no TFLite runtime here: pip install ai-edge-litert") from e
    try:
        it = Interpreter(model_path=path, num_threads=threads)
        it.allocate_tensors()
    except (ValueError, RuntimeError) as e:
        msg = str(e).splitlines()[0] if str(e) else type(e).__name__
        if name == "tflite-runtime" and ("version" in msg.lower() or "op" in msg.lower()):
            msg += " (this tflite_runtime is too old for the model: pip install ai-edge-litert)"
        raise RunnerError(f"{name} cannot load {path}: {msg}") from e
    d = it.get_input_details()[0]
    it.set_tensor(d["index"], _fixed_input(d["shape"], d["dtype"]))
    return it.invoke, name, version


def measure(path: str, *, threads: int = 1, runs: int = 100, warmup: int = 10) -> dict:
    if not os.path.isfile(path):
        raise RunnerError(f"model file {path} does not exist")
    if path.endswith(".onnx"):
        run, runtime, version = load_onnx(path, threads)
    elif path.endswith(".tflite"):
        run, runtime, version = load_tflite(path, threads)
    else:
        raise RunnerError(f"{path}: the runner takes .onnx or .tflite files")
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
    times.sort()
    p90 = times[min(len(times) - 1, int(round(0.9 * (len(times) - 1))))]
    return {
        "median": statistics.median(times),
        "p90": p90,
        "mean": statistics.fmean(times),
        "std": statistics.pstdev(times),
        "min": times[0],
        "first_ms": first_ms,
        "runs": runs,
        "warmup": warmup,
        "threads": threads,
        "runtime": runtime,
        "runtime_version": version,
        "machine": platform.machine(),
        "peak_rss_kb": _peak_rss_kb(),
        "measured": True,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Time batch-1 inference of a .onnx or .tflite file.")
    ap.add_argument("model")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--runs", type=int, default=100)
    ap.add_argument("--warmup", type=int, default=10)
    ap.add_argument("--json", action="store_true", help="print JSON (the default output)")
    a = ap.parse_args(argv)
    try:
        if a.threads < 1 or a.runs < 1 or a.warmup < 0:
            raise RunnerError("--threads and --runs must be >= 1, --warmup >= 0")
        result = measure(a.model, threads=a.threads, runs=a.runs, warmup=a.warmup)
    except RunnerError as e:
        print(f"runner: error: {e}", file=sys.stderr)
        return EXIT_BAD_INPUT
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())

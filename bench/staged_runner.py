"""Standalone early-exit runner: standard library + numpy + whichever runtime is installed.

Copied into every early-exit bundle and runnable as is on a Raspberry Pi or next to a phone; it
imports nothing from tinykit.

    python staged_runner.py BUNDLE_DIR --inputs test_inputs.npz [--runtime onnxruntime|tflite]
                            [--threads N] [--passes N] [--per-input] [--deadline S] [--json]

It reads the bundle's manifest.json (``early_exit`` section), runs the stages of each input one
after the other and stops at the first head whose confidence (max softmax, float64) reaches its
threshold. It times, per input and over the whole inputs file, the full model, the early-exit
run, and every stage run to the end (the cost of cutting the network into stages), and reports
accuracy, exit shares, the MAC ratio from the manifest and the measured latency ratio.
``--inputs`` holds ``x`` (model-ready float32, N x C x H x W) and optionally ``y`` (labels).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import statistics
import sys
import time

EXIT_BAD_INPUT = 2
RUNTIMES = ("onnxruntime", "tflite")


class RunnerError(Exception):
    pass


def confidence(logits):
    """Max softmax probability in float64 (the manifest's confidence rule)."""
    import numpy as np

    z = np.asarray(logits, dtype=np.float64).reshape(-1)
    z = z - z.max()
    return float(1.0 / np.exp(z).sum())


def _read_manifest(bundle: str) -> dict:
    path = os.path.join(bundle, "manifest.json") if os.path.isdir(bundle) else bundle
    if not os.path.isfile(path):
        raise RunnerError(f"{bundle} is not a bundle: no manifest.json")
    with open(path) as f:
        man = json.load(f)
    if not man.get("early_exit"):
        raise RunnerError(f"{path} has no early_exit section: export with 'tinykit earlyexit'")
    return man


def _onnx_session(path: str, threads: int):
    try:
        import onnxruntime as ort
    except ImportError as e:
        raise RunnerError("no onnxruntime here: pip install onnxruntime") from e
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.log_severity_level = 3
    try:
        return ort.InferenceSession(path, so, providers=["CPUExecutionProvider"]), ort.__version__
    except Exception as e:  # onnxruntime raises its own exception types
        raise RunnerError(f"onnxruntime cannot load {path}: {str(e).splitlines()[0]}") from e


def _tflite_interpreter(path: str, threads: int):
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    try:
        import ai_edge_litert
        from ai_edge_litert.interpreter import Interpreter

        version = "ai-edge-litert " + getattr(ai_edge_litert, "__version__", "unknown")
    except ImportError:
        try:
            import tflite_runtime
            from tflite_runtime.interpreter import Interpreter

            version = "tflite-runtime " + getattr(tflite_runtime, "__version__", "unknown")
        except ImportError as e:
            raise RunnerError("no TFLite runtime here: pip install ai-edge-litert") from e
    try:
        return Interpreter(model_path=path, num_threads=threads), version
    except (ValueError, RuntimeError) as e:
        raise RunnerError(f"cannot load {path}: {str(e).splitlines()[0]}") from e


def load_stages(bundle: str, man: dict, runtime: str, threads: int):
    """(stage callables x -> (features or None, logits), full-model callable, runtime version)."""
    import numpy as np

    ee = man["early_exit"]
    stages = ee["stages"]
    base = bundle if os.path.isdir(bundle) else os.path.dirname(bundle)
    if runtime == "onnxruntime":
        calls = []
        version = None
        for st in stages:
            if "onnx" not in st:
                raise RunnerError("the bundle has no ONNX stages: use --runtime tflite")
            sess, version = _onnx_session(os.path.join(base, st["onnx"]), threads)
            names = (
                [st["outputs"]["features"], "logits"] if "features" in st["outputs"] else ["logits"]
            )
            feed = st["input"]["name"]

            def call(x, sess=sess, names=names, feed=feed):
                outs = sess.run(names, {feed: x})
                return (outs[0], outs[1]) if len(outs) == 2 else (None, outs[0])

            calls.append(call)
        full_sess, _ = _onnx_session(os.path.join(base, ee["full_model"]["onnx"]), threads)
        full_in = full_sess.get_inputs()[0].name

        def full(x):
            return full_sess.run(None, {full_in: x})[0]

        return calls, full, version
    if not ee.get("tflite"):
        raise RunnerError("the bundle has no TFLite stages: use --runtime onnxruntime")
    it, version = _tflite_interpreter(os.path.join(base, ee["tflite"]["path"]), threads)
    io = ee["tflite"]["io"]
    calls = []
    for k, sig in enumerate(ee["tflite"]["signatures"]):
        run = it.get_signature_runner(sig)
        last = k == len(stages) - 1

        def call(x, run=run, last=last):
            out = run(**{io["input"]: x})
            if last:
                return None, out[io["final_logits"]]
            return out[io["features"]], out[io["logits"]]

        calls.append(call)
    full_it, _ = _tflite_interpreter(os.path.join(base, ee["full_model"]["tflite"]), threads)
    full_it.allocate_tensors()
    fin, fout = full_it.get_input_details()[0]["index"], full_it.get_output_details()[0]["index"]

    def full(x):
        full_it.set_tensor(fin, np.ascontiguousarray(x))
        full_it.invoke()
        return full_it.get_tensor(fout)

    return calls, full, version


def run_early_exit(calls, thresholds, x, timing=None):
    """Run stages until a confident head; returns (exit index, logits). ``timing`` (a list)
    collects (stage seconds..., decision seconds) when given."""
    feats = x
    for k, call in enumerate(calls):
        t0 = time.perf_counter()
        feats, logits = call(feats)
        t1 = time.perf_counter()
        if k == len(calls) - 1:
            if timing is not None:
                timing.append((k, t1 - t0, 0.0))
            return k, logits
        confident = confidence(logits) >= thresholds[k]
        if timing is not None:
            timing.append((k, t1 - t0, time.perf_counter() - t1))
        if confident:
            return k, logits
    raise RunnerError("the bundle has no stages")


def run_all_stages(calls, x):
    """Every stage to the end, no decisions: what the cut costs against one full-model call."""
    feats = x
    logits = None
    for call in calls:
        feats, logits = call(feats)
    return logits


def measure(
    bundle: str,
    inputs: str,
    *,
    runtime: str = "onnxruntime",
    threads: int = 1,
    passes: int = 5,
    warmup: int = 1,
    per_input: bool = False,
) -> dict:
    import numpy as np

    man = _read_manifest(bundle)
    ee = man["early_exit"]
    if not os.path.isfile(inputs):
        raise RunnerError(f"inputs file {inputs} does not exist")
    with np.load(inputs, allow_pickle=False) as z:
        if "x" not in z:
            raise RunnerError(f"{inputs} must hold an array 'x' (model-ready inputs)")
        xs = z["x"].astype(np.float32)
        ys = z["y"] if "y" in z else None
    expected = ee["stages"][0]["input"]["shape"]
    if list(xs.shape[1:]) != list(expected[1:]):
        raise RunnerError(f"inputs have shape {list(xs.shape[1:])}, the model takes {expected[1:]}")
    thresholds = [st["threshold"] for st in ee["stages"][:-1]]
    cum = [st["cumulative_macs"] for st in ee["stages"]]
    calls, full, version = load_stages(bundle, man, runtime, threads)
    samples = [np.ascontiguousarray(xs[i : i + 1]) for i in range(len(xs))]

    exits = np.zeros(len(xs), dtype=np.int64)
    preds = np.zeros(len(xs), dtype=np.int64)
    full_preds = np.zeros(len(xs), dtype=np.int64)
    for i, x in enumerate(samples):
        exits[i], logits = run_early_exit(calls, thresholds, x)
        preds[i] = int(np.argmax(logits))
        full_preds[i] = int(np.argmax(full(x)))

    modes = {"full": [], "early_exit": [], "all_stages": []}
    stage_time = [[] for _ in calls]
    decision_time = []
    for p in range(warmup + passes):
        record = p >= warmup
        for mode in modes:
            t_pass = []
            for x in samples:
                timing = [] if mode == "early_exit" and record else None
                t0 = time.perf_counter()
                if mode == "full":
                    full(x)
                elif mode == "early_exit":
                    run_early_exit(calls, thresholds, x, timing)
                else:
                    run_all_stages(calls, x)
                t_pass.append(time.perf_counter() - t0)
                if timing:
                    for k, ts, td in timing:
                        stage_time[k].append(ts)
                        if k < len(calls) - 1:
                            decision_time.append(td)
            if record:
                modes[mode].append(t_pass)

    def summary(runs):
        # each input's latency is its median over the passes (robust to a busy moment on a
        # shared CPU); the figure is the mean of those over all inputs
        per_input = [statistics.median(col) for col in zip(*runs, strict=True)]
        return {
            "mean": 1e3 * statistics.fmean(per_input),
            "median": 1e3 * statistics.median(per_input),
            "pass_means": [1e3 * statistics.fmean(r) for r in runs],
        }

    lat = {m: summary(r) for m, r in modes.items()}
    counts = np.bincount(exits, minlength=len(calls))
    avg_macs = float(np.asarray(cum, dtype=np.float64)[exits].mean())
    full_macs = float(ee["full_model"]["macs"])
    mac_saving = 1 - avg_macs / full_macs
    lat_saving = 1 - lat["early_exit"]["mean"] / lat["full"]["mean"]
    result = {
        "runtime": runtime,
        "runtime_version": version,
        "threads": threads,
        "passes": passes,
        "warmup_passes": warmup,
        "inputs": len(xs),
        "machine": platform.machine(),
        "latency_ms": lat,
        "stage_ms": [1e3 * statistics.fmean(t) if t else None for t in stage_time],
        "stage_calls": [len(t) // max(passes, 1) for t in stage_time],
        "decision_ms": 1e3 * statistics.fmean(decision_time) if decision_time else 0.0,
        "staging_overhead": lat["all_stages"]["mean"] / lat["full"]["mean"] - 1,
        "exit_counts": [int(c) for c in counts],
        "exit_shares": [float(c / len(xs)) for c in counts],
        "average_macs": avg_macs,
        "full_macs": full_macs,
        "mac_ratio": avg_macs / full_macs,
        "mac_saving": mac_saving,
        "latency_ratio": lat["early_exit"]["mean"] / lat["full"]["mean"],
        "latency_saving": lat_saving,
        "latency_saving_per_mac_saving": lat_saving / mac_saving if mac_saving > 0 else None,
        "agreement_with_full": float((preds == full_preds).mean()),
        "measured": True,
    }
    if ys is not None:
        result["accuracy"] = float((preds == ys).mean())
        result["full_accuracy"] = float((full_preds == ys).mean())
    if per_input:
        result["exits"] = exits.tolist()
        result["predictions"] = preds.tolist()
    return result


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Run an early-exit bundle's stages and time them.")
    ap.add_argument("bundle", help="bundle folder (or its manifest.json)")
    ap.add_argument("--inputs", required=True, help=".npz with 'x' (model-ready) and 'y'")
    ap.add_argument("--runtime", choices=RUNTIMES, default="onnxruntime")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--passes", type=int, default=5, help="timed passes over all inputs")
    ap.add_argument("--warmup", type=int, default=1, help="untimed passes first")
    ap.add_argument("--per-input", action="store_true", help="also list each input's exit")
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
            print(
                f"staged_runner: error: did not finish within {a.deadline:.0f} s", file=sys.stderr
            )
            os._exit(3)

        signal.signal(signal.SIGALRM, _expire)
        signal.alarm(max(1, int(a.deadline)))
    try:
        if a.threads < 1 or a.passes < 1 or a.warmup < 0:
            raise RunnerError("--threads and --passes must be >= 1, --warmup >= 0")
        result = measure(
            a.bundle,
            a.inputs,
            runtime=a.runtime,
            threads=a.threads,
            passes=a.passes,
            warmup=a.warmup,
            per_input=a.per_input,
        )
    except RunnerError as e:
        print(f"staged_runner: error: {e}", file=sys.stderr)
        return EXIT_BAD_INPUT
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Latency on an Android phone over adb, with LiteRT's ``benchmark_model`` binary.

The .tflite is pushed under a fixed name into a fresh folder of /data/local/tmp; the device
shell line is built from fixed words and ``shlex.quote``-d values (adb always goes through the
device's shell), run under ``timeout`` where the device has it, and the folder is removed on
every path out.
"""

from __future__ import annotations

import secrets
import shlex
import subprocess
from dataclasses import dataclass
from pathlib import Path

from tinykit.errors import TinykitError

DELEGATES = {
    "cpu": [],
    "xnnpack": ["--use_xnnpack=true"],
    "gpu": ["--use_gpu=true"],
    "nnapi": ["--use_nnapi=true"],
}
DEVICE_TMP = "/data/local/tmp"


@dataclass
class AdbTarget:
    """Which phone (``serial``; None: the only one connected) and where benchmark_model is: a
    path on the phone, a local file to push, or None to look for it."""

    serial: str | None = None
    benchmark_model: str | None = None
    adb: str = "adb"

    def argv(self, *args: str) -> list[str]:
        return [self.adb, *(["-s", self.serial] if self.serial else []), *args]


def _adb(target: AdbTarget, *args: str, timeout: float) -> subprocess.CompletedProcess:
    try:
        proc = subprocess.run(
            target.argv(*args),
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
        )
    except FileNotFoundError as e:
        raise TinykitError(
            "no adb here: install Android's platform tools "
            "(apt install adb) and connect the phone with USB debugging on"
        ) from e
    except subprocess.TimeoutExpired as e:
        raise TinykitError(
            f"the phone did not answer 'adb {args[0]}' within {timeout:.0f} s"
        ) from e
    err = (proc.stderr or "").lower()
    if "no devices" in err or ("device" in err and "not found" in err):
        raise TinykitError(
            "no Android phone found: connect one with USB debugging on (adb devices lists none)"
            if not target.serial
            else f"phone {target.serial} is not connected (see adb devices)"
        )
    if "unauthorized" in err:
        raise TinykitError("the phone refused adb: accept the USB debugging prompt on it")
    if "more than one device" in err:
        raise TinykitError("several phones are connected: choose one with --serial")
    return proc


def benchmark_command(
    binary: str,
    graph: str,
    *,
    threads: int,
    runs: int,
    warmup: int,
    delegate: str = "xnnpack",
    taskset: str | None = None,
    signature: str | None = None,
    timeout: float = 600.0,
) -> str:
    """The device shell line that runs benchmark_model (every value quoted)."""
    if delegate not in DELEGATES:
        raise TinykitError(f"unknown delegate '{delegate}': use one of {', '.join(DELEGATES)}")
    q = shlex.quote
    words = [
        q(binary),
        q(f"--graph={graph}"),
        f"--num_threads={int(threads)}",
        f"--num_runs={int(runs)}",
        f"--warmup_runs={int(warmup)}",
        *DELEGATES[delegate],
    ]
    if signature:
        words.append(q(f"--signature_to_run_for={signature}"))
    if taskset:
        if not all(c in "0123456789abcdefABCDEF" for c in taskset):
            raise TinykitError(f"--taskset takes a hexadecimal CPU mask (e.g. f0), got '{taskset}'")
        words = ["taskset", taskset, *words]
    run = " ".join(words)
    t = int(timeout)
    return f"if command -v timeout >/dev/null 2>&1; then timeout {t} {run}; else {run}; fi"


def signatures(path: Path) -> list[str]:
    """Signature names of a .tflite (several need --signature_to_run_for)."""
    from tinykit.exporters.artifact import _quiet_tf_logs, silence_native_stderr

    _quiet_tf_logs()
    with silence_native_stderr():
        from ai_edge_litert.interpreter import Interpreter

        try:
            return list(Interpreter(model_path=str(path)).get_signature_list())
        except (ValueError, RuntimeError) as e:
            raise TinykitError(
                f"{path} is not a TFLite model LiteRT can load: {str(e).strip().splitlines()[0]}"
            ) from e


def _find_binary(target: AdbTarget, remote_dir: str) -> str:
    q = shlex.quote
    given = target.benchmark_model
    if given and Path(given).is_file():  # a local binary: push it beside the model
        dest = f"{remote_dir}/benchmark_model"
        push = _adb(target, "push", given, dest, timeout=300)
        if push.returncode != 0:
            raise TinykitError(f"adb push of {given} failed: {push.stderr.strip()}")
        _adb(target, "shell", f"chmod 755 {q(dest)}", timeout=30)
        return dest
    candidates = [given] if given else [f"{DEVICE_TMP}/benchmark_model", "benchmark_model"]
    for c in candidates:
        probe = _adb(
            target, "shell", f"command -v {q(c)} || test -x {q(c)} && echo {q(c)}", timeout=30
        )
        found = probe.stdout.strip().splitlines()
        if probe.returncode == 0 and found:
            return found[0].strip()
    raise TinykitError(
        f"benchmark_model not found at {given} on the phone"
        if given
        else "benchmark_model is not on the phone: download LiteRT's android_aarch64 "
        "benchmark_model and pass --benchmark-model FILE (tinykit pushes it)"
    )


def adb_bench(
    path,
    target: AdbTarget,
    *,
    threads: int = 4,
    runs: int = 50,
    warmup: int = 5,
    delegate: str = "xnnpack",
    taskset: str | None = None,
    signature: str | None = None,
    timeout: float = 600.0,
) -> dict:
    """Run benchmark_model on the phone for a .tflite and parse its figures."""
    from tinykit.bench.benchmark_model_output import BenchmarkOutputError, parse_benchmark_model

    p = Path(path)
    if p.suffix != ".tflite" or not p.is_file():
        raise TinykitError(f"{p}: a phone benchmark takes an existing .tflite file")
    sigs = signatures(p)
    if len(sigs) > 1 and not signature:
        raise TinykitError(
            f"{p.name} has several signatures ({', '.join(sigs)}): choose one with --signature"
        )
    if signature and signature not in sigs:
        raise TinykitError(f"{p.name} has no signature '{signature}' ({', '.join(sigs)})")
    remote_dir = f"{DEVICE_TMP}/tinykit-bench-{secrets.token_hex(6)}"
    q = shlex.quote
    made = _adb(target, "shell", f"mkdir -p {q(remote_dir)}", timeout=60)
    if made.returncode != 0:
        raise TinykitError(f"cannot create {remote_dir} on the phone: {made.stderr.strip()}")
    try:
        graph = f"{remote_dir}/model.tflite"
        push = _adb(target, "push", str(p), graph, timeout=300)
        if push.returncode != 0:
            raise TinykitError(f"adb push of {p.name} failed: {push.stderr.strip()}")
        binary = _find_binary(target, remote_dir)
        cmd = benchmark_command(
            binary,
            graph,
            threads=threads,
            runs=runs,
            warmup=warmup,
            delegate=delegate,
            taskset=taskset,
            signature=signature,
            timeout=timeout,
        )
        out = _adb(target, "shell", cmd, timeout=timeout + 30)
    finally:
        try:
            _adb(target, "shell", f"rm -rf {q(remote_dir)}", timeout=60)
        except TinykitError:
            pass  # the first error says more
    text = out.stdout + "\n" + out.stderr
    try:
        r = parse_benchmark_model(text)
    except BenchmarkOutputError as e:
        lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
        raise TinykitError(
            f"benchmark_model failed on the phone: {lines[-1] if lines else 'no output'}"
        ) from e
    warnings = []
    if r["median"] is None:
        warnings.append("this benchmark_model prints no median: 'median' is its mean")
        r["median"] = r["mean"]
    r.update(
        threads=threads,
        warmup=warmup,
        runtime="benchmark_model",
        runtime_version=None,
        delegate=delegate,
        taskset=taskset,
        measured=True,
        peak_rss_kb=None,
        p90=None,
        warnings=warnings,
    )
    return r

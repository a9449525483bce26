"""The staged runner on a board over SSH (a Raspberry Pi), through tinykit's SSH driver.

The bundle travels under fixed names into a ``mktemp -d`` folder (stage files ``s0.onnx``...,
``stages.tflite``, ``full.*``, ``inputs.npz``, and a manifest rewritten to those names), so no
local file name ever reaches the remote shell; the runner gets a deadline of its own and the
folder is removed on every path out, as for :func:`tinykit.bench.ssh.ssh_bench`.
"""

from __future__ import annotations

import copy
import json
import shlex
import tempfile
from pathlib import Path

from tinykit.errors import TinykitError

RUNTIME_FORMAT = {"onnxruntime": "onnx", "tflite": "tflite"}


def _remote_files(bundle: Path, man: dict, runtime: str) -> tuple[list[tuple[Path, str]], dict]:
    """(local file, remote name) pairs and the manifest rewritten to the remote names."""
    ee = man["early_exit"]
    new = copy.deepcopy(man)
    files = []
    if runtime == "onnxruntime":
        for k, st in enumerate(ee["stages"]):
            if "onnx" not in st:
                raise TinykitError("the bundle has no ONNX stages: use the tflite runtime")
            files.append((bundle / st["onnx"], f"s{k}.onnx"))
            new["early_exit"]["stages"][k]["onnx"] = f"s{k}.onnx"
        files.append((bundle / ee["full_model"]["onnx"], "full.onnx"))
        new["early_exit"]["full_model"]["onnx"] = "full.onnx"
    else:
        if not ee.get("tflite"):
            raise TinykitError("the bundle has no TFLite stages: use the onnxruntime runtime")
        files.append((bundle / ee["tflite"]["path"], "stages.tflite"))
        new["early_exit"]["tflite"]["path"] = "stages.tflite"
        files.append((bundle / ee["full_model"]["tflite"], "full.tflite"))
        new["early_exit"]["full_model"]["tflite"] = "full.tflite"
    return files, new


def ssh_bench_stages(
    bundle: Path,
    inputs: Path,
    target,
    *,
    runtime: str,
    threads: int = 1,
    passes: int = 5,
    timeout: float = 600.0,
) -> dict:
    """The staged runner's JSON for ``runtime`` measured on ``target`` (a
    :class:`tinykit.bench.ssh.SshTarget`).

    Raises:
        TinykitError: one line for an unreachable host, failed authentication, no Python or no
            runtime on the device, or a time-out; the remote folder is removed in every case.
    """
    from tinykit.bench.ssh import EXIT_NOT_FOUND, _run
    from tinykit.earlyexit.measure import runner_path
    from tinykit.exporters.bundle import read_manifest

    if runtime not in RUNTIME_FORMAT:
        raise TinykitError(f"unknown runtime '{runtime}': use {', '.join(RUNTIME_FORMAT)}")
    bundle = Path(bundle)
    files, man = _remote_files(bundle, read_manifest(bundle), runtime)
    step = min(60.0, timeout)
    made = _run(
        target, "mktemp -d /tmp/tinykit-staged.XXXXXXXX", timeout=step + 15, what="connection"
    )
    remote_dir = made.stdout.strip().splitlines()[-1] if made.stdout.strip() else ""
    if made.returncode != 0 or not remote_dir.startswith("/tmp/tinykit-staged."):
        raise TinykitError(
            f"cannot create a temporary folder on {target.host}: "
            f"{made.stderr.strip() or 'mktemp failed'}"
        )
    q = shlex.quote
    done = False
    try:
        with tempfile.TemporaryDirectory() as d:
            local_man = Path(d) / "manifest.json"
            local_man.write_text(json.dumps(man))
            send = [
                (runner_path(), "staged_runner.py"),
                (local_man, "manifest.json"),
                (Path(inputs), "inputs.npz"),
                *files,
            ]
            for local, name in send:
                with open(local, "rb") as f:
                    cp = _run(
                        target,
                        f"cat > {q(remote_dir + '/' + name)}",
                        timeout=step + 15 + local.stat().st_size / 1e6,
                        stdin=f,
                        what="copy",
                    )
                if cp.returncode != 0:
                    raise TinykitError(
                        f"copying {name} to {target.host} failed: "
                        f"{cp.stderr.strip() or cp.returncode}"
                    )
        run = " ".join(
            [
                q(target.python),
                "staged_runner.py",
                ".",
                "--inputs",
                "inputs.npz",
                "--runtime",
                q(runtime),
                "--threads",
                str(int(threads)),
                "--passes",
                str(int(passes)),
                "--deadline",
                str(int(timeout)),
            ]
        )
        cmd = f"cd {q(remote_dir)} && {run}; rc=$?; cd / && rm -rf -- {q(remote_dir)}; exit $rc"
        proc = _run(target, cmd, timeout=timeout + 15, what="staged benchmark")
        done = True  # the remote line removed its folder itself
    finally:
        if not done:
            try:
                _run(target, f"rm -rf -- {q(remote_dir)}", timeout=30, what="cleanup")
            except TinykitError:
                pass  # the original error says more; the folder lives in /tmp
    err = [ln for ln in proc.stderr.strip().splitlines() if ln.strip()]
    if proc.returncode == EXIT_NOT_FOUND:
        raise TinykitError(
            f"no Python at '{target.python}' on {target.host}: install it "
            "(sudo apt install python3 python3-numpy) or pass --remote-python"
        )
    if proc.returncode != 0:
        msgs = [
            ln.removeprefix("staged_runner: error: ")
            for ln in err
            if ln.startswith("staged_runner: error:")
        ]
        raise TinykitError(
            f"on {target.host}: "
            + (
                msgs[-1]
                if msgs
                else (err[-1] if err else f"the staged runner failed ({proc.returncode})")
            )
        )
    try:
        result = json.loads(proc.stdout.strip().splitlines()[-1])
    except (json.JSONDecodeError, IndexError) as e:
        raise TinykitError(f"the staged runner on {target.host} printed no result") from e
    result["board"] = result["host"] = target.host
    return result

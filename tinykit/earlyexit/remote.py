"""The staged runner on a board over SSH (a Raspberry Pi), through tinykit's SSH driver.

The bundle travels under fixed names into a ``mktemp -d`` folder (stage files ``s0.onnx``...,
``stages.tflite``, ``full.*``, ``inputs.npz``, and a manifest rewritten to those names), so no
local file name ever reaches the remote shell; the runner gets a deadline of its own and the
folder is removed on every path out, as for :func:`tinykit.bench.ssh.ssh_bench`.
"""

from __future__ import annotations

import copy
import json
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
    from tinykit.bench.ssh import read_result, run_in_remote_dir
    from tinykit.earlyexit.measure import runner_path
    from tinykit.exporters.bundle import read_manifest

    if runtime not in RUNTIME_FORMAT:
        raise TinykitError(f"unknown runtime '{runtime}': use {', '.join(RUNTIME_FORMAT)}")
    bundle = Path(bundle)
    files, man = _remote_files(bundle, read_manifest(bundle), runtime)
    flags = f"--runtime {runtime} --threads {int(threads)} --passes {int(passes)}"
    argv = [target.python, "staged_runner.py", ".", "--inputs", "inputs.npz", *flags.split()]
    argv += ["--deadline", int(timeout)]
    with tempfile.TemporaryDirectory() as d:
        local_man = Path(d) / "manifest.json"
        local_man.write_text(json.dumps(man))
        send = [
            (runner_path(), "staged_runner.py"),
            (local_man, "manifest.json"),
            (Path(inputs), "inputs.npz"),
            *files,
        ]
        proc = run_in_remote_dir(
            target, send, argv, prefix="tinykit-staged", timeout=timeout, what="staged benchmark"
        )
    result = read_result(proc, target, "staged_runner")
    result["board"] = target.host
    return result

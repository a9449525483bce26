"""Benchmarks over SSH against a real OpenSSH server on 127.0.0.1 (the "device" is this
machine; its Python is this worktree's .venv). Every test also checks that no remote folder and
no runner process is left behind."""

from __future__ import annotations

import glob
import os
import shutil
import socket
import sys
import threading
import time
from pathlib import Path

import pytest

from tinykit.bench.ssh import SshTarget, ssh_bench
from tinykit.errors import TinykitError

pytestmark = pytest.mark.slow


def _leftovers() -> tuple[list[str], list[str]]:
    """Remote temp folders and running runner processes (the remote side is this machine)."""
    folders = glob.glob("/tmp/tinykit-bench.*")
    procs = []
    for cmdline in glob.glob("/proc/[0-9]*/cmdline"):
        try:
            args = Path(cmdline).read_bytes().split(b"\0")
        except OSError:
            continue
        if any(a.endswith(b"runner.py") for a in args) and b"--deadline" in args:
            procs.append(cmdline)
    return folders, procs


@pytest.fixture
def clean():
    yield
    deadline = time.monotonic() + 5  # sshd may take a moment to reap the session
    while time.monotonic() < deadline and any(_leftovers()):
        time.sleep(0.1)
    assert _leftovers() == ([], [])


def _target(sshd, **kw) -> SshTarget:
    args = dict(
        host=sshd.host,
        port=sshd.port,
        identity=str(sshd.key),
        options=sshd.options,
        python=sys.executable,
        connect_timeout=5,
    )
    args.update(kw)
    return SshTarget(**args)


def test_tflite_and_onnx_over_ssh(sshd, artifacts, clean):
    for kind, runtime in (("tflite", "ai-edge-litert"), ("onnx", "onnxruntime")):
        r = ssh_bench(artifacts[kind], _target(sshd), runs=20, warmup=2)
        assert r["measured"] is True and r["runtime"] == runtime
        assert r["runs"] == 20 and len(r["times_ms"]) == 20 and r["median"] > 0
        assert r["host"] == sshd.host and r["cpu"] and "machine" in r


def test_file_name_never_reaches_a_shell(sshd, artifacts, tmp_path, clean):
    evil = tmp_path / "m; touch PWNED_$(id -u) `touch PWNED2` 'q.tflite"
    shutil.copy(artifacts["tflite"], evil)
    r = ssh_bench(evil, _target(sshd), runs=5, warmup=1)
    assert r["runs"] == 5
    for where in (Path.cwd(), Path.home(), Path("/tmp"), Path("/"), tmp_path):
        assert not list(where.glob("PWNED*")), where


def test_unreachable_host(sshd, artifacts, clean):
    t = _target(sshd, port=_closed_port())
    with pytest.raises(TinykitError, match=r"unreachable .*refused"):
        ssh_bench(artifacts["tflite"], t)


def _closed_port() -> int:
    with socket.socket() as s:  # bound then closed: nothing listens there
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_host_that_never_answers(sshd, artifacts, clean):
    """A port that accepts the connection but never speaks SSH: the connect time-out ends it."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(4)
    conns = []
    stop = threading.Event()

    def accept():
        srv.settimeout(0.2)
        while not stop.is_set():
            try:
                conns.append(srv.accept()[0])
            except OSError:
                pass

    th = threading.Thread(target=accept, daemon=True)
    th.start()
    t0 = time.monotonic()
    try:
        with pytest.raises(TinykitError, match=r"unreachable|did not answer"):
            ssh_bench(
                artifacts["tflite"], _target(sshd, port=srv.getsockname()[1], connect_timeout=2)
            )
        assert time.monotonic() - t0 < 20
    finally:
        stop.set()
        th.join()
        for c in conns:
            c.close()
        srv.close()


def test_authentication_failure(sshd, artifacts, clean, tmp_path):
    with pytest.raises(TinykitError, match="authentication to .* failed") as e:
        ssh_bench(artifacts["tflite"], _target(sshd, identity=str(sshd.other_key)))
    assert f"ssh-copy-id -p {sshd.port} {sshd.host}" in str(e.value)  # advice that works
    with pytest.raises(TinykitError, match="key file .*nokey does not exist"):
        ssh_bench(artifacts["tflite"], _target(sshd, identity=str(tmp_path / "nokey")))


def test_no_python_on_device(sshd, artifacts, clean):
    with pytest.raises(TinykitError, match="no Python at '/nonexistent/python3'"):
        ssh_bench(artifacts["tflite"], _target(sshd, python="/nonexistent/python3"))


def _device_python(tmp_path: Path, modules: dict[str, str]) -> str:
    """A "device" Python: this venv's interpreter with ``modules`` shadowing installed ones."""
    shadow = tmp_path / "device-site"
    for name, source in modules.items():
        f = (
            shadow / name.replace(".", "/") / "__init__.py"
            if "." not in name
            else shadow / (name.replace(".", "/") + ".py")
        )
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_text(source)
    wrapper = tmp_path / "python3"
    wrapper.write_text(f'#!/bin/sh\nPYTHONPATH={shadow} exec {sys.executable} "$@"\n')
    wrapper.chmod(0o755)
    return str(wrapper)


BLOCKED = "raise ImportError('not installed on this device')\n"


def test_no_runtime_on_device_names_the_package(sshd, artifacts, tmp_path, clean):
    py = _device_python(
        tmp_path, {"ai_edge_litert": BLOCKED, "tflite_runtime": BLOCKED, "onnxruntime": BLOCKED}
    )
    with pytest.raises(TinykitError, match="no TFLite runtime here: pip install ai-edge-litert"):
        ssh_bench(artifacts["tflite"], _target(sshd, python=py))
    with pytest.raises(TinykitError, match="no onnxruntime here: pip install onnxruntime"):
        ssh_bench(artifacts["onnx"], _target(sshd, python=py))


OLD_TFLITE_RUNTIME = '''
class Interpreter:
    """Stands in for tflite_runtime 2.5 meeting a model with newer op versions; the message
    is the one TFLite's op resolver gives."""

    def __init__(self, model_path=None, num_threads=None):
        raise ValueError(
            "Didn't find op for builtin opcode 'FULLY_CONNECTED' version '12'. An older "
            "version of this builtin might be supported. Are you using an old TFLite binary "
            "with a newer model?\\nRegistration failed.\\n")
'''


def test_runtime_too_old_names_ai_edge_litert(sshd, artifacts, tmp_path, clean):
    py = _device_python(
        tmp_path,
        {
            "ai_edge_litert": BLOCKED,
            "tflite_runtime": "__version__ = '2.5.0'\n",
            "tflite_runtime.interpreter": OLD_TFLITE_RUNTIME,
        },
    )
    with pytest.raises(TinykitError) as e:
        ssh_bench(artifacts["tflite"], _target(sshd, python=py))
    msg = str(e.value)
    assert "too old" in msg and "pip install ai-edge-litert" in msg and "\n" not in msg


def test_remote_timeout_leaves_nothing(sshd, artifacts, clean):
    """A benchmark longer than the time-out: the runner's own deadline ends it on the device."""
    with pytest.raises(TinykitError, match="did not finish within"):
        ssh_bench(artifacts["tflite"], _target(sshd), runs=10_000_000, warmup=0, timeout=3)


def test_not_a_model_is_refused_before_connecting(tmp_path):
    p = tmp_path / "notes.txt"
    p.write_text("hello")
    with pytest.raises(TinykitError, match="not a model tinykit can bench"):
        ssh_bench(p, SshTarget(host="nobody@127.0.0.1", port=_closed_port()))
    assert os.path.exists(p)


@pytest.mark.parametrize("sig", ["SIGINT", "SIGTERM"])
def test_interrupted_bench_stops_the_remote_runner_at_once(sshd, artifacts, tmp_path, clean, sig):
    """Ctrl-C (SIGINT to the whole foreground group) or a SIGTERM to tinykit alone: the runner on
    the device is stopped and its folder removed now, not at its 600 s deadline."""
    import signal
    import subprocess

    argv = [str(Path(sys.executable).parent / "tinykit"), "bench", str(artifacts["tflite"])]
    argv += ["--board", "rpi5", "--host", sshd.host, "--port", str(sshd.port)]
    argv += ["--identity", str(sshd.key), "--remote-python", sys.executable, "--quiet"]
    argv += ["--runs", "100000000", "--out", str(tmp_path / "o")]
    for opt in sshd.options:
        argv += ["--ssh-opt", opt]
    p = subprocess.Popen(argv, start_new_session=True, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not _leftovers()[1] and p.poll() is None and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _leftovers()[1], "the runner never started on the device"
    time.sleep(0.5)
    if sig == "SIGINT":
        os.killpg(p.pid, signal.SIGINT)
    else:
        p.send_signal(signal.SIGTERM)
    _, err = p.communicate(timeout=30)
    assert p.returncode != 0 and "Traceback" not in err
    assert not (tmp_path / "o").exists()
    # the clean fixture then checks, for 5 s at most, that no runner or folder is left

"""Shared fixtures: small real artifacts, and a real OpenSSH server on 127.0.0.1."""

from __future__ import annotations

import getpass
import os
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

SSHD = shutil.which("sshd") or "/usr/sbin/sshd"


@pytest.fixture(scope="session")
def artifacts(tmp_path_factory) -> dict[str, Path]:
    """An untrained ResNet-8 (digits shape) as .onnx, .tflite and a tinykit checkpoint."""
    import torch

    from tinykit.checkpoint import Checkpoint, save_checkpoint
    from tinykit.exporters.onnx import export_onnx
    from tinykit.exporters.tflite import export_tflite
    from tinykit.models import build_model
    from tinykit.spec import InputSpec

    d = tmp_path_factory.mktemp("artifacts")
    torch.manual_seed(0)
    model = build_model("resnet8", num_classes=10, in_channels=1).eval()
    spec = InputSpec(shape=(1, 1, 32, 32), labels=tuple(str(i) for i in range(10)))
    export_onnx(model, spec, d / "r8.onnx")
    export_tflite(model, spec, d / "r8.tflite")
    save_checkpoint(d / "r8.pt", model, Checkpoint(arch="resnet8", spec=spec, state_dict={}))
    return {"onnx": d / "r8.onnx", "tflite": d / "r8.tflite", "checkpoint": d / "r8.pt"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Sshd:
    port: int
    user: str
    key: Path
    other_key: Path  # a valid key the server does not accept
    known_hosts: Path
    dir: Path

    @property
    def host(self) -> str:
        return f"{self.user}@127.0.0.1"

    @property
    def options(self) -> list[str]:
        return [f"UserKnownHostsFile={self.known_hosts}", "StrictHostKeyChecking=accept-new"]


def _keygen(path: Path) -> None:
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(path)], check=True)


@pytest.fixture(scope="session")
def sshd(tmp_path_factory):
    """Debian's OpenSSH server on a free port of 127.0.0.1, with a throwaway host key and a
    throwaway client key; stopped (and its files removed) after the session."""
    if not os.path.exists(SSHD):
        pytest.fail("sshd not found: install Debian's openssh-server (.ci/run does)")
    d = tmp_path_factory.mktemp("sshd")
    for name in ("host_key", "client_key", "other_key"):
        _keygen(d / name)
    (d / "authorized_keys").write_text((d / "client_key.pub").read_text())
    port = free_port()
    (d / "sshd_config").write_text(f"""Port {port}
ListenAddress 127.0.0.1
HostKey {d}/host_key
PidFile {d}/sshd.pid
AuthorizedKeysFile {d}/authorized_keys
StrictModes no
UsePAM no
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
LogLevel ERROR
""")
    if os.geteuid() == 0:
        os.makedirs("/run/sshd", mode=0o755, exist_ok=True)  # sshd's privilege-separation dir
    proc = subprocess.Popen(
        [SSHD, "-D", "-e", "-f", str(d / "sshd_config")],
        stdout=subprocess.DEVNULL,
        stderr=open(d / "sshd.log", "w"),
    )
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"sshd exited: {(d / 'sshd.log').read_text()[-500:]}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                break
        except OSError:
            time.sleep(0.1)
    else:
        proc.kill()
        pytest.fail("sshd did not start listening")
    yield Sshd(
        port=port,
        user=getpass.getuser(),
        key=d / "client_key",
        other_key=d / "other_key",
        known_hosts=d / "known_hosts",
        dir=d,
    )
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()

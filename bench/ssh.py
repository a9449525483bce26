"""Latency on a board reached over SSH (a Raspberry Pi): copy, run the standalone runner, read
back its JSON, clean up.

Only OpenSSH's ``ssh`` client is used, always with an argv list (no local shell). The remote
command line is built from fixed words and ``shlex.quote``-d values; the artifact travels under
a fixed name (``model.onnx`` / ``model.tflite``) inside a ``mktemp -d`` folder, so nothing from
a local file name ever reaches the remote shell. The runner gets a deadline of its own, so no
remote process outlives a dropped connection, and the folder is removed on every path out.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from tinykit.errors import TinykitError

RUNNER = Path(__file__).with_name("runner.py")
EXIT_NOT_FOUND = 127  # the shell's "command not found"
EXIT_SSH = 255  # ssh's own failures (connection, authentication)


@dataclass
class SshTarget:
    """Where and how to connect. ``options`` are extra ``-o`` settings (e.g.
    ``UserKnownHostsFile=...``); ``python`` is the interpreter on the device."""

    host: str
    port: int | None = None
    identity: str | None = None
    options: list[str] = field(default_factory=list)
    python: str = "python3"
    connect_timeout: int = 10

    def argv(self, remote_command: str) -> list[str]:
        if self.host.startswith("-"):
            raise TinykitError(f"host '{self.host}' is not a host name")
        cmd = [
            "ssh",
            "-o",
            "BatchMode=yes",
            "-o",
            f"ConnectTimeout={self.connect_timeout}",
            "-o",
            "ServerAliveInterval=5",
            "-o",
            "ServerAliveCountMax=3",
        ]
        if self.port:
            cmd += ["-p", str(self.port)]
        if self.identity:
            cmd += ["-i", self.identity, "-o", "IdentitiesOnly=yes"]
        for opt in self.options:
            cmd += ["-o", opt]
        return [*cmd, self.host, "--", remote_command]


def _ssh_error(target: SshTarget, stderr: str) -> str:
    """One line for ssh's own failures (exit 255)."""
    low = stderr.lower()
    host = target.host + (f" port {target.port}" if target.port else "")
    port = f"-p {target.port} " if target.port else ""
    if target.identity and not Path(target.identity).is_file():
        return f"the --identity key file {target.identity} does not exist"
    if "permission denied" in low or "too many authentication failures" in low:
        return (
            f"authentication to {host} failed: set up key login "
            f"(ssh-copy-id {port}{target.host}) or pass --identity KEY"
        )
    if "host key verification failed" in low or "remote host identification has changed" in low:
        return (
            f"the host key of {host} is not known or has changed: connect once with "
            f"'ssh {port}{target.host}' to check and accept it"
        )
    if "could not resolve hostname" in low:
        return f"host {target.host} is unknown (its name does not resolve)"
    if any(
        s in low
        for s in (
            "connection refused",
            "no route to host",
            "network is unreachable",
            "connection timed out",
            "operation timed out",
            "timed out",
        )
    ):
        return f"host {host} is unreachable ({stderr.strip().splitlines()[-1]})"
    last = stderr.strip().splitlines()[-1] if stderr.strip() else "ssh failed"
    return f"ssh to {host} failed: {last}"


def _run(
    target: SshTarget, remote_command: str, *, timeout: float, stdin=None, what: str = "command"
) -> subprocess.CompletedProcess:
    try:
        proc = subprocess.run(
            target.argv(remote_command),
            stdin=stdin if stdin is not None else subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
    except FileNotFoundError as e:
        raise TinykitError(
            "no ssh client here: install OpenSSH (apt install openssh-client)"
        ) from e
    except subprocess.TimeoutExpired as e:  # subprocess.run has killed ssh already
        raise TinykitError(
            f"host {target.host} did not answer the {what} within {timeout:.0f} s"
        ) from e
    if proc.returncode == EXIT_SSH:
        raise TinykitError(_ssh_error(target, proc.stderr))
    return proc


def run_in_remote_dir(
    target: SshTarget,
    files: list[tuple[Path, str]],
    argv: list[str],
    *,
    prefix: str,
    timeout: float,
    what: str,
) -> subprocess.CompletedProcess:
    """Copy ``files`` (local path, fixed remote name) into a fresh ``mktemp -d`` folder on
    ``target``, run ``argv`` there (each word quoted), and remove the folder on every path out:
    the same remote line that runs the program removes it, and a failure before that does."""
    q = shlex.quote
    step = min(60.0, timeout)
    made = _run(target, f"mktemp -d /tmp/{prefix}.XXXXXXXX", timeout=step + 15, what="connection")
    remote_dir = made.stdout.strip().splitlines()[-1] if made.stdout.strip() else ""
    if made.returncode != 0 or not remote_dir.startswith(f"/tmp/{prefix}."):
        raise TinykitError(
            f"cannot create a temporary folder on {target.host}: "
            f"{made.stderr.strip() or 'mktemp failed'}"
        )
    done = False
    try:
        for local, name in files:
            with open(local, "rb") as f:
                copy = _run(
                    target,
                    f"cat > {q(remote_dir + '/' + name)}",
                    timeout=step + 15 + Path(local).stat().st_size / 1e6,
                    stdin=f,
                    what="copy",
                )
            if copy.returncode != 0:
                raise TinykitError(
                    f"copying {name} to {target.host} failed: "
                    f"{copy.stderr.strip() or copy.returncode}"
                )
        run = " ".join(q(str(a)) for a in argv)
        # The program runs in the background while a watcher reads the session's stdin, which
        # tinykit holds open: when tinykit or its ssh dies (Ctrl-C), stdin ends, the watcher
        # stops the program, and the folder is removed at once instead of at the deadline.
        # (A background job's own stdin is /dev/null, hence the copy on fd 3; the watcher's
        # output goes to /dev/null so that sshd does not wait for it to close the session.)
        cmd = (
            f"cd {q(remote_dir)} || exit 1; exec 3<&0; {run} </dev/null & pid=$!; "
            "{ cat <&3; kill $pid; } >/dev/null 2>&1 & watch=$!; exec 3<&-; "
            f"wait $pid; rc=$?; kill $watch 2>/dev/null; cd / && rm -rf -- {q(remote_dir)}; "
            "exit $rc"
        )
        r, w = os.pipe()
        try:
            proc = _run(target, cmd, timeout=timeout + 15, stdin=r, what=what)
        finally:
            os.close(r)
            os.close(w)
        done = True
    finally:
        if not done:
            try:
                _run(target, f"rm -rf -- {q(remote_dir)}", timeout=30, what="cleanup")
            except TinykitError:
                pass  # the original error says more; the folder lives in /tmp
    return proc


def read_result(proc: subprocess.CompletedProcess, target: SshTarget, program: str) -> dict:
    """The JSON line a standalone runner (``program``: its file stem) printed, or one line
    that says why there is none."""
    err = [ln for ln in proc.stderr.strip().splitlines() if ln.strip()]
    name = program.replace("_", " ")
    if proc.returncode == EXIT_NOT_FOUND:
        raise TinykitError(
            f"no Python at '{target.python}' on {target.host}: install it "
            "(sudo apt install python3 python3-numpy) or pass --remote-python"
        )
    if proc.returncode != 0:
        tag = f"{program}: error: "
        msgs = [ln.removeprefix(tag) for ln in err if ln.startswith(tag)]
        if msgs:
            raise TinykitError(f"on {target.host}: {msgs[-1]}")
        if any("SyntaxError" in ln for ln in err):
            raise TinykitError(
                f"the Python on {target.host} is too old for the {name}: "
                "install Python 3.8 or newer"
            )
        raise TinykitError(
            f"the {name} failed on {target.host}: {err[-1] if err else f'exit {proc.returncode}'}"
        )
    try:
        result = json.loads(proc.stdout.strip().splitlines()[-1])
    except (json.JSONDecodeError, IndexError) as e:
        raise TinykitError(f"the {name} on {target.host} printed no result") from e
    result["host"] = target.host
    return result


def ssh_bench(
    path: str | os.PathLike[str],
    target: SshTarget,
    *,
    threads: int = 1,
    runs: int = 100,
    warmup: int = 10,
    timeout: float = 600.0,
) -> dict:
    """Measure ``path`` (.onnx or .tflite) on ``target`` with the standalone runner.

    Raises:
        TinykitError: one line for an unreachable host, failed authentication, no Python or no
            runtime on the device (naming the package), a runtime too old for the model, or a
            time-out; the remote folder is removed in every case.
    """
    from tinykit.bench.latency import artifact_kind

    p = Path(path)
    kind = artifact_kind(p)
    if kind == "checkpoint":
        raise TinykitError(
            "a device runs exported files: export the checkpoint to .tflite or "
            ".onnx first (tinykit compress writes both)"
        )
    model_name = f"model.{kind}"
    flags = f"--threads {int(threads)} --runs {int(runs)} --warmup {int(warmup)} --raw"
    argv = [target.python, "runner.py", model_name, *flags.split(), "--deadline", int(timeout)]
    proc = run_in_remote_dir(
        target,
        [(RUNNER, "runner.py"), (p, model_name)],
        argv,
        prefix="tinykit-bench",
        timeout=timeout,
        what="benchmark",
    )
    return read_result(proc, target, "runner")

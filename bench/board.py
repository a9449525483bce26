"""One entry point for "how fast is this artifact on that board": measured where the board can
be reached, estimated (and labelled so) where it cannot."""

from __future__ import annotations

import os
from typing import Any

from tinykit.errors import TinykitError


def resolve_board(board):
    """A BoardProfile from a profile, a shipped name or a path to a board.toml."""
    from tinykit.boards import BoardProfile, load_board

    return board if isinstance(board, BoardProfile) else load_board(board)


def check_host(board, host: str | None) -> None:
    """A --host only means something for a board reached over SSH or adb."""
    b = resolve_board(board)
    if host and b.connect == "local":
        raise TinykitError(
            f"--host {host} goes with a board reached over SSH or adb (--board rpi5, "
            f"android-midrange, ...; see 'tinykit boards'): board '{b.name}' is this machine"
        )


def bench_on_board(
    path: str | os.PathLike[str],
    board="host",
    host: str | None = None,
    *,
    threads: int = 1,
    runs: int = 100,
    warmup: int = 10,
    repeats: int = 1,
    timeout: float = 600.0,
    estimate_only: bool = False,
    **opts: Any,
) -> dict:
    """Latency of ``path`` on ``board``.

    Args:
        board: "host", "rpi4", "rpi5", "android-midrange", a path to a board.toml, or a
            BoardProfile.
        host: how to reach the board: ``user@host`` for an SSH board; the phone's serial (or
            "usb" for the only phone connected) for an adb board. None on a remote board gives
            a roofline estimate (``measured: False``).
        opts: SSH options (``port``, ``identity``, ``ssh_options``, ``remote_python``) or adb
            options (``benchmark_model``, ``delegate``, ``taskset``, ``signature``).

    Returns:
        a latency record (median, p90, mean, std, ..., ``board``, ``measured``).
    """
    from tinykit.bench.latency import artifact_kind, combine

    b = resolve_board(board)
    unknown = set(opts) - {
        "port",
        "identity",
        "ssh_options",
        "remote_python",
        "benchmark_model",
        "delegate",
        "taskset",
        "signature",
    }
    if unknown:
        raise TinykitError(f"unknown option(s) for bench_on_board: {', '.join(sorted(unknown))}")
    check_host(b, host)
    artifact_kind(path)  # refuse a non-model before connecting anywhere
    if estimate_only or (b.connect != "local" and not host):
        from tinykit.bench.estimate import estimate

        out = estimate(path, b, threads=threads)
    elif b.connect == "local":
        from tinykit.bench.latency import bench

        out = bench(
            path, threads=threads, runs=runs, warmup=warmup, timeout=timeout, repeats=repeats
        )
    elif b.connect == "ssh":
        from tinykit.bench.ssh import SshTarget, ssh_bench

        target = SshTarget(
            host=host,
            port=opts.get("port"),
            identity=opts.get("identity"),
            options=list(opts.get("ssh_options") or []),
            python=opts.get("remote_python") or "python3",
            connect_timeout=max(1, int(min(10.0, timeout))),
        )
        results = [
            ssh_bench(path, target, threads=threads, runs=runs, warmup=warmup, timeout=timeout)
            for _ in range(repeats)
        ]
        out = combine(results)
        out["host"] = host
    else:
        from tinykit.bench.adb import AdbTarget, adb_bench

        target = AdbTarget(
            serial=None if host == "usb" else host, benchmark_model=opts.get("benchmark_model")
        )
        taskset = opts.get("taskset") or b.big_cores_mask
        out = adb_bench(
            path,
            target,
            threads=threads,
            runs=runs,
            warmup=warmup,
            delegate=opts.get("delegate") or "xnnpack",
            taskset=taskset,
            signature=opts.get("signature"),
            timeout=timeout,
        )
        out["host"] = host
    out["board"] = b.name
    out["board_title"] = b.title
    return out

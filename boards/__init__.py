"""Board profiles: the facts a latency estimate or a remote run rests on, one TOML per target.

Each shipped profile cites the public source of every fact in a comment. ``host`` is this
machine, read (and its peaks measured) at run time. A user adds a board with
``--board path/to/board.toml`` (same fields as ``rpi5.toml``).
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import asdict, dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from tinykit.errors import TinykitError

CONNECTS = ("local", "ssh", "adb")


@dataclass
class BoardProfile:
    """A target's CPU, memory and throughput facts, and how tinykit reaches it."""

    name: str
    title: str
    connect: str
    cpu_model: str = ""
    cores: int = 1
    clock_ghz: float = 0.0
    isa: list[str] = field(default_factory=list)
    bandwidth_gbs: float = 0.0
    fp32_macs_per_cycle: float = 0.0
    int8_macs_per_cycle: float = 0.0
    runtimes: list[str] = field(default_factory=list)
    big_cores_mask: str | None = None
    source: str = ""
    peaks_measured: bool = False  # True for the host: peaks measured here, not from a sheet

    def __post_init__(self) -> None:
        if self.connect not in CONNECTS:
            raise TinykitError(
                f"board '{self.name}': connect must be one of "
                f"{', '.join(CONNECTS)}, got '{self.connect}'"
            )
        if self.cores < 1:
            raise TinykitError(f"board '{self.name}': cores must be at least 1")
        for key in ("clock_ghz", "bandwidth_gbs", "fp32_macs_per_cycle", "int8_macs_per_cycle"):
            if getattr(self, key) < 0:
                raise TinykitError(f"board '{self.name}': {key} cannot be negative")

    def peak_macs_per_s(self, precision: str, threads: int) -> float:
        """Peak multiply-accumulates per second on ``threads`` cores (at most all cores)."""
        per_cycle = self.int8_macs_per_cycle if precision == "int8" else self.fp32_macs_per_cycle
        return per_cycle * self.clock_ghz * 1e9 * max(1, min(threads, self.cores))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _field(d: dict, key: str, where: str, kind: type):
    cur: Any = d
    for part in key.split("."):
        if not isinstance(cur, dict) or part not in cur:
            raise TinykitError(f"board file {where}: missing '{key}'")
        cur = cur[part]
    try:
        return kind(cur)
    except (TypeError, ValueError) as e:
        what = {int: "a whole number", float: "a number", str: "a string"}.get(kind, kind.__name__)
        raise TinykitError(f"board file {where}: '{key}' must be {what}") from e


def parse_board(d: dict[str, Any], where: str) -> BoardProfile:
    """A BoardProfile from a TOML table (fields as in the shipped profiles)."""
    name = _field(d, "name", where, str)
    connect = str(d.get("connect", "ssh"))
    return BoardProfile(
        name=name,
        title=str(d.get("title", name)),
        connect=connect,
        cpu_model=_field(d, "cpu.model", where, str),
        cores=_field(d, "cpu.cores", where, int),
        clock_ghz=_field(d, "cpu.clock_ghz", where, float),
        isa=[str(x) for x in d["cpu"].get("isa", [])],
        bandwidth_gbs=_field(d, "memory.bandwidth_gbs", where, float),
        fp32_macs_per_cycle=_field(d, "peak.fp32_macs_per_cycle", where, float),
        int8_macs_per_cycle=_field(d, "peak.int8_macs_per_cycle", where, float),
        runtimes=[str(x) for x in d.get("runtimes", [])],
        big_cores_mask=d["cpu"].get("big_cores_mask"),
        source=where,
    )


def _read_toml(text: str, where: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise TinykitError(f"board file {where} is not valid TOML: {e}") from e


def shipped_names() -> list[str]:
    return sorted(
        p.name[:-5] for p in resources.files(__name__).iterdir() if p.name.endswith(".toml")
    )


def load_board(name_or_path: str | os.PathLike[str]) -> BoardProfile:
    """A shipped board by name (``rpi4``, ``rpi5``, ``android-midrange``, ``host``) or a user's
    profile by path (anything ending in .toml)."""
    s = str(name_or_path)
    if s.endswith(".toml") or os.sep in s:
        p = Path(s)
        if not p.is_file():
            raise TinykitError(f"board file {p} does not exist")
        d = _read_toml(p.read_text(), str(p))
        if d.get("name") == "host" or d.get("connect") == "local":
            raise TinykitError(f"board file {p}: the host is read at run time, use --board host")
        return parse_board(d, str(p))
    if s == "host":
        from tinykit.boards.host import host_profile

        return host_profile()
    if s not in shipped_names():
        raise TinykitError(
            f"unknown board '{s}': use one of {', '.join(shipped_names())} "
            "or a path to your own board.toml"
        )
    text = resources.files(__name__).joinpath(f"{s}.toml").read_text()
    return parse_board(_read_toml(text, f"{s}.toml"), f"{s}.toml")


def list_boards(*, measure_host: bool = False) -> list[BoardProfile]:
    """Every shipped board; the host with its peaks measured only if ``measure_host``."""
    from tinykit.boards.host import host_profile

    return [
        host_profile(measure=measure_host) if n == "host" else load_board(n)
        for n in shipped_names()
    ]

"""Write files so that nothing half-written is ever left under the final name."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tinykit.errors import TinykitError


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _usual_mode(path: Path, *, folder: bool) -> None:
    """mkstemp and mkdtemp create private (0600 / 0700) entries; what tinykit writes is meant to
    be shipped and shared, so give it the mode a plain open() or mkdir would have."""
    path.chmod((0o777 if folder else 0o666) & ~_umask())


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; rename it onto ``path`` only on success."""
    final = Path(path)
    final.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{final.name}.", suffix=".part", dir=final.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        _usual_mode(tmp_path, folder=False)
        os.replace(tmp_path, final)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def write_text(path: str | os.PathLike[str], text: str) -> Path:
    with atomic_path(path) as tmp:
        tmp.write_text(text)
    return Path(path)


def write_json(path: str | os.PathLike[str], obj: Any) -> Path:
    return write_text(path, json.dumps(obj, indent=2, sort_keys=False) + "\n")


@contextlib.contextmanager
def staged_dir(final: str | os.PathLike[str]) -> Iterator[Path]:
    """Build a whole output folder under a temporary name; move it into place when complete.

    ``final`` must not exist or be an empty folder (checked by :func:`check_out_dir`).
    """
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.", suffix=".part", dir=final.parent))
    try:
        yield tmp
        _usual_mode(tmp, folder=True)
        if final.exists():
            final.rmdir()  # empty by contract
        os.replace(tmp, final)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def check_out_dir(path: str | os.PathLike[str]) -> Path:
    """Refuse an output folder that exists and holds anything: never overwrite a user's files."""
    p = Path(path)
    if p.exists() and not p.is_dir():
        raise TinykitError(f"output path {p} exists and is a file: choose another --out")
    if p.is_dir() and any(p.iterdir()):
        raise TinykitError(f"output folder {p} exists and is not empty: choose another --out")
    return p


def new_run_dir(root: str | os.PathLike[str] = "tinykit-out", stem: str = "run") -> Path:
    """A fresh, not yet existing folder name under ``root`` (run-001, run-002, ...)."""
    root = Path(root)
    n = 1
    while (root / f"{stem}-{n:03d}").exists():
        n += 1
    return root / f"{stem}-{n:03d}"


def sha256(path: str | os.PathLike[str]) -> str:
    import hashlib

    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()

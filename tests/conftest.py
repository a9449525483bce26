"""Test-wide settings: a private cache (the reference model trains once per checkout) and no
progress bars in test output."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
os.environ.setdefault("XDG_CACHE_HOME", str(ROOT / ".pytest_cache" / "xdg-cache"))
os.environ["TINYKIT_NO_PROGRESS"] = "1"
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


@pytest.fixture(scope="session")
def digits():
    from tinykit.data import load_digits_data

    return load_digits_data(seed=0)


@pytest.fixture(scope="session")
def reference_ckpt():
    """The embedded reference checkpoint (trained on first use, ~20 s, then cached)."""
    from tinykit.reference import reference_checkpoint

    return reference_checkpoint(progress=False)


@pytest.fixture()
def reference_model(reference_ckpt):
    return reference_ckpt.build()


def run_cli(*args: str, env: dict | None = None, cwd: str | None = None):
    """Run the real console entry point in a subprocess; returns CompletedProcess."""
    import subprocess
    import sys

    e = {**os.environ, **(env or {})}
    return subprocess.run(
        [sys.executable, "-c", "from tinykit.cli.main import main; main()", *args],
        capture_output=True,
        text=True,
        env=e,
        cwd=cwd,
        timeout=1200,
    )

"""Outputs appear whole under their final name, with the permissions of an ordinary file."""

import os
import stat

import pytest

from tinykit.fileio import atomic_path, staged_dir, write_text


def _mode(p):
    return stat.S_IMODE(os.stat(p).st_mode)


def test_written_files_and_folders_get_the_umask_mode_not_mkstemp_private(tmp_path):
    old = os.umask(0o022)
    try:
        with staged_dir(tmp_path / "out") as d:
            write_text(d / "manifest.json", "{}\n")
        assert _mode(tmp_path / "out") == 0o755  # mkdtemp alone gives 0700
        assert _mode(tmp_path / "out" / "manifest.json") == 0o644  # mkstemp alone gives 0600
    finally:
        os.umask(old)


def test_a_failed_write_leaves_nothing(tmp_path):
    target = tmp_path / "model.onnx"
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_bytes(b"half")
        raise RuntimeError("exporter crashed")
    assert list(tmp_path.iterdir()) == []

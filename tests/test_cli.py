"""The command line: fast help, one-line errors with exit status 2, nothing half-written."""

import subprocess
import sys

import numpy as np
import pytest

from tests.conftest import run_cli


def _imports_after(code: str) -> set[str]:
    out = subprocess.run(
        [sys.executable, "-c", code + "\nimport sys; print(' '.join(sorted(sys.modules)))"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    return set(out)


def test_import_and_help_do_not_import_torch():
    mods = _imports_after("import tinykit")
    assert "torch" not in mods
    mods = _imports_after(
        "import sys\nsys.argv=['tinykit','--help']\nfrom tinykit.cli.main import main\n"
        "try:\n    main()\nexcept SystemExit:\n    pass"
    )
    assert "torch" not in mods and "onnxruntime" not in mods and "click" in mods


def test_help_lists_commands_and_explains_options():
    r = run_cli("--help")
    assert r.returncode == 0 and "compress" in r.stdout and "train" in r.stdout
    r = run_cli("compress", "--help")
    assert r.returncode == 0
    assert "\n  Measures the baseline" in r.stdout  # the description is re-wrapped, not kept
    for opt in (
        "--bits",
        "--quant",
        "--prune",
        "--sparsity",
        "--out",
        "--json",
        "--data",
        "train.npz",
        "--weights",
        "--trust-pickle",
    ):
        assert opt in r.stdout


def _assert_one_line_error(r, needle: str):
    assert r.returncode == 2, r.stderr
    lines = [ln for ln in r.stderr.strip().splitlines() if ln.strip()]
    assert len(lines) == 1, r.stderr
    assert lines[0].startswith("tinykit: error:") and needle in lines[0], lines[0]
    assert "Traceback" not in r.stderr


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--bits", "9"], "--bits"),
        (["--bits", "0"], "--bits"),
        (["--sparsity", "1.0"], "--sparsity"),
        (["--sparsity", "-0.1"], "--sparsity"),
        (["--ratio", "1.5"], "--ratio"),
        (["--model", "missing.pt"], "missing.pt does not exist"),
        (["--model", "resnet18", "--weights", "nope.pt"], "nope.pt does not exist"),
        (["--model", "no_such_arch"], "unknown architecture 'no_such_arch'"),
        (["--formats", "onnx,coreml"], "unknown export format 'coreml'"),
        (["--data", "nowhere/"], "--data needs --model"),
        (["--quant", "linear", "--bits", "1"], "linear quantization needs --bits 2-8"),
        (["--host", "pi@x"], "--host pi@x goes with a board reached over SSH or adb"),
        (["--target-sparsity", "0.5"], "--target-sparsity goes with --sparsity auto"),
        (["--max-drop", "1"], "--max-drop goes with --sparsity auto"),
        (["--formats", ","], "no export format given"),
        (["--prune", "channel", "--sparsity", "0.9"], "--sparsity goes with --prune fine"),
        (["--ratio", "0.3"], "--ratio goes with --prune channel"),
        (["--bits", "8", "--per-channel"], "--per-channel goes with k-means"),
        (["--quant", "none", "--bits", "2"], "--bits goes with --quant kmeans or linear"),
        (["--calibration", "mse"], "--calibration goes with --quant linear"),
    ],
)
def test_bad_input_one_line_exit_2(tmp_path, args, needle):
    out = tmp_path / "out"
    r = run_cli("compress", *args, "--out", str(out), cwd=str(tmp_path))
    _assert_one_line_error(r, needle)
    assert not out.exists()


def test_sigterm_leaves_no_half_written_output(tmp_path):
    import os
    import signal
    import time

    env = {**os.environ, "TINYKIT_NO_PROGRESS": "1"}
    p = subprocess.Popen(
        [sys.executable, "-c", "from tinykit.cli.main import main; main()", "compress"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 120
    while not list(tmp_path.glob("tinykit-out/.*.part")) and time.monotonic() < deadline:
        time.sleep(0.2)  # wait until the output folder is being built
    assert p.poll() is None, "compress ended before it could be stopped"
    p.send_signal(signal.SIGTERM)
    _, err = p.communicate(timeout=60)
    assert p.returncode == 143 and err.strip().splitlines()[-1] == "tinykit: error: terminated"
    assert not [q for q in tmp_path.rglob("*") if q.is_dir() and q.name != "tinykit-out"]


def test_nonempty_out_dir_is_refused_and_untouched(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    r = run_cli("compress", "--out", str(out))
    _assert_one_line_error(r, "not empty")
    assert [p.name for p in out.iterdir()] == ["keep.txt"]


def test_foreign_checkpoint_and_wrong_shape(tmp_path, reference_ckpt):
    import argparse

    import torch

    evil = tmp_path / "evil.pt"
    torch.save({"x": argparse.Namespace()}, evil)
    _assert_one_line_error(run_cli("compress", "--model", str(evil)), "--trust-pickle")
    # the digits checkpoint (1 channel) against 3-channel data
    from tinykit.reference import reference_path

    d = tmp_path / "rgb"
    d.mkdir()
    x = np.zeros((20, 3, 8, 8), dtype=np.uint8)
    np.savez(d / "train.npz", x=x, y=np.arange(20) % 10)
    np.savez(d / "test.npz", x=x, y=np.arange(20) % 10)
    r = run_cli(
        "compress", "--model", str(reference_path()), "--data", str(d), "--out", str(tmp_path / "o")
    )
    _assert_one_line_error(r, "3-channel images")
    assert not (tmp_path / "o").exists()


def test_train_refuses_to_overwrite(tmp_path):
    f = tmp_path / "m.pt"
    f.write_text("precious")
    _assert_one_line_error(run_cli("train", "--out", str(f)), "exists")
    assert f.read_text() == "precious"


def test_inspect_reads_a_checkpoint_of_other_data_without_needing_it(tmp_path):
    """A 3-channel, 3-class, 16x16 checkpoint: inspect takes its shape from the checkpoint."""
    import json

    import torch

    from tinykit.checkpoint import Checkpoint, save_checkpoint
    from tinykit.models import build_model
    from tinykit.spec import InputSpec

    m = build_model("resnet8", num_classes=3, in_channels=3)
    spec = InputSpec(shape=(1, 3, 16, 16), labels=("a", "b", "c"))
    save_checkpoint(tmp_path / "m.pt", m, Checkpoint(arch="resnet8", spec=spec, state_dict={}))
    r = run_cli("inspect", str(tmp_path / "m.pt"), "--json", "--out", str(tmp_path / "i"))
    assert r.returncode == 0, r.stderr
    from tinykit.bench.macs import count_macs

    assert json.loads(r.stdout)["macs"] == count_macs(m, torch.zeros(1, 3, 16, 16)).macs
    sd = tmp_path / "r18.pt"
    import torchvision

    torch.save(torchvision.models.resnet18(num_classes=3).state_dict(), sd)
    r = run_cli(
        "inspect", "--model", "resnet18", "--weights", str(sd), "--out", str(tmp_path / "j")
    )
    _assert_one_line_error(r, "does not fit resnet18 with 1000 classes (pass --num-classes?)")


def test_progress_bars_only_on_a_terminal(monkeypatch):
    """Redrawn bars in a log file or pipe are noise, and would share a line with an error."""
    import io

    from tinykit.progress import progress_bar

    class Tty(io.StringIO):
        def isatty(self):
            return True

    monkeypatch.delenv("TINYKIT_NO_PROGRESS", raising=False)
    monkeypatch.setattr(sys, "stderr", io.StringIO())
    assert progress_bar(range(3), desc="x").disable is True
    monkeypatch.setattr(sys, "stderr", Tty())
    assert progress_bar(range(3), desc="x").disable is False

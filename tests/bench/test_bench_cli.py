"""tinykit bench / tinykit boards from the command line: figures, files, and one-line errors."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
import time

import pytest

from tinykit.cli.main import main


def run_cli(args, capsys) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as e:
        main(args)
        raise SystemExit(0)
    out, err = capsys.readouterr()
    return e.value.code or 0, out, err


def one_line_error(code: int, err: str, *words: str) -> None:
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert code == 2 and len(lines) == 1 and lines[0].startswith("tinykit: error: "), err
    for w in words:
        assert w in lines[0], lines[0]


def test_bench_json_and_files(artifacts, tmp_path, capsys):
    out = tmp_path / "b"
    code, stdout, _ = run_cli(
        [
            "bench",
            str(artifacts["onnx"]),
            str(artifacts["checkpoint"]),
            "--runs",
            "20",
            "--warmup",
            "2",
            "--out",
            str(out),
            "--json",
            "--quiet",
        ],
        capsys,
    )
    assert code == 0
    rep = json.loads(stdout)
    assert [r["kind"] for r in rep["results"]] == ["onnx", "checkpoint"]
    onnx, ckpt = (r["latency_ms"] for r in rep["results"])
    assert onnx["runtime"] == "onnxruntime" and ckpt["runtime"] == "pytorch"
    assert onnx["measured"] is True and onnx["runs"] == 40 and onnx["repeats"] == 2
    assert len(onnx["repeat_medians"]) == 2 and onnx["median"] > 0 and onnx["first_ms"] > 0
    assert onnx["peak_rss_kb"] > 10_000 and onnx["cpu_flags"] == rep["environment"]["cpu_flags"]
    assert rep["results"][0]["macs"] == rep["results"][1]["macs"] == 12_206_720
    assert json.loads((out / "bench.json").read_text())["results"][0]["kind"] == "onnx"
    from tinykit.bench.report import render_bench

    assert " 20 x 2" in render_bench(rep)  # runs per process x processes, not the pooled 40
    png = (out / "latency_vs_macs.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10_000


def test_estimate_is_labelled_everywhere(artifacts, tmp_path, capsys):
    code, stdout, _ = run_cli(
        [
            "bench",
            str(artifacts["tflite"]),
            "--board",
            "rpi4",
            "--out",
            str(tmp_path / "e"),
            "--quiet",
        ],
        capsys,
    )
    assert code == 0
    assert "(est.)" in stdout and "ESTIMATE, not a measurement" in stdout
    code, _, err = run_cli(
        ["bench", str(artifacts["tflite"]), "--board", "rpi4", "--threads", "8"]
        + ["--out", str(tmp_path / "e8"), "--quiet"],
        capsys,
    )
    assert code == 0 and "--threads 8 on 4 core(s) of 'rpi4'" in err
    assert "no Arm dot-product" in stdout  # the Pi 4 cannot make int8 fast
    rep = json.loads((tmp_path / "e" / "bench.json").read_text())
    lat = rep["results"][0]["latency_ms"]
    assert lat["measured"] is False and lat["estimate"] == "roofline" and lat["board"] == "rpi4"


def test_not_a_model(tmp_path, capsys):
    p = tmp_path / "photo.png"
    p.write_bytes(b"\x89PNG not a model")
    code, _, err = run_cli(["bench", str(p), "--out", str(tmp_path / "o"), "--quiet"], capsys)
    one_line_error(code, err, "photo.png", "not a model")
    fake = tmp_path / "fake.onnx"
    fake.write_text("this is text, not a protobuf")
    code, _, err = run_cli(["bench", str(fake), "--out", str(tmp_path / "o"), "--quiet"], capsys)
    one_line_error(code, err, "fake.onnx", "onnxruntime cannot load")
    assert not (tmp_path / "o").exists() and sorted(x.name for x in tmp_path.iterdir()) == [
        "fake.onnx",
        "photo.png",
    ]


def test_unknown_board(artifacts, tmp_path, capsys):
    code, _, err = run_cli(
        ["bench", str(artifacts["onnx"]), "--board", "rpi9", "--out", str(tmp_path / "o")], capsys
    )
    one_line_error(code, err, "unknown board 'rpi9'", "rpi5")
    assert not (tmp_path / "o").exists()


def test_files_a_device_cannot_run_are_refused_before_connecting(artifacts, tmp_path, capsys):
    """The refusal comes before any host is contacted (10.255.255.1 would fail as unreachable
    instead), for a checkpoint over SSH and an .onnx on a phone."""
    for board, bad, ok in (("rpi5", "checkpoint", "onnx"), ("android-midrange", "onnx", "tflite")):
        code, _, err = run_cli(
            ["bench", str(artifacts[ok]), str(artifacts[bad]), "--board", board]
            + ["--host", "pi@10.255.255.1", "--out", str(tmp_path / "o"), "--quiet"],
            capsys,
        )
        one_line_error(code, err, artifacts[bad].name, f"board '{board}' runs only")
    assert not (tmp_path / "o").exists()


@pytest.mark.slow
def test_host_that_never_answers(artifacts, tmp_path, capsys):
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(4)
    port = srv.getsockname()[1]
    held, stop = [], threading.Event()

    def accept():
        srv.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(srv.accept()[0])  # accept, never speak
            except OSError:
                pass

    th = threading.Thread(target=accept, daemon=True)
    th.start()
    t0 = time.monotonic()
    try:
        code, _, err = run_cli(
            [
                "bench",
                str(artifacts["tflite"]),
                "--board",
                "rpi5",
                "--host",
                "pi@127.0.0.1",
                "--port",
                str(port),
                "--timeout",
                "3",
                "--ssh-opt",
                "BatchMode=yes",
                "--out",
                str(tmp_path / "o"),
                "--quiet",
            ],
            capsys,
        )
    finally:
        stop.set()
        th.join()
        for c in held:
            c.close()
        srv.close()
    one_line_error(code, err, "127.0.0.1")
    assert time.monotonic() - t0 < 30 and not (tmp_path / "o").exists()
    assert not _ssh_processes_to(port)


def _ssh_processes_to(port: int) -> list[str]:
    from pathlib import Path

    found = []
    for f in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            args = f.read_bytes().split(b"\0")
        except OSError:
            continue
        if args and args[0].endswith(b"ssh") and str(port).encode() in args:
            found.append(str(f))
    return found


@pytest.mark.slow
def test_bench_over_ssh_from_the_cli(sshd, artifacts, tmp_path, capsys):
    code, stdout, _ = run_cli(
        [
            "bench",
            str(artifacts["tflite"]),
            "--board",
            "rpi5",
            "--host",
            sshd.host,
            "--port",
            str(sshd.port),
            "--identity",
            str(sshd.key),
            *sum((["--ssh-opt", o] for o in sshd.options), []),
            "--remote-python",
            sys.executable,
            "--runs",
            "10",
            "--warmup",
            "1",
            "--out",
            str(tmp_path / "s"),
            "--json",
            "--quiet",
        ],
        capsys,
    )
    assert code == 0
    lat = json.loads(stdout)["results"][0]["latency_ms"]
    assert lat["measured"] is True and lat["board"] == "rpi5" and lat["host"] == sshd.host
    assert lat["runtime"] == "ai-edge-litert" and lat["runs"] == 20


def test_boards_lists_the_profiles(capsys):
    code, stdout, _ = run_cli(["boards", "--json"], capsys)
    assert code == 0
    profiles = json.loads(stdout)
    assert [b["name"] for b in profiles] == ["android-midrange", "host", "rpi4", "rpi5"]
    host = profiles[1]  # not measured without --measure-host: null, not a made-up 0.0
    assert host["bandwidth_gbs"] is None and host["fp32_macs_per_cycle"] is None
    assert profiles[3]["bandwidth_gbs"] == 17.1


def test_help_does_not_import_torch():
    code = (
        "import sys; from tinykit.cli.main import main\n"
        "try:\n main(['bench', '--help'])\nexcept SystemExit: pass\n"
        "try:\n main(['boards', '--help'])\nexcept SystemExit: pass\n"
        "assert 'torch' not in sys.modules and 'onnxruntime' not in sys.modules\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert "--board" in r.stdout and "--measure-host" in r.stdout

"""tinykit maml through tinykit.cli.main.main: outputs, determinism, one-line errors with exit 2."""

import json
import os
import subprocess
import sys

import pytest

from tinykit.cli.main import main

os.environ["TINYKIT_NO_PROGRESS"] = "1"
PNG = b"\x89PNG\r\n\x1a\n"


def _run(args, capsys):
    """Run the CLI in-process; returns (exit status, stdout, stderr)."""
    try:
        main(["maml", *args])
        code = 0
    except SystemExit as e:
        code = e.code
    out = capsys.readouterr()
    return code, out.out, out.err


def _is_png(path):
    return path.read_bytes()[:8] == PNG and path.stat().st_size > 5000


def test_help_and_import_do_not_import_torch():
    code = (
        "import sys\nimport tinykit.meta, tinykit.meta.features, tinykit.meta.config\n"
        "from tinykit.cli.main import main\n"
        "for argv in (['maml', '--help'], ['maml', 'regression', '--help']):\n"
        "    try:\n        main(argv)\n    except SystemExit:\n        pass\n"
        "print('torch' in sys.modules)"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert r.stdout.strip().endswith("False")
    assert (
        "--num-gd-steps"
        in subprocess.run(
            [
                sys.executable,
                "-c",
                "from tinykit.cli.main import main; main()",
                "maml",
                "gd",
                "--help",
            ],
            capture_output=True,
            text=True,
        ).stdout
    )


BAD = [
    (["alias", "--c0", "0,0"], "zero vector"),
    (["alias", "--c0", "0.0,-0.0"], "zero vector"),
    (["alias", "--c0", "1,2,3"], "two weights"),
    (["alias", "--c0", "one,two"], "two numbers"),
    (["gd", "--num-gd-steps", "-1"], "-1 is not a positive"),
    (["gd", "--num-gd-steps", "2.5"], "'2.5' is not an integer"),
    (["gd", "--num-gd-steps", "5,0"], "0 is not a positive"),
    (["classify", "--num-gd-steps", "-3"], "--num-gd-steps"),
    (["classify", "--num-gd-steps", "1.5"], "--num-gd-steps"),
    (["regression", "--subset", "3,501"], "outside the features 0..500"),
    (["regression", "--d", "21", "--n-inner", "8", "--subset", "0,21"], "0..20"),
    (["gd", "--subset", "x"], "--subset"),
    (["regression", "--d", "500"], "--d 500 is even"),
    (["classify", "--d", "64"], "is even"),
    (["regression", "--d", "21"], "n_inner <= d"),
    (["sine", "--eval-steps", "1,b"], "--eval-steps"),
    (["sine", "--eval-steps=-1"], "--eval-steps must be integers >= 0, got -1"),
    (["regression", "--subset", "5,5,6"], "--subset: index 5 is given twice"),
]


@pytest.mark.parametrize(("args", "needle"), BAD, ids=[" ".join(a) for a, _ in BAD])
def test_bad_input_is_one_line_and_exit_2(args, needle, capsys, tmp_path):
    code, out, err = _run([*args, "--out", str(tmp_path / "o"), "--quiet"], capsys)
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("tinykit: error:") and needle in lines[0]
    assert "Traceback" not in err and not (tmp_path / "o").exists()


def test_alias_writes_plot_and_json(capsys, tmp_path):
    code, out, _ = _run(
        [
            "alias",
            "--c0",
            "3,-1",
            "--iterations",
            "200000",
            "--lr",
            "0.05",
            "--json",
            "--out",
            str(tmp_path / "a"),
        ],
        capsys,
    )
    assert code == 0
    res = json.loads(out)
    assert res["norm_start"] == pytest.approx(10**0.5)
    assert res["c_final"][0] == pytest.approx(10**0.5, rel=5e-3)
    assert abs(res["c_final"][1]) < 0.05
    assert res["beta_limit"] == pytest.approx([10**-0.5, 0.0])
    assert _is_png(tmp_path / "a" / "alias.png")
    assert json.loads((tmp_path / "a" / "result.json").read_text())["c_start"] == [3.0, -1.0]


SMALL = [
    "--d",
    "41",
    "--n-inner",
    "8",
    "--iterations",
    "40",
    "--num-post",
    "6",
    "--test-tasks",
    "8",
    "--quiet",
]


def test_regression_is_reproducible_and_prints_a_table(capsys, tmp_path):
    results = []
    for name in ("r1", "r2"):
        code, out, _ = _run(
            ["regression", *SMALL, "--seed", "4", "--json", "--out", str(tmp_path / name)], capsys
        )
        assert code == 0
        results.append(json.loads((tmp_path / name / "result.json").read_text()))
        assert _is_png(tmp_path / name / "test_curve.png")
        assert _is_png(tmp_path / name / "weights.png")
    for r in results:
        r.pop("seconds")
    assert results[0] == results[1]
    code, out, _ = _run(["regression", *SMALL, "--out", str(tmp_path / "r3")], capsys)
    assert code == 0 and "meta-learned c" in out and "oracle" in out and "n_inner" in out


def test_gd_runs_each_step_count(capsys, tmp_path):
    code, out, _ = _run(
        ["gd", *SMALL, "--num-gd-steps", "3,1", "--out", str(tmp_path / "g")], capsys
    )
    assert code == 0 and "3 inner GD step(s)" in out and "1 inner GD step(s)" in out
    for f in ("gd_steps.png", "test_curve_3steps.png", "weights_1steps.png"):
        assert _is_png(tmp_path / "g" / f)
    runs = json.loads((tmp_path / "g" / "result.json").read_text())["runs"]
    assert sorted(runs) == ["1", "3"] and runs["3"]["config"]["num_gd_steps"] == 3


def test_classify_and_sine_write_their_outputs(capsys, tmp_path):
    code, out, _ = _run(["classify", *SMALL, "--out", str(tmp_path / "c")], capsys)
    assert code == 0 and "%" in out
    assert _is_png(tmp_path / "c" / "test_curve.png")
    code, out, _ = _run(
        [
            "sine",
            "--iterations",
            "20",
            "--test-tasks",
            "6",
            "--quiet",
            "--json",
            "--out",
            str(tmp_path / "s"),
        ],
        capsys,
    )
    assert code == 0
    res = json.loads(out)
    assert len(res["per_task_mse"]["maml"]["10"]) == 6 and _is_png(tmp_path / "s" / "sine.png")


def test_non_empty_out_is_refused(capsys, tmp_path):
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "keep.txt").write_text("mine")
    code, _, err = _run(["alias", "--out", str(tmp_path / "full")], capsys)
    assert code == 2 and "not empty" in err
    assert (tmp_path / "full" / "keep.txt").read_text() == "mine"

"""tinykit finetune --only-block on the reference ResNet-8, and its bad inputs."""

from __future__ import annotations

import json

import pytest

from tinykit.cli.main import main


def test_finetune_writes_table_plot_and_deltas(tmp_path, capsys):
    out_dir = tmp_path / "f"
    main(
        [
            "finetune",
            "--only-block",
            "first,fc",
            "--corruption",
            "contrast",
            "--severity",
            "4",
            "--n-train",
            "32",
            "--epochs",
            "1",
            "--lr",
            "1e-2",
            "--quiet",
            "--json",
            "--out",
            str(out_dir),
        ]
    )
    report = json.loads(capsys.readouterr().out)
    assert report["blocks"] == ["stem", "stage1", "stage2", "stage3", "fc"]
    row = report["results"][0]
    assert row["corruption"] == "contrast" and set(row["choices"]) == {"first", "fc"}
    assert (out_dir / "blocks.png").stat().st_size > 1000
    fc = report["deltas"]["fc"]
    assert fc["blocks"] == ["fc"] and (out_dir / fc["path"]).is_file()
    # the fc delta (650 numbers) is a small fraction of the whole model
    assert fc["size_bytes"] < report["full_model_bytes"] / 20


@pytest.mark.parametrize(
    "args,needle",
    [
        (["--only-block", "stage9"], "no block named 'stage9'"),
        (["--corruption", "fog"], "unknown corruption 'fog'"),
        (["--severity", "6"], "--severity"),
        (["--severity", "0"], "--severity"),
        (["--corruption", ""], "--corruption was given no value"),
        (["--only-block", " , "], "--only-block was given no value"),
        (["--only-block", "stem,first"], "--only-block first and stem tune the same block"),
        (["--n-train", "100000"], "more than the 1258 training images"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(args, needle, tmp_path, capsys):
    with pytest.raises(SystemExit) as e:
        main(["finetune", *args, "--quiet", "--out", str(tmp_path / "x")])
    err = capsys.readouterr().err
    assert e.value.code == 2 and err.count("\n") == 1 and needle in err
    assert not (tmp_path / "x").exists()

"""tinykit prompt / softprompt on a tiny local LM folder, and their bad inputs."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tinykit.cli.main import main


def run(args, capsys):
    with pytest.raises(SystemExit) as e:
        main(args)
    out = capsys.readouterr()
    return e.value.code, out.out, out.err


def ok(args, capsys):
    try:
        main(args)
    except SystemExit as e:  # pragma: no cover - a failure shows its message
        raise AssertionError(capsys.readouterr().err) from e
    return capsys.readouterr().out


def test_prompt_json_and_files(tiny_lm_dir, tmp_path, capsys):
    out = ok(
        [
            "prompt",
            "--lm",
            str(tiny_lm_dir),
            "--n",
            "6",
            "--shots",
            "2",
            "--samples",
            "2",
            "--temperature",
            "1.0",
            "--top-p",
            "0.9",
            "--quiet",
            "--json",
            "--out",
            str(tmp_path / "p"),
        ],
        capsys,
    )
    report = json.loads(out)
    assert [s["strategy"] for s in report["strategies"]] == [
        "zero-shot",
        "instruction",
        "few-shot",
        "few-shot-wrong",
    ]
    for s in report["strategies"]:
        assert 0 <= s["scored_accuracy"] <= 1 and 0 <= s["valid_share"] <= 1
        assert len(s["samples"]) == 2
    assert json.loads((tmp_path / "p" / "report.json").read_text())["task"] == "sentiment"
    # the few-shot-wrong prompt shows labels that differ from the few-shot one
    fs, fw = report["first_prompt"]["few-shot"], report["first_prompt"]["few-shot-wrong"]
    assert fs != fw and fs.count("Final answer:") == fw.count("Final answer:") == 3


def test_prompt_table_and_same_numbers_twice(tiny_lm_dir, tmp_path, capsys):
    args = [
        "prompt",
        "--lm",
        str(tiny_lm_dir),
        "--task",
        "plural",
        "--n",
        "4",
        "--quiet",
        "--strategy",
        "zero-shot",
        "--strategy",
        "few-shot",
        "--temperature",
        "0.8",
    ]
    a = ok([*args, "--out", str(tmp_path / "a")], capsys)
    ok([*args, "--out", str(tmp_path / "b")], capsys)
    assert "acc (log-prob)" in a and "few-shot" in a
    ra = json.loads((tmp_path / "a" / "report.json").read_text())
    rb = json.loads((tmp_path / "b" / "report.json").read_text())
    assert ra["strategies"] == rb["strategies"]


def test_softprompt_cli_prints_the_trainable_count(tiny_lm_dir, tmp_path, capsys):
    out = ok(
        [
            "softprompt",
            "--lm",
            str(tiny_lm_dir),
            "--k",
            "4",
            "--steps",
            "3",
            "--batch-size",
            "4",
            "--n-train",
            "8",
            "--n",
            "4",
            "--shots",
            "1",
            "--quiet",
            "--out",
            str(tmp_path / "s"),
        ],
        capsys,
    )
    assert "trainable numbers: 128 = K 4 x E 32" in out
    assert (tmp_path / "s" / "loss.png").stat().st_size > 1000
    import torch

    saved = torch.load(tmp_path / "s" / "soft_prompt.pt", weights_only=True)
    assert saved["vectors"].shape == (4, 32)


@pytest.mark.parametrize(
    "args,needle",
    [
        (["softprompt", "--k", "0"], "--k"),
        (["prompt", "--lm", "/nonexistent/lm"], "not a folder"),
        (["prompt", "--temperature", "-1"], "--temperature"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(args, needle, capsys):
    code, _, err = run(args, capsys)
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("tinykit: error:") and needle in err


def test_a_folder_that_is_not_a_causal_lm_is_refused(tmp_path, capsys):
    from transformers import ViTConfig

    ViTConfig(
        hidden_size=8, num_hidden_layers=1, num_attention_heads=1, intermediate_size=8
    ).save_pretrained(tmp_path)
    code, _, err = run(["prompt", "--lm", str(tmp_path)], capsys)
    assert code == 2 and err.count("\n") == 1
    assert "ViTConfig is not a causal language model" in err
    empty = tmp_path / "empty"
    empty.mkdir()
    code, _, err = run(["softprompt", "--lm", str(empty)], capsys)
    assert code == 2 and "no config.json" in err


def test_cli_modules_do_not_import_torch():
    code = (
        "import sys, tinykit.cli.prompt, tinykit.cli.softprompt, tinykit.cli.finetune, "
        "tinykit.lm.tasks, tinykit.surgical.corruptions; "
        "print('torch' in sys.modules, 'transformers' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


def test_cli_task_choices_are_the_registered_tasks():
    from tinykit.cli.prompt import TASK_NAMES
    from tinykit.lm.tasks import TASKS

    assert sorted(TASK_NAMES) == sorted(TASKS)

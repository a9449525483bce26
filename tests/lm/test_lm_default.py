"""The default LM, pretrained here on first use as a user's first `tinykit prompt` would (about
3 minutes on two free cores, then cached in the test cache): what it learned."""

from __future__ import annotations

import pytest


@pytest.mark.slow
def test_default_lm_follows_instructions():
    from tinykit.lm.model import load_lm
    from tinykit.lm.pretrain import default_lm_dir, lm_record
    from tinykit.lm.prompting import PromptConfig, run_prompting
    from tinykit.lm.tasks import get_task

    lm = load_lm(None, progress=False)
    record = lm_record(default_lm_dir())
    assert record["loss_last"] < 1.0 < record["loss_first"]
    assert record["params"] == lm.num_params() and 500_000 < record["params"] < 2_000_000
    for task in ("plural", "article", "opposite"):
        report = run_prompting(
            lm,
            get_task(task),
            PromptConfig(
                task=task, strategies=("zero-shot", "instruction", "few-shot"), n_test=30, samples=0
            ),
            progress=False,
        )
        acc = {s["strategy"]: s["generated_accuracy"] for s in report["strategies"]}
        # an instruction or examples name the task; a bare word leaves it ambiguous
        assert acc["instruction"] >= 0.7 and acc["few-shot"] >= 0.7, (task, acc)
        assert acc["zero-shot"] < acc["instruction"] - 0.2, (task, acc)

"""The cached default LM: what it learned (runs only once it is trained and cached).

Pretraining takes minutes, more than the test budget, so this test uses the cache that
`tinykit prompt` or `tinykit softprompt` fills on first use; set TINYKIT_PRETRAIN_TESTS=1 to
train it here if it is missing.
"""

from __future__ import annotations

import os

import pytest


@pytest.mark.slow
def test_default_lm_follows_instructions():
    from tinykit.lm.pretrain import LM_VERSION, lm_record
    from tinykit.reference import cache_dir

    cached = cache_dir() / f"lm-gpt2-mini-v{LM_VERSION}" / "tinykit_lm.json"
    if not cached.is_file() and os.environ.get("TINYKIT_PRETRAIN_TESTS") != "1":
        pytest.skip("default LM not cached yet (set TINYKIT_PRETRAIN_TESTS=1 to train it)")
    from tinykit.lm.model import load_lm
    from tinykit.lm.prompting import PromptConfig, run_prompting
    from tinykit.lm.tasks import get_task

    lm = load_lm(None, progress=False)
    record = lm_record(cached.parent)
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

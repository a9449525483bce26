"""Soft prompts: what trains, which positions carry loss, and that the LM stays frozen."""

from __future__ import annotations

import math

import pytest
import torch

from tinykit.lm.softprompt import IGNORE


def test_only_k_times_e_numbers_train(tiny_lm):
    from tinykit.lm.model import freeze
    from tinykit.lm.softprompt import SoftPrompt, trainable_count

    freeze(tiny_lm.model)
    soft = SoftPrompt(tiny_lm, 5)
    assert tiny_lm.embedding_dim == 32
    assert trainable_count(tiny_lm, soft) == 5 * 32 == soft.vectors.numel()
    assert trainable_count(tiny_lm, SoftPrompt(tiny_lm, 1)) == 32


def test_k_below_one_is_refused(tiny_lm):
    from tinykit.errors import TinykitError
    from tinykit.lm.softprompt import SoftPrompt, SoftPromptConfig

    with pytest.raises(TinykitError, match="K >= 1"):
        SoftPrompt(tiny_lm, 0)
    with pytest.raises(TinykitError, match="K >= 1"):
        SoftPromptConfig(k=0)


def test_loss_positions_of_the_homework_example():
    """Soft prompt 1-5, question 6-50, reasoning 51-70, answer 71, newline 72, padding to 100
    (1-based): the outputs that carry loss are 50-71, each labelled with the next input."""
    from tinykit.lm.softprompt import shifted_labels

    k = 5
    tokens = list(range(1000, 1067))  # 45 question + 20 reasoning + answer + newline
    mask = [i >= 45 for i in range(67)]
    other = list(range(2000, 2095))  # a longer row pads this one to 100 positions
    labels = shifted_labels([tokens, other], [mask, [False] * 95], k)
    assert labels.shape == (2, 100)
    carrying = (labels[0] != IGNORE).nonzero().flatten() + 1  # 1-based output positions
    assert carrying.tolist() == list(range(50, 72))
    # output position p (1-based) is labelled with input token p + 1: the answer (input 71)
    # is the label of output 70, the newline (input 72) of output 71
    assert labels[0, 70 - 1] == tokens[71 - k - 1]
    assert labels[0, 71 - 1] == tokens[72 - k - 1]
    assert (labels[1] == IGNORE).all()


def test_target_selection_on_a_chain_of_thought_example(tiny_lm):
    from tinykit.lm.softprompt import target_mask
    from tinykit.lm.tasks import Example, get_task

    task = get_task("arithmetic")
    ex = Example("Tom has 3 apples and gets 4. How many?", "7", "3 + 4 = 7.")
    ids, mask = target_mask(tiny_lm, task, ex, "completion")
    picked = [t for t, m in zip(ids, mask, strict=True) if m]
    rest = [t for t, m in zip(ids, mask, strict=True) if not m]
    assert tiny_lm.decode(picked) == " 3 + 4 = 7.\nFinal answer: 7\n"
    assert tiny_lm.decode(rest).endswith("How many?\nAnswer:")
    ids, mask = target_mask(tiny_lm, task, ex, "answer")
    assert tiny_lm.decode([t for t, m in zip(ids, mask, strict=True) if m]) == " 7\n"


def test_loss_is_cross_entropy_on_exactly_the_targets(tiny_lm):
    from tinykit.lm.softprompt import SoftPrompt, soft_prompt_loss, target_mask
    from tinykit.lm.tasks import Example, get_task

    task = get_task("plural")
    soft = SoftPrompt(tiny_lm, 4, seed=3)
    a = target_mask(tiny_lm, task, Example("child", "children"), "completion")
    b = target_mask(tiny_lm, task, Example("analysis", "analyses"), "completion")
    loss = soft_prompt_loss(tiny_lm, soft(), [a[0], b[0]], [a[1], b[1]])
    # independent: each row alone, embeddings concatenated by hand, no padding at all
    terms = []
    for ids, mask in (a, b):
        emb = torch.cat([soft().detach(), tiny_lm.embed(torch.tensor(ids))], 0)[None]
        with torch.no_grad():
            logp = torch.log_softmax(tiny_lm.model(inputs_embeds=emb).logits[0], -1)
        pairs = enumerate(zip(ids, mask, strict=True))
        terms += [-float(logp[4 + i - 1, t]) for i, (t, m) in pairs if m]
    assert math.isclose(float(loss), sum(terms) / len(terms), rel_tol=1e-5)
    loss.backward()
    assert soft.vectors.grad is not None and soft.vectors.grad.abs().sum() > 0
    assert all(p.grad is None for p in tiny_lm.model.parameters())


def test_training_changes_only_the_prompt(tiny_lm):
    from tinykit.lm.softprompt import SoftPromptConfig, train_soft_prompt
    from tinykit.lm.tasks import get_task

    before = {k: v.clone() for k, v in tiny_lm.model.state_dict().items()}
    cfg = SoftPromptConfig(k=3, steps=4, batch_size=4, n_train=8, n_test=4, shots=1, lr=0.05)
    report = train_soft_prompt(tiny_lm, get_task("plural"), cfg, progress=False)
    assert report["trainable_numbers"] == 3 * 32
    assert report["_prompt"].shape == (3, 32)
    assert len(report["losses"]) == 4
    assert report["best_hard_prompt"] in report["hard_prompts"]
    after = tiny_lm.model.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)

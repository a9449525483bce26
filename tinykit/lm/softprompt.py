"""Soft prompts: K trainable vectors placed before each example's token embeddings.

The language model stays frozen; only the K x E numbers of the prompt train. HF PEFT's prompt
tuning is not used: it puts the virtual tokens before the whole padded row, so with left
padding the pad tokens end up between the prompt and the text. Here a batch is padded on the
right (see :mod:`tinykit.lm.decode`), so the prompt always sits directly before the text and an
example's outputs do not depend on the batch it is in.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import torch
from torch import nn

from tinykit.errors import TinykitError
from tinykit.lm.model import LanguageModel
from tinykit.lm.tasks import FINAL, Example, Task

TARGETS = ("completion", "answer")
IGNORE = -100


@dataclass
class SoftPromptConfig:
    """Size of the prompt, what the loss covers, and the training budget."""

    task: str = "plural"
    k: int = 5
    # completion: reasoning + answer + newline; answer: only the tokens after "Final answer:"
    targets: str = "completion"
    steps: int = 300
    batch_size: int = 16
    lr: float = 0.03
    n_train: int = 400
    n_test: int = 100
    shots: int = 3
    seed: int = 0

    def __post_init__(self) -> None:
        if self.k < 1:
            raise TinykitError(f"the soft prompt needs K >= 1 vectors, got {self.k}")
        if self.targets not in TARGETS:
            raise TinykitError(f"unknown targets {self.targets!r}: use {', '.join(TARGETS)}")
        if self.steps < 0 or self.batch_size < 1 or self.lr <= 0:
            raise TinykitError("steps must be >= 0, batch size >= 1 and lr > 0")


class SoftPrompt(nn.Module):
    """K vectors of the model's embedding width; initialised from random tokens' embeddings."""

    def __init__(self, lm: LanguageModel, k: int, *, seed: int = 0):
        super().__init__()
        if k < 1:
            raise TinykitError(f"the soft prompt needs K >= 1 vectors, got {k}")
        table = lm.model.get_input_embeddings().weight
        gen = torch.Generator().manual_seed(seed)
        rows = torch.randint(0, table.shape[0], (k,), generator=gen)
        self.vectors = nn.Parameter(table[rows].detach().clone().float())

    def forward(self) -> torch.Tensor:
        return self.vectors


def target_mask(
    lm: LanguageModel, task: Task, ex: Example, targets: str
) -> tuple[list[int], list[bool]]:
    """Token ids of prompt + target text, and which of those tokens the loss must predict.

    ``completion``: every token after the prompt (for chain of thought: the reasoning, the
    answer and the final newline). ``answer``: only the tokens after "Final answer:" (the
    answer and the newline).
    """
    p_ids = lm.encode(task.prompt(ex))
    full = lm.encode(task.text(ex))
    if full[: len(p_ids)] != p_ids:  # tokenizers that merge across the boundary
        full = p_ids + lm.encode(task.target(ex))
    mask = [i >= len(p_ids) for i in range(len(full))]
    if targets == "answer" and task.chain_of_thought:
        head = lm.encode(task.text(ex).rsplit(FINAL, 1)[0] + FINAL)
        mask = [i >= len(head) for i in range(len(full))]
    return full, mask


def shifted_labels(
    seqs: Sequence[Sequence[int]], masks: Sequence[Sequence[bool]], k: int
) -> torch.Tensor:
    """Labels aligned with the model's outputs for rows laid out as [K prompt, tokens, pad].

    The output at position j predicts the input at j + 1, so target token i of a row (input
    position k + i) is the label of output k + i - 1. Everything else, the soft prompt,
    the question, the padding, is IGNORE.
    """
    t = max(len(s) for s in seqs)
    labels = torch.full((len(seqs), k + t), IGNORE, dtype=torch.long)
    for r, (s, m) in enumerate(zip(seqs, masks, strict=True)):
        for i, (tok, on) in enumerate(zip(s, m, strict=True)):
            if on:
                if k + i == 0:
                    raise TinykitError("the first token cannot be a target: nothing precedes it")
                labels[r, k + i - 1] = tok
    return labels


def soft_prompt_loss(lm: LanguageModel, prompt: torch.Tensor | None, seqs, masks) -> torch.Tensor:
    """Mean cross-entropy over exactly the selected target tokens."""
    from tinykit.lm.decode import forward_logits

    k = 0 if prompt is None else prompt.shape[0]
    logits, _ = forward_logits(lm, seqs, prompt)
    labels = shifted_labels(seqs, masks, k)
    return nn.functional.cross_entropy(
        logits.float().flatten(0, 1), labels.flatten(), ignore_index=IGNORE
    )


def trainable_count(lm: LanguageModel, soft: SoftPrompt) -> int:
    """Numbers that receive gradients: must be K x E (the LM is frozen)."""
    return sum(p.numel() for p in [*lm.model.parameters(), *soft.parameters()] if p.requires_grad)


def evaluate(
    lm: LanguageModel,
    task: Task,
    tests: list[Example],
    *,
    prefix_text: str = "",
    prompt: torch.Tensor | None = None,
    seed: int = 0,
) -> dict:
    """Greedy accuracy on ``tests``; the failures' most common first tokens."""
    from tinykit.lm.prompting import fallback_tokens, generate_answers, is_valid

    prompts = [prefix_text + task.prompt(e) for e in tests]
    gens, answers = generate_answers(
        lm, task, prompts, temperature=0.0, top_p=1.0, max_new_tokens=0, seed=seed, prefix=prompt
    )
    ok = [a == e.answer for a, e in zip(answers, tests, strict=True)]
    return {
        "accuracy": sum(ok) / len(ok),
        "valid_share": sum(is_valid(task, a) for a in answers) / len(answers),
        "fallback_tokens": fallback_tokens(lm, task, gens, ok),
        "examples": [
            {"question": e.question, "expected": e.answer, "got": a}
            for e, a in list(zip(tests, answers, strict=True))[:5]
        ],
    }


def hard_prompts(task: Task, shots: list[Example]) -> dict[str, str]:
    """The hand-written prompts a soft prompt is compared with."""
    out = {"zero-shot": ""}
    for i, ins in enumerate(task.instructions, 1):
        out[f"instruction {i}"] = ins + "\n"
    out[f"few-shot ({len(shots)})"] = "".join(task.text(s) for s in shots)
    out[f"instruction 1 + few-shot ({len(shots)})"] = (
        task.instructions[0] + "\n" + out[f"few-shot ({len(shots)})"]
    )
    return out


def train_soft_prompt(
    lm: LanguageModel,
    task: Task,
    cfg: SoftPromptConfig,
    *,
    progress: bool = True,
    log=lambda msg: None,
) -> dict:
    """Train a soft prompt on the task's training words; compare it with hard prompts on the
    held-out test words. Returns the report dict (the prompt tensor under "_prompt")."""
    from tinykit.lm.model import freeze
    from tinykit.progress import progress_bar

    freeze(lm.model)
    torch.manual_seed(cfg.seed)
    soft = SoftPrompt(lm, cfg.k, seed=cfg.seed)
    n_train = trainable_count(lm, soft)
    log(
        f"trainable numbers: {n_train:,} = K {cfg.k} x E {lm.embedding_dim} "
        f"(the LM's {lm.num_params():,} parameters are frozen)"
    )
    train = task.examples(cfg.n_train, "train", cfg.seed)
    tests = task.examples(cfg.n_test, "test", cfg.seed, distinct=True)
    shots = task.examples(cfg.shots, "train", cfg.seed + 1)
    data = [target_mask(lm, task, ex, cfg.targets) for ex in train]
    before = evaluate(lm, task, tests, prompt=soft().detach(), seed=cfg.seed)
    opt = torch.optim.Adam(soft.parameters(), lr=cfg.lr)
    rng = random.Random(cfg.seed)
    losses: list[float] = []
    bar = progress_bar(range(cfg.steps), desc="training the soft prompt", enabled=progress)
    for _ in bar:
        batch = rng.sample(data, min(cfg.batch_size, len(data)))
        loss = soft_prompt_loss(lm, soft(), [b[0] for b in batch], [b[1] for b in batch])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        losses.append(loss.item())
        bar.set_postfix(loss=f"{losses[-1]:.3f}")
    after = evaluate(lm, task, tests, prompt=soft().detach(), seed=cfg.seed)
    hard = {
        name: evaluate(lm, task, tests, prefix_text=text, seed=cfg.seed)
        for name, text in hard_prompts(task, shots).items()
    }
    best = max(hard, key=lambda n: hard[n]["accuracy"])
    return {
        "lm": lm.name,
        "task": task.name,
        "config": asdict(cfg),
        "n_questions": len(tests),
        "trainable_numbers": n_train,
        "embedding_dim": lm.embedding_dim,
        "lm_params": lm.num_params(),
        "losses": losses,
        "soft_prompt": {"before_training": before, "after_training": after},
        "hard_prompts": hard,
        "best_hard_prompt": best,
        "_prompt": soft().detach(),
    }

"""Hard prompting of a frozen LM: zero-shot, instruction, few-shot with right or wrong labels.

Each strategy only changes the text placed before the question. Two readings per strategy:
the label (or candidate answer) with the highest log-probability after the prompt, and a
generated answer (temperature and top-p sampling) parsed after "Final answer: ".
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import asdict, dataclass, field

from tinykit.errors import TinykitError
from tinykit.lm.model import LanguageModel
from tinykit.lm.tasks import FINAL, Example, Task, parse_answer

STRATEGIES = ("zero-shot", "instruction", "few-shot", "few-shot-wrong")


@dataclass
class PromptConfig:
    """What to ask, how many examples, and how to generate."""

    task: str = "sentiment"
    strategies: tuple[str, ...] = STRATEGIES
    shots: int = 4
    n_test: int = 100
    temperature: float = 0.0
    top_p: float = 1.0
    max_new_tokens: int = 0  # 0: 8, or 48 for a chain-of-thought task
    seed: int = 0
    samples: int = 3  # generations of the first test prompt shown per strategy

    def __post_init__(self) -> None:
        unknown = [s for s in self.strategies if s not in STRATEGIES]
        if unknown:
            raise TinykitError(f"unknown strategy {unknown[0]!r}: use {', '.join(STRATEGIES)}")
        if self.shots < 1 or self.n_test < 1:
            raise TinykitError("shots and n_test must be >= 1")
        if self.temperature < 0 or not 0 < self.top_p <= 1:
            raise TinykitError("temperature must be >= 0 and top_p in (0, 1]")


def candidates(task: Task, ex: Example) -> list[str] | None:
    """The answers scored by log-probability: the label set, or the right answer among
    plausible wrong ones (plural: naive -s/-es and the bare word; article: both articles and
    none; opposite: other words).
    None for chain-of-thought tasks, whose answer follows generated reasoning."""
    if task.labels is not None:
        return list(task.labels)
    if task.chain_of_thought:
        return None
    w = ex.question
    if task.name == "plural":
        cands = [ex.answer, w + "s", w + "es", w]
    elif task.name == "article":
        cands = [ex.answer, f"a {w}", f"an {w}", w]
    else:
        from tinykit.lm.words import OPPOSITES

        rng = random.Random(ex.question)
        others = sorted({b for _, b in OPPOSITES} - {ex.answer})
        cands = [ex.answer, *rng.sample(others, 3)]
    return list(dict.fromkeys(cands))


def wrong_answer(task: Task, ex: Example, rng: random.Random) -> str:
    """A plausible but incorrect answer for a shot with a wrong label."""
    if task.labels is not None:
        return rng.choice([lab for lab in task.labels if lab != ex.answer])
    while True:
        other = task.make(rng, "train")
        if other.answer != ex.answer:
            return other.answer


def strategy_prefix(task: Task, strategy: str, shots: list[Example], seed: int) -> str:
    """The text before the question for one strategy."""
    if strategy == "zero-shot":
        return ""
    if strategy == "instruction":
        return task.instructions[0] + "\n"
    if strategy == "few-shot":
        return "".join(task.text(s) for s in shots)
    rng = random.Random(f"wrong-{seed}")
    bad = []
    for s in shots:
        w = wrong_answer(task, s, rng)
        reasoning = s.reasoning.replace(f"= {s.answer}.", f"= {w}.") if s.reasoning else ""
        bad.append(Example(s.question, w, reasoning))
    return "".join(task.text(s) for s in bad)


def is_valid(task: Task, answer: str | None) -> bool:
    """An answer of the right kind: a label, a number, a word (right or wrong)."""
    return task.is_valid(answer)


@dataclass
class StrategyResult:
    strategy: str
    scored_accuracy: float | None
    mean_p_chosen_right: float | None
    mean_p_chosen_wrong: float | None
    candidate_mass: float | None
    generated_accuracy: float
    valid_share: float
    fallback_tokens: list[tuple[str, int]]
    samples: list[str] = field(default_factory=list)


def _mean(xs: list[float]) -> float | None:
    return sum(xs) / len(xs) if xs else None


def score_strategy(lm: LanguageModel, task: Task, prefix: str, tests: list[Example]):
    """Log-probability classification: (accuracy, p(chosen) when right, when wrong, mass)."""
    import torch

    from tinykit.lm.decode import label_logprobs

    if candidates(task, tests[0]) is None:
        return None, None, None, None
    right, wrong, masses, hits = [], [], [], 0
    groups: dict[tuple[str, ...], list[int]] = {}
    for i, ex in enumerate(tests):
        groups.setdefault(tuple(candidates(task, ex)), []).append(i)
    for cands, idx in groups.items():
        lp = label_logprobs(
            lm, [prefix + task.prompt(tests[i]) for i in idx], list(cands), suffix="\n"
        )
        p = torch.softmax(lp, -1)
        masses.extend(lp.exp().sum(-1).tolist())
        for row, i in enumerate(idx):
            c = int(p[row].argmax())
            ok = cands[c] == tests[i].answer
            hits += ok
            (right if ok else wrong).append(float(p[row, c]))
    return hits / len(tests), _mean(right), _mean(wrong), _mean(masses)


def new_token_budget(task: Task, max_new_tokens: int) -> int:
    """0 means the task's own budget: room for a chain of thought, or for one word."""
    return max_new_tokens or (48 if task.chain_of_thought else 8)


def generate_answers(
    lm: LanguageModel,
    task: Task,
    prompts: list[str],
    *,
    temperature: float,
    top_p: float,
    max_new_tokens: int,
    seed: int,
    prefix=None,
):
    """Generated continuations (token ids) and the answers parsed from them."""
    from tinykit.lm.decode import generate

    n = new_token_budget(task, max_new_tokens)
    tail = task.tail()
    ids = generate(
        lm,
        prompts,
        max_new_tokens=n,
        temperature=temperature,
        top_p=top_p,
        seed=seed,
        prefix=prefix,
        done=lambda s: parse_answer(tail + s) is not None,
    )
    return ids, [parse_answer(tail + lm.decode(g)) for g in ids]


def _answer_start(lm: LanguageModel, task: Task, g: list[int]) -> str:
    """The first token of the answer: the first generated one, or for a chain of thought the
    first after "Final answer: " (the reasoning before it is not the answer)."""
    if not task.chain_of_thought:
        return lm.decode(g[:1])
    for i in range(len(g)):
        if FINAL in task.tail() + lm.decode(g[:i]):
            rest = [t for t in g[i:] if lm.decode([t]).strip()]  # a lone space is not the answer
            return lm.decode(rest[:1]) if rest else "(nothing after it)"
    return "(no 'Final answer:')"


def fallback_tokens(
    lm: LanguageModel, task: Task, gens: list[list[int]], ok: list[bool], top: int = 5
):
    """The most frequent first tokens of the failed answers."""
    c = Counter(
        _answer_start(lm, task, g) for g, good in zip(gens, ok, strict=True) if not good and g
    )
    return c.most_common(top)


def run_prompting(lm: LanguageModel, task: Task, cfg: PromptConfig, *, progress: bool = True):
    """Every strategy on the same held-out questions; returns the report dict."""
    from tinykit.progress import progress_bar

    tests = task.examples(cfg.n_test, "test", cfg.seed, distinct=True)
    shots = task.examples(cfg.shots, "train", cfg.seed)
    results = []
    for strategy in progress_bar(cfg.strategies, desc=f"prompting ({task.name})", enabled=progress):
        prefix = strategy_prefix(task, strategy, shots, cfg.seed)
        acc, p_right, p_wrong, mass = score_strategy(lm, task, prefix, tests)
        prompts = [prefix + task.prompt(e) for e in tests]
        gens, answers = generate_answers(
            lm,
            task,
            prompts,
            temperature=cfg.temperature,
            top_p=cfg.top_p,
            max_new_tokens=cfg.max_new_tokens,
            seed=cfg.seed,
        )
        ok = [a == e.answer for a, e in zip(answers, tests, strict=True)]
        sample_ids, _ = generate_answers(
            lm,
            task,
            [prompts[0]] * cfg.samples,
            temperature=cfg.temperature,
            top_p=cfg.top_p,
            max_new_tokens=cfg.max_new_tokens,
            seed=cfg.seed + 1,
        )
        results.append(
            StrategyResult(
                strategy,
                acc,
                p_right,
                p_wrong,
                mass,
                generated_accuracy=sum(ok) / len(ok),
                valid_share=sum(is_valid(task, a) for a in answers) / len(answers),
                fallback_tokens=fallback_tokens(lm, task, gens, ok),
                samples=[lm.decode(g) for g in sample_ids],
            )
        )
    return {
        "lm": lm.name,
        "task": task.name,
        "config": {**asdict(cfg), "max_new_tokens": new_token_budget(task, cfg.max_new_tokens)},
        "n_questions": len(tests),
        "first_prompt": {
            r.strategy: strategy_prefix(task, r.strategy, shots, cfg.seed) + task.prompt(tests[0])
            for r in results
        },
        "first_answer": tests[0].answer,
        "strategies": [asdict(r) for r in results],
    }

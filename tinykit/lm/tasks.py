"""The tasks the embedded language model learns, and the one text format they share.

Every example reads ``Question: ...``, an optional ``Answer: <reasoning>`` line (chain of
thought), then ``Final answer: ...`` and a newline, so that one rule parses every answer:
the text between "Final answer: " and the newline. A task may be introduced by a
plain-language instruction; prompting strategies differ only in what precedes the question.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

from tinykit.errors import TinykitError
from tinykit.lm import words

FINAL = "Final answer:"


@dataclass(frozen=True)
class Example:
    """One question with its answer; ``reasoning`` is the chain of thought (may be empty)."""

    question: str
    answer: str
    reasoning: str = ""


@dataclass(frozen=True)
class Task:
    """A task: its instructions, its label set (None: open answers) and an example maker."""

    name: str
    instructions: tuple[str, ...]
    labels: tuple[str, ...] | None
    chain_of_thought: bool
    make: Callable[[random.Random, str], Example]
    answer_pattern: str = r"[a-z]+"  # what a valid (well-formed) answer looks like

    def is_valid(self, answer: str | None) -> bool:
        """An answer of the right kind (a label, a word, a number), right or wrong."""
        if not answer:
            return False
        if self.labels is not None:
            return answer in self.labels
        return re.fullmatch(self.answer_pattern, answer) is not None

    def prompt(self, ex: Example) -> str:
        """The question, up to where the model takes over."""
        return f"Question: {ex.question}\n" + ("Answer:" if self.chain_of_thought else FINAL)

    def target(self, ex: Example) -> str:
        """What the model should write after :meth:`prompt` (reasoning, answer, newline)."""
        if self.chain_of_thought:
            return f" {ex.reasoning}\n{FINAL} {ex.answer}\n"
        return f" {ex.answer}\n"

    def text(self, ex: Example) -> str:
        return self.prompt(ex) + self.target(ex)

    def tail(self) -> str:
        """The end of the prompt, joined to a generation before parsing it."""
        return "Answer:" if self.chain_of_thought else FINAL

    def examples(self, n: int, split: str, seed: int, *, distinct: bool = False) -> list[Example]:
        """``n`` generated examples; with ``distinct``, no question twice, so fewer than ``n``
        where the split runs out (58 held-out nouns cannot make 100 plural questions)."""
        rng = random.Random(f"{self.name}-{split}-{seed}")
        if not distinct:
            return [self.make(rng, split) for _ in range(n)]
        seen: dict[str, Example] = {}
        for _ in range(50 * n):
            if len(seen) == n:
                break
            e = self.make(rng, split)
            seen.setdefault(e.question, e)
        return list(seen.values())


def parse_answer(text: str) -> str | None:
    """The text between "Final answer: " and the next newline; None if either is missing."""
    start = text.find(FINAL)
    if start < 0:
        return None
    rest = text[start + len(FINAL) :]
    end = rest.find("\n")
    if end < 0:
        return None
    return rest[:end].strip()


# --- splits of the word lists: held-out words never seen in soft-prompt training ---------


@cache
def _word_split(name: str) -> dict[str, tuple[str, ...]]:
    items = {
        "plural": sorted(set(words.NOUNS) | set(words.IRREGULAR)),
        "opposite": sorted({w for pair in words.OPPOSITES for w in pair}),
    }[name]
    rng = random.Random(f"split-{name}")
    rng.shuffle(items)
    n_test = len(items) // 4
    return {"test": tuple(items[:n_test]), "train": tuple(items[n_test:]), "all": tuple(items)}


@cache
def _inflector():
    import inflect

    return inflect.engine()


def plural_of(noun: str) -> str:
    return _inflector().plural_noun(noun)


def _plural(rng: random.Random, split: str) -> Example:
    w = rng.choice(_word_split("plural")[split])
    return Example(w, plural_of(w))


def _article(rng: random.Random, split: str) -> Example:
    """The same nouns as the plural task, answered with their indefinite article."""
    w = rng.choice(_word_split("plural")[split])
    return Example(w, _inflector().a(w))


_OPPOSITE = {}
for _a, _b in words.OPPOSITES:
    _OPPOSITE.setdefault(_a, _b)
    _OPPOSITE.setdefault(_b, _a)
_POLARITY = {p: "positive" for p, _ in words.OPPOSITES}
_POLARITY |= {n: "negative" for _, n in words.OPPOSITES}


def _opposite(rng: random.Random, split: str) -> Example:
    w = rng.choice(_word_split("opposite")[split])
    return Example(w, _OPPOSITE[w])


def _sentiment(rng: random.Random, split: str) -> Example:
    """Half one-word questions (the opposite task's words), half short reviews."""
    if rng.random() < 0.5:
        w = rng.choice(_word_split("opposite")[split])
        return Example(w, _POLARITY[w])
    label = rng.choice(("positive", "negative"))
    pool = words.POSITIVE if label == "positive" else words.NEGATIVE
    adj, adj2 = rng.sample(pool, 2)
    s = rng.choice(words.SUBJECTS)
    q = rng.choice(
        [
            f"the {s} was {adj}",
            f"what {_inflector().a(adj)} {s}",
            f"the {s} was {adj} and {adj2}",
            f"i found the {s} {adj}",
        ]
    )
    return Example(q, label)


def _arithmetic(rng: random.Random, split: str) -> Example:
    n, p = rng.sample(words.NAMES, 2)
    t = rng.choice(words.THINGS)
    kind = rng.randrange(4)
    if kind == 0:
        a, b = rng.randint(1, 9), rng.randint(1, 9)
        q = f"{n} has {a} {t}. {p} gives {n} {b} more. How many {t} does {n} have now?"
        r = f"{n} starts with {a} {t} and gets {b}. {a} + {b} = {a + b}."
        return Example(q, str(a + b), r)
    if kind == 1:
        a = rng.randint(2, 18)
        b = rng.randint(1, min(9, a - 1))
        q = f"{n} has {a} {t} and gives {b} to {p}. How many {t} are left?"
        r = f"{n} starts with {a} {t} and gives away {b}. {a} - {b} = {a - b}."
        return Example(q, str(a - b), r)
    if kind == 2:
        a, b = rng.randint(2, 5), rng.randint(2, 5)
        q = f"There are {a} bags with {b} {t} in each bag. How many {t} are there?"
        r = f"There are {a} bags of {b} {t}. {a} * {b} = {a * b}."
        return Example(q, str(a * b), r)
    a, b = rng.randint(1, 9), rng.randint(1, 9)
    c = rng.randint(1, a + b - 1)
    q = f"{n} has {a} {t}, buys {b} more and then gives {c} to {p}. How many {t} does {n} have?"
    r = f"{a} + {b} = {a + b}. Then {a + b} - {c} = {a + b - c}."
    return Example(q, str(a + b - c), r)


TASKS: dict[str, Task] = {
    t.name: t
    for t in [
        Task(
            "plural",
            (
                "Write the plural form of each noun.",
                "Give the plural of the word.",
                "Turn each word into its plural.",
            ),
            None,
            False,
            _plural,
        ),
        Task(
            "article",
            (
                "Put a or an before each noun.",
                "Write the noun with its article.",
                "Add the indefinite article to the word.",
            ),
            None,
            False,
            _article,
            r"an? [a-z]+",
        ),
        Task(
            "opposite",
            (
                "Write the opposite of each word.",
                "Give the antonym of the word.",
                "Answer with the word that means the opposite.",
            ),
            None,
            False,
            _opposite,
        ),
        Task(
            "sentiment",
            (
                "Is the review positive or negative?",
                "Classify the sentiment of each review as positive or negative.",
                "Say whether the text is positive or negative.",
            ),
            ("positive", "negative"),
            False,
            _sentiment,
        ),
        Task(
            "arithmetic",
            (
                "Solve the word problem step by step.",
                "Work out the answer and show your reasoning.",
                "Answer the math question, thinking step by step.",
            ),
            None,
            True,
            _arithmetic,
            r"-?[0-9]+",
        ),
    ]
}


def get_task(name: str) -> Task:
    if name not in TASKS:
        raise TinykitError(f"unknown task '{name}': use one of {', '.join(TASKS)}")
    return TASKS[name]


def _sentence(rng: random.Random) -> str:
    """A plain statement of one fact, as running text rather than a question."""
    kind = rng.randrange(5)
    if kind == 4:
        return f"I saw {_article(rng, 'all').answer} and {_article(rng, 'all').answer}."
    if kind == 0:
        ex = _plural(rng, "all")
        return rng.choice(
            [f"The plural of {ex.question} is {ex.answer}.", f"One {ex.question}, two {ex.answer}."]
        )
    if kind == 1:
        ex = _opposite(rng, "all")
        return f"The opposite of {ex.question} is {ex.answer}."
    if kind == 2:
        ex = _sentiment(rng, "all")
        return f'Someone wrote "{ex.question}", which is {ex.answer}.'
    a, b = rng.randint(1, 9), rng.randint(1, 9)
    return rng.choice([f"{a} plus {b} is {a + b}.", f"{a} times {b} is {a * b}."])


def make_document(rng: random.Random) -> str:
    """One pretraining document: an instruction and examples, bare examples, or statements."""
    kind = rng.random()
    if kind < 0.12:
        return " ".join(_sentence(rng) for _ in range(rng.randint(3, 6))) + "\n"
    task = rng.choices(list(TASKS.values()), weights=[0.25, 0.15, 0.15, 0.2, 0.25])[0]
    head = ""
    if kind < 0.8:
        head = rng.choice(task.instructions) + "\n"
    k = rng.randint(1, 4)
    return head + "".join(task.text(task.make(rng, "all")) for _ in range(k))


def generate_corpus(n_docs: int, seed: int = 0) -> list[str]:
    """``n_docs`` documents, the same for the same seed."""
    rng = random.Random(seed)
    return [make_document(rng) for _ in range(n_docs)]

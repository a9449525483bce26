"""The shared text format, answer parsing and the generated corpus."""

from __future__ import annotations


def test_parse_answer_between_marker_and_newline():
    from tinykit.lm.tasks import parse_answer

    assert parse_answer("Answer: 12 / 4 = 3.\nFinal answer: 3\nQuestion") == "3"
    assert parse_answer("Final answer: children\n") == "children"
    assert parse_answer("Final answer: 3") is None  # no newline yet
    assert parse_answer("the the the\n") is None


def test_plurals_come_from_inflect_including_irregular_ones():
    from tinykit.lm.tasks import plural_of

    assert [plural_of(w) for w in ("child", "mouse", "city", "box", "sheep", "knife")] == [
        "children",
        "mice",
        "cities",
        "boxes",
        "sheep",
        "knives",
    ]


def test_held_out_words_are_disjoint_and_examples_reproducible():
    from tinykit.lm.tasks import _word_split, get_task

    split = _word_split("plural")
    assert not set(split["test"]) & set(split["train"])
    assert len(split["test"]) == len(split["all"]) // 4
    task = get_task("plural")
    a = task.examples(20, "test", 0)
    assert a == task.examples(20, "test", 0)
    assert all(e.question in split["test"] for e in a)
    # held-out questions are distinct: asking for more than there are gives all of them once
    b = task.examples(1000, "test", 0, distinct=True)
    assert sorted(e.question for e in b) == sorted(split["test"])


def test_chain_of_thought_text_and_arithmetic_are_right():
    import re

    from tinykit.lm.tasks import get_task, parse_answer

    task = get_task("arithmetic")
    for ex in task.examples(50, "train", 3):
        text = task.text(ex)
        assert parse_answer(text) == ex.answer
        steps = re.findall(r"(\d+) ([-+*]) (\d+) = (\d+)", ex.reasoning)
        assert steps
        for a, op, b, c in steps:
            assert eval(f"{a} {op} {b}") == int(c)
        assert steps[-1][3] == ex.answer


def test_corpus_is_deterministic_and_mixes_tasks():
    from tinykit.lm.tasks import generate_corpus

    docs = generate_corpus(300, seed=5)
    assert docs == generate_corpus(300, seed=5)
    joined = "".join(docs)
    for marker in ("The plural of", "Final answer: positive", "Answer:", "plural form"):
        assert marker in joined


def test_valid_answers_have_the_tasks_shape():
    from tinykit.lm.tasks import get_task

    assert get_task("article").is_valid("an apple") and not get_task("article").is_valid("apple")
    assert get_task("arithmetic").is_valid("12") and not get_task("arithmetic").is_valid("the")
    assert get_task("sentiment").is_valid("negative") and not get_task("sentiment").is_valid("bad")
    assert get_task("plural").is_valid("mice") and not get_task("plural").is_valid(None)


def test_one_word_questions_are_shared_between_tasks():
    """A bare word does not say which task is asked: that is what prompts are for."""
    from tinykit.lm.tasks import get_task

    nouns = {e.question for e in get_task("plural").examples(200, "all", 0)}
    assert nouns & {e.question for e in get_task("article").examples(200, "all", 0)}
    adjectives = {e.question for e in get_task("opposite").examples(200, "all", 0)}
    assert adjectives & {e.question for e in get_task("sentiment").examples(200, "all", 0)}


def test_first_token_of_a_wrong_answer_is_the_answers_not_the_reasonings():
    """Chain of thought: the column shows what follows "Final answer:", skipping a lone space;
    a word task shows the first generated token."""
    from tinykit.lm.prompting import fallback_tokens
    from tinykit.lm.tasks import get_task

    vocab = [" There", " are", " 7", ".", "\n", "Final", " answer", ":", " ", "1", "2", " cats"]

    class Decoder:
        def decode(self, ids):
            return "".join(vocab[i] for i in ids)

    cot = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 4]  # " There are 7.\nFinal answer: 12\n"
    lost = [0, 1, 2, 3, 4]  # never says "Final answer:"
    arith, plural = get_task("arithmetic"), get_task("plural")
    assert fallback_tokens(Decoder(), arith, [cot, lost, cot], [False, False, True]) == [
        ("1", 1),
        ("(no 'Final answer:')", 1),
    ]
    assert fallback_tokens(Decoder(), plural, [[11, 4]], [False]) == [(" cats", 1)]


def test_the_header_says_how_many_distinct_questions_there_were():
    from tinykit.cli.prompt import questions_line

    short = {"n_questions": 58, "config": {"n_test": 100}}
    assert questions_line(short, "words never used") == (
        "58 held-out questions (words never used; all there are: --n asked for 100)"
    )
    assert questions_line({"n_questions": 50, "config": {"n_test": 50}}) == "50 held-out questions"

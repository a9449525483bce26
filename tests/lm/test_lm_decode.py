"""Log-probability scoring, sampling and padding independence of the batched LM runs."""

from __future__ import annotations

import math

import torch


def _prefer(lm, token_id: int) -> None:
    """Make the model prefer one token everywhere: every final hidden state becomes v and the
    tied output embedding of the token is a large multiple of v."""
    model = lm.model
    v = torch.zeros(lm.embedding_dim)
    v[0] = 1.0
    with torch.no_grad():
        model.transformer.ln_f.weight.zero_()
        model.transformer.ln_f.bias.copy_(v)
        model.get_output_embeddings().weight[token_id] = 20 * v


def test_label_logprobs_pick_the_preferred_label(tiny_lm):
    from tinykit.lm.decode import label_logprobs

    pos, neg = tiny_lm.encode(" positive"), tiny_lm.encode(" negative")
    target = next(t for t in neg if t not in pos)
    _prefer(tiny_lm, target)
    lp = label_logprobs(
        tiny_lm,
        ["Question: great\nFinal answer:", "Question: bad\nFinal answer:"],
        ["positive", "negative"],
    )
    assert lp.shape == (2, 2)
    assert (lp.argmax(1) == 1).all()


def test_label_logprobs_equal_a_direct_computation(tiny_lm):
    from tinykit.lm.decode import label_logprobs

    prompt, label = "Question: child\nFinal answer:", "children"
    p_ids, l_ids = tiny_lm.encode(prompt), tiny_lm.encode(" " + label)
    with torch.no_grad():
        logits = tiny_lm.model(input_ids=torch.tensor([p_ids + l_ids])).logits[0]
    logp = torch.log_softmax(logits, -1)
    expected = sum(float(logp[len(p_ids) - 1 + i, t]) for i, t in enumerate(l_ids))
    got = label_logprobs(tiny_lm, [prompt, "Question: x\nFinal answer:"], [label, "y"])
    assert math.isclose(float(got[0, 0]), expected, rel_tol=1e-5, abs_tol=1e-5)


def test_outputs_do_not_depend_on_the_batch(tiny_lm):
    from tinykit.lm.decode import forward_logits

    prefix = torch.randn(5, tiny_lm.embedding_dim, generator=torch.Generator().manual_seed(0))
    short = tiny_lm.encode("Question: cat\nFinal answer: cats\n")
    long = tiny_lm.encode(
        "Say whether the text is positive or negative.\n"
        "Question: the food was wonderful and tasty\nFinal answer: positive\n"
    )
    with torch.no_grad():
        alone, _ = forward_logits(tiny_lm, [short], prefix)
        mixed, lengths = forward_logits(tiny_lm, [long, short, long[:3]], prefix)
    n = 5 + len(short)
    assert lengths.tolist()[1] == n
    assert mixed.shape[1] == 5 + len(long) > n
    torch.testing.assert_close(mixed[1, :n], alone[0, :n], rtol=1e-5, atol=1e-5)


def test_generation_does_not_depend_on_the_batch(tiny_lm):
    from tinykit.lm.decode import generate

    prefix = torch.randn(3, tiny_lm.embedding_dim, generator=torch.Generator().manual_seed(1))
    q = "Question: dog\nFinal answer:"
    alone = generate(tiny_lm, [q], max_new_tokens=6, prefix=prefix)
    batch = generate(
        tiny_lm,
        [
            "Give the plural of the word.\nQuestion: box\nFinal answer:",
            q,
            "Question: hot\nFinal answer:",
        ],
        max_new_tokens=6,
        prefix=prefix,
    )
    assert batch[1] == alone[0]
    assert len(alone[0]) == 6


def test_cached_generation_equals_full_recomputation(tiny_lm):
    from tinykit.lm.decode import generate

    ids = tiny_lm.encode("Question: tree\nFinal answer:")
    got = generate(tiny_lm, ["Question: tree\nFinal answer:"], max_new_tokens=5)[0]
    seq = list(ids)
    with torch.no_grad():
        for _ in range(5):
            seq.append(int(tiny_lm.model(input_ids=torch.tensor([seq])).logits[0, -1].argmax()))
    assert got == seq[len(ids) :]


def test_top_p_keeps_the_smallest_set_reaching_the_mass():
    from tinykit.lm.decode import sample_next

    logits = torch.log(torch.tensor([[0.5, 0.3, 0.15, 0.05]]))
    gen = torch.Generator().manual_seed(0)
    seen = {int(sample_next(logits, temperature=1.0, top_p=0.7, gen=gen)) for _ in range(300)}
    assert seen == {0, 1}  # 0.5 < 0.7 <= 0.5 + 0.3
    seen = {int(sample_next(logits, temperature=1.0, top_p=0.4, gen=gen)) for _ in range(50)}
    assert seen == {0}
    assert int(sample_next(logits, temperature=0.0, top_p=1.0, gen=gen)) == 0


def test_too_long_inputs_are_refused(tiny_lm):
    import pytest

    from tinykit.errors import TinykitError
    from tinykit.lm.decode import generate

    long = "Question: cat\nFinal answer: cats\n" * 40  # far beyond 256 positions
    with pytest.raises(TinykitError, match="context of 256"):
        generate(tiny_lm, [long], max_new_tokens=4)

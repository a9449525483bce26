"""A tiny GPT-2 and tokenizer built in seconds, saved as a Hugging Face folder."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def tiny_lm_dir(tmp_path_factory):
    import torch

    from tinykit.lm.pretrain import PretrainConfig, build_model, build_tokenizer
    from tinykit.lm.tasks import generate_corpus

    out = tmp_path_factory.mktemp("tiny-lm")
    tok = build_tokenizer(generate_corpus(400, seed=1), vocab_size=400)
    torch.manual_seed(0)
    cfg = PretrainConfig(n_layer=2, n_head=2, n_embd=32, n_positions=256)
    model = build_model(cfg, len(tok))
    model.save_pretrained(out)
    tok.save_pretrained(out)
    return out


@pytest.fixture()
def tiny_lm(tiny_lm_dir):
    from tinykit.lm.model import load_lm

    return load_lm(str(tiny_lm_dir))

"""tinykit's own small GPT-2: a tokenizer and a model trained here on a generated corpus.

No pretrained language model can be downloaded on the machines tinykit targets, so the
default LM is built locally: a byte-level BPE tokenizer (the ``tokenizers`` library) and a
GPT-2-architecture model (``transformers.GPT2LMHeadModel``) trained with a fixed seed on the
documents of :mod:`tinykit.lm.tasks`. It is cached under ``tinykit.reference.cache_dir()``.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from tinykit.progress import progress_bar

EOS = "<|endoftext|>"
LM_VERSION = 1  # bump when the corpus, tokenizer or recipe changes: a new cache entry


@dataclass(frozen=True)
class PretrainConfig:
    """Size of the model and the training budget (defaults: the cached default LM)."""

    vocab_size: int = 1024
    n_layer: int = 4
    n_head: int = 4
    n_embd: int = 128
    n_positions: int = 256
    seq_len: int = 256
    batch_size: int = 16
    steps: int = 800
    lr: float = 3e-3
    n_docs: int = 40_000
    seed: int = 0


def build_tokenizer(texts: list[str], vocab_size: int):
    """Byte-level BPE trained on ``texts``; digits are split one by one (for arithmetic)."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    from tinykit.lm.model import quiet_transformers

    quiet_transformers()
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Digits(individual_digits=True),
            pre_tokenizers.ByteLevel(add_prefix_space=False),
        ]
    )
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=[EOS],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(texts, trainer)
    return PreTrainedTokenizerFast(
        tokenizer_object=tok, eos_token=EOS, bos_token=EOS, unk_token=EOS, pad_token=EOS
    )


def build_model(cfg: PretrainConfig, vocab_size: int):
    from tinykit.lm.model import quiet_transformers

    quiet_transformers()
    from transformers import GPT2Config, GPT2LMHeadModel

    config = GPT2Config(
        vocab_size=vocab_size,
        n_positions=cfg.n_positions,
        n_embd=cfg.n_embd,
        n_layer=cfg.n_layer,
        n_head=cfg.n_head,
        bos_token_id=0,
        eos_token_id=0,
        pad_token_id=0,
        resid_pdrop=0.0,
        embd_pdrop=0.0,
        attn_pdrop=0.0,
    )
    return GPT2LMHeadModel(config)


def pretrain(out_dir: Path, cfg: PretrainConfig | None = None, *, progress: bool = True) -> dict:
    """Generate the corpus, build the tokenizer, train the model; save all to ``out_dir``.

    Returns the training record (also written as ``tinykit_lm.json``): sizes, time, losses.
    """
    import torch

    from tinykit.lm.tasks import generate_corpus

    cfg = cfg or PretrainConfig()
    t0 = time.perf_counter()
    docs = generate_corpus(cfg.n_docs, seed=cfg.seed)
    tok = build_tokenizer(docs, cfg.vocab_size)
    eos = tok.convert_tokens_to_ids(EOS)
    stream: list[int] = []
    for ids in tok(docs, add_special_tokens=False)["input_ids"]:
        stream.extend(ids)
        stream.append(eos)
    n_blocks = len(stream) // cfg.seq_len
    data = torch.tensor(stream[: n_blocks * cfg.seq_len]).view(n_blocks, cfg.seq_len)

    torch.manual_seed(cfg.seed)
    model = build_model(cfg, len(tok))
    decay = [p for n, p in model.named_parameters() if p.dim() >= 2]
    other = [p for n, p in model.named_parameters() if p.dim() < 2]
    opt = torch.optim.AdamW(
        [{"params": decay, "weight_decay": 0.1}, {"params": other, "weight_decay": 0.0}],
        lr=cfg.lr,
        betas=(0.9, 0.95),
    )
    warm = max(1, cfg.steps // 20)

    def lr_at(step: int) -> float:
        if step < warm:
            return (step + 1) / warm
        done = (step - warm) / max(1, cfg.steps - warm)
        return 0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * done))

    sched = torch.optim.lr_scheduler.LambdaLR(opt, lr_at)
    gen = torch.Generator().manual_seed(cfg.seed)
    losses: list[float] = []
    model.train()
    bar = progress_bar(
        range(cfg.steps), desc="pretraining tinykit's GPT-2 (once)", enabled=progress
    )
    for _ in bar:
        batch = data[torch.randint(0, n_blocks, (cfg.batch_size,), generator=gen)]
        loss = model(input_ids=batch, labels=batch).loss  # the model shifts labels itself
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        losses.append(loss.item())
        bar.set_postfix(loss=f"{losses[-1]:.3f}")
    model.eval()
    seconds = time.perf_counter() - t0
    out_dir = Path(out_dir)
    model.save_pretrained(out_dir)
    tok.save_pretrained(out_dir)
    record = {
        "name": "tinykit-gpt2-mini",
        "version": LM_VERSION,
        "config": asdict(cfg),
        "params": sum(p.numel() for p in model.parameters()),
        "vocab_size": len(tok),
        "corpus_docs": len(docs),
        "corpus_tokens": len(stream),
        "tokens_seen": cfg.steps * cfg.batch_size * cfg.seq_len,
        "train_seconds": round(seconds, 1),
        "torch_threads": torch.get_num_threads(),
        "loss_first": round(sum(losses[:20]) / max(1, len(losses[:20])), 4),
        "loss_last": round(sum(losses[-50:]) / max(1, len(losses[-50:])), 4),
    }
    (out_dir / "tinykit_lm.json").write_text(json.dumps(record, indent=2) + "\n")
    return record


def default_lm_dir(*, progress: bool = True) -> Path:
    """The cached default LM folder, pretrained first if it is not there (a few minutes)."""
    from tinykit.fileio import staged_dir
    from tinykit.reference import cache_dir

    final = cache_dir() / f"lm-gpt2-mini-v{LM_VERSION}"
    if (final / "tinykit_lm.json").is_file():
        return final
    try:
        with staged_dir(final) as tmp:
            pretrain(tmp, progress=progress)
    except OSError:
        if not (final / "tinykit_lm.json").is_file():  # not a concurrent run finishing first
            raise
    return final


def lm_record(path: Path) -> dict | None:
    """The training record of a tinykit-pretrained LM folder (None for a foreign model)."""
    f = Path(path) / "tinykit_lm.json"
    return json.loads(f.read_text()) if f.is_file() else None

"""Running a frozen causal LM on batches: label log-probabilities and sampled generation.

Scoring batches are padded on the right. With causal attention a real token never sees the padding
after it, so each example's outputs are those it has alone, and an optional prefix of
embedding vectors (a soft prompt) sits directly before every example's first token.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch

from tinykit.errors import TinykitError
from tinykit.lm.model import LanguageModel


def batch_inputs(lm: LanguageModel, seqs: Sequence[Sequence[int]], prefix: torch.Tensor | None):
    """Right-padded ``inputs_embeds`` [prefix, tokens, pad] and its attention mask.

    Returns (embeds N x (K + T) x E, mask N x (K + T), lengths of each row without padding).
    """
    k = 0 if prefix is None else prefix.shape[0]
    t = max(len(s) for s in seqs)
    ids = torch.full((len(seqs), t), lm.pad_id, dtype=torch.long)
    mask = torch.zeros((len(seqs), k + t), dtype=torch.long)
    for i, s in enumerate(seqs):
        ids[i, : len(s)] = torch.tensor(list(s), dtype=torch.long)
        mask[i, : k + len(s)] = 1
    emb = lm.embed(ids)
    if prefix is not None:
        emb = torch.cat([prefix.to(emb.dtype).unsqueeze(0).expand(len(seqs), -1, -1), emb], 1)
    lengths = torch.tensor([k + len(s) for s in seqs])
    return emb, mask, lengths


def forward_logits(
    lm: LanguageModel, seqs: Sequence[Sequence[int]], prefix: torch.Tensor | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Logits (N x (K + T) x V) of a right-padded batch, and each row's real length."""
    emb, mask, lengths = batch_inputs(lm, seqs, prefix)
    pos = torch.arange(emb.shape[1]).unsqueeze(0).expand(emb.shape[0], -1)
    out = lm.model(inputs_embeds=emb, attention_mask=mask, position_ids=pos, use_cache=False)
    return out.logits, lengths


@torch.no_grad()
def label_logprobs(
    lm: LanguageModel,
    prompts: Sequence[str],
    labels: Sequence[str],
    *,
    prefix: torch.Tensor | None = None,
    suffix: str = "",
    batch_size: int = 16,
) -> torch.Tensor:
    """log p(label | prompt), summed over the label's tokens: an N x L tensor.

    Each label is scored as it would follow the prompt (with a leading space, as the model
    writes it after "Final answer:"), followed by ``suffix``: with "\n", the answer must also
    end there, so "tool" is not as likely as "tools" just because it is a prefix of it.
    """
    label_ids = [lm.encode(" " + lab + suffix) for lab in labels]
    rows, spans = [], []
    for p in prompts:
        p_ids = lm.encode(p)
        check_length(
            lm,
            (0 if prefix is None else prefix.shape[0])
            + len(p_ids)
            + max(len(x) for x in label_ids),
        )
        for lid in label_ids:
            rows.append(p_ids + lid)
            spans.append((len(p_ids), len(lid)))
    k = 0 if prefix is None else prefix.shape[0]
    scores = torch.empty(len(rows))
    for b in range(0, len(rows), batch_size):
        logits, _ = forward_logits(lm, rows[b : b + batch_size], prefix)
        logp = torch.log_softmax(logits.float(), -1)
        for j, row in enumerate(rows[b : b + batch_size]):
            start, n = spans[b + j]
            # the token at input position i is predicted by the output at position i - 1
            pos = torch.arange(k + start - 1, k + start + n - 1)
            scores[b + j] = logp[j, pos, torch.tensor(row[start : start + n])].sum()
    return scores.view(len(prompts), len(labels))


def max_positions(lm: LanguageModel) -> int | None:
    cfg = lm.model.config
    return getattr(cfg, "n_positions", None) or getattr(cfg, "max_position_embeddings", None)


def check_length(lm: LanguageModel, n: int) -> None:
    """Refuse inputs longer than the model's context (position embeddings run out)."""
    limit = max_positions(lm)
    if limit is not None and n > limit:
        raise TinykitError(
            f"{n} tokens do not fit {lm.name}'s context of {limit}: use fewer shots or a "
            "shorter generation"
        )


def sample_next(
    logits: torch.Tensor, *, temperature: float, top_p: float, gen: torch.Generator
) -> torch.Tensor:
    """One token per row: greedy at temperature 0, else nucleus (top-p) sampling."""
    if temperature <= 0:
        return logits.argmax(-1)
    probs = torch.softmax(logits.float() / temperature, -1)
    sorted_p, order = probs.sort(-1, descending=True)
    # keep the smallest set of tokens whose mass reaches top_p (always the first one)
    drop = (sorted_p.cumsum(-1) - sorted_p) >= top_p
    sorted_p = sorted_p.masked_fill(drop, 0.0)
    choice = torch.multinomial(sorted_p / sorted_p.sum(-1, keepdim=True), 1, generator=gen)
    return order.gather(-1, choice).squeeze(-1)


@torch.no_grad()
def generate(
    lm: LanguageModel,
    prompts: Sequence[str],
    *,
    max_new_tokens: int = 12,
    temperature: float = 0.0,
    top_p: float = 1.0,
    seed: int = 0,
    prefix: torch.Tensor | None = None,
    batch_size: int = 32,
    done: Callable[[str], bool] | None = None,
) -> list[list[int]]:
    """New token ids for each prompt, stopping a row when ``done(text so far)`` or at EOS.

    Prompts are batched by token length, so no batch holds padding, and decoding reuses the
    model's key/value cache: one forward pass per new token.
    """
    gen = torch.Generator().manual_seed(seed)
    eos = lm.tokenizer.eos_token_id
    k = 0 if prefix is None else prefix.shape[0]
    enc = [lm.encode(p) for p in prompts]
    if enc:
        check_length(lm, k + max(len(e) for e in enc) + max_new_tokens)
    groups: dict[int, list[int]] = {}
    for i, ids in enumerate(enc):
        groups.setdefault(len(ids), []).append(i)
    results: list[list[int]] = [[] for _ in prompts]
    for length in sorted(groups):
        idx_all = groups[length]
        for b in range(0, len(idx_all), batch_size):
            idx = idx_all[b : b + batch_size]
            emb, _, _ = batch_inputs(lm, [enc[i] for i in idx], prefix)
            pos = torch.arange(k + length).unsqueeze(0).expand(len(idx), -1)
            out = lm.model(inputs_embeds=emb, position_ids=pos, use_cache=True)
            live = set(range(len(idx)))
            for step in range(max_new_tokens):
                nxt = sample_next(out.logits[:, -1], temperature=temperature, top_p=top_p, gen=gen)
                for j in list(live):
                    tok = int(nxt[j])
                    results[idx[j]].append(tok)
                    if tok == eos or (done is not None and done(lm.decode(results[idx[j]]))):
                        live.discard(j)
                if not live or step == max_new_tokens - 1:
                    break
                pos = torch.full((len(idx), 1), k + length + step)
                out = lm.model(
                    input_ids=nxt.unsqueeze(1), position_ids=pos, cache=out.cache, use_cache=True
                )
    return results

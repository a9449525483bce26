"""Example difficulty as prediction depth (Baldock, Maennel and Neyshabur, 2021).

Forward hooks collect each block's output. A k-NN probe per block (k = 30 by default) labels an
example by the majority label of its k nearest training representations at that block. An
example's prediction depth is the earliest block from which every later probe agrees with the
network's final prediction: 0 means the first block already knows the answer, L (the number of
blocks) means even the last block's probe disagrees and only the network's head gets it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from tinykit.errors import TinykitError
from tinykit.progress import progress_bar


@dataclass
class DepthResult:
    blocks: list[str]
    depth: np.ndarray  # (N,) in 0..L
    probe_pred: np.ndarray  # (L, N)
    probe_share: np.ndarray  # (L, N): share of the k neighbours voting for the probe's label
    final_pred: np.ndarray  # (N,)
    labels: np.ndarray  # (N,)
    k: int
    dims: dict[str, int] = field(default_factory=dict)  # representation size per block

    @property
    def num_blocks(self) -> int:
        return len(self.blocks)

    def per_depth(self) -> list[dict]:
        """Count, share and network accuracy of the examples at each depth 0..L."""
        n = len(self.depth)
        out = []
        for d in range(self.num_blocks + 1):
            sel = self.depth == d
            cnt = int(sel.sum())
            acc = float((self.final_pred[sel] == self.labels[sel]).mean()) if cnt else None
            out.append(
                {
                    "depth": d,
                    "after": self.depth_name(d),
                    "count": cnt,
                    "share": cnt / n if n else 0.0,
                    "accuracy": acc,
                }
            )
        return out

    def depth_name(self, d: int) -> str:
        return self.blocks[d] if d < self.num_blocks else "final head only"

    def ranking(self) -> np.ndarray:
        """Examples from easiest to hardest: by depth, then by how strongly the probe at the
        example's depth voted (a stronger majority is easier)."""
        at = np.minimum(self.depth, self.num_blocks - 1)
        share_at = np.where(
            self.depth < self.num_blocks, self.probe_share[at, np.arange(len(self.depth))], 0.0
        )
        return np.lexsort((np.arange(len(self.depth)), -share_at, self.depth))

    def to_dict(self) -> dict:
        return {
            "blocks": self.blocks,
            "k": self.k,
            "representation_dims": self.dims,
            "probe_accuracy": {
                b: float((self.probe_pred[i] == self.labels).mean())
                for i, b in enumerate(self.blocks)
            },
            "probe_agreement_with_network": {
                b: float((self.probe_pred[i] == self.final_pred).mean())
                for i, b in enumerate(self.blocks)
            },
            "network_accuracy": float((self.final_pred == self.labels).mean()),
            "mean_depth": float(self.depth.mean()) if len(self.depth) else None,
            "per_depth": self.per_depth(),
            "examples": [
                {
                    "index": int(i),
                    "label": int(self.labels[i]),
                    "prediction": int(self.final_pred[i]),
                    "depth": int(self.depth[i]),
                    "probes": [int(p) for p in self.probe_pred[:, i]],
                }
                for i in range(len(self.depth))
            ],
        }


def prediction_depth_from_probes(probe_pred: np.ndarray, final_pred: np.ndarray) -> np.ndarray:
    """Earliest block index d with probes d..L-1 all equal to the final prediction (else L)."""
    probe_pred = np.asarray(probe_pred)
    agree = probe_pred == np.asarray(final_pred)[None, :]
    n_blocks = probe_pred.shape[0]
    depth = np.full(probe_pred.shape[1], n_blocks, dtype=np.int64)
    for d in range(n_blocks - 1, -1, -1):  # walk back while every later probe agrees
        still = (depth == d + 1) & agree[d]
        depth[still] = d
    return depth


def knn_predict(
    train_rep: torch.Tensor,
    train_y: np.ndarray,
    rep: torch.Tensor,
    k: int,
    num_classes: int,
    chunk: int = 512,
) -> tuple[np.ndarray, np.ndarray]:
    """Majority label of the ``k`` nearest training rows (Euclidean); ties go to the class
    whose nearest member is closest. Returns (labels, vote share of the winner)."""
    if k > len(train_rep):
        raise TinykitError(f"k = {k} exceeds the {len(train_rep)} training examples")
    ty = torch.from_numpy(np.asarray(train_y, dtype=np.int64))
    tn = (train_rep * train_rep).sum(1)
    preds, shares = [], []
    for i in range(0, len(rep), chunk):
        q = rep[i : i + chunk]
        d2 = (q * q).sum(1, keepdim=True) - 2 * q @ train_rep.T + tn[None, :]
        idx = torch.topk(d2, k, dim=1, largest=False, sorted=True).indices
        lab = ty[idx]  # (n, k), nearest first
        votes = torch.zeros(len(q), num_classes, dtype=torch.float64)
        votes.scatter_add_(1, lab, torch.ones_like(lab, dtype=torch.float64))
        # tie-break: a class gets a bonus < 1 that is larger the nearer its first neighbour
        rank = torch.arange(k, dtype=torch.float64).expand(len(q), k)
        first = torch.full((len(q), num_classes), float(k), dtype=torch.float64)
        first.scatter_reduce_(1, lab, rank, reduce="amin")
        score = votes + (k - first) / (k + 1)
        win = score.argmax(1)
        preds.append(win.numpy())
        shares.append((votes.gather(1, win[:, None])[:, 0] / k).numpy())
    return np.concatenate(preds), np.concatenate(shares)


def _pool_to(x: torch.Tensor, max_dim: int) -> torch.Tensor:
    """Average-pool a feature map spatially (halving) until it has at most ``max_dim`` values."""
    while x.dim() == 4 and x[0].numel() > max_dim and min(x.shape[2:]) >= 2:
        x = torch.nn.functional.avg_pool2d(x, 2, ceil_mode=True)
    return x.flatten(1)


@torch.no_grad()
def block_representations(
    model,
    blocks: list[str],
    x: np.ndarray,
    *,
    max_dim: int = 16384,
    batch_size: int = 128,
    desc: str = "representations",
    progress: bool = True,
) -> tuple[list[torch.Tensor], np.ndarray]:
    """Each block's output (flattened, pooled down to ``max_dim`` values) and the network's
    predictions, collected with forward hooks in one pass."""
    from tinykit.earlyexit.blocks import check_block_names

    check_block_names(model, blocks)
    model.eval()
    store: dict[str, list[torch.Tensor]] = {b: [] for b in blocks}
    handles = [
        model.get_submodule(b).register_forward_hook(
            lambda _m, _i, out, b=b: store[b].append(_pool_to(out.float(), max_dim))
        )
        for b in blocks
    ]
    preds = []
    try:
        for i in progress_bar(range(0, len(x), batch_size), desc=desc, enabled=progress):
            out = model(torch.from_numpy(np.ascontiguousarray(x[i : i + batch_size])))
            preds.append(out.argmax(1).numpy())
    finally:
        for h in handles:
            h.remove()
    for b in blocks:
        if len(store[b]) != len(preds):
            raise TinykitError(f"block '{b}' is not called exactly once per forward pass")
    return [torch.cat(store[b]) for b in blocks], np.concatenate(preds)


def prediction_depth(
    model,
    blocks: list[str],
    train_x: np.ndarray,
    train_y: np.ndarray,
    x: np.ndarray,
    y: np.ndarray,
    *,
    k: int = 30,
    num_classes: int | None = None,
    max_dim: int = 16384,
    progress: bool = True,
) -> DepthResult:
    """Prediction depth of each row of ``x`` (model-ready inputs) with probes fitted on
    ``train_x`` / ``train_y``."""
    if not blocks:
        raise TinykitError(
            f"{type(model).__name__} has no blocks to probe: name some with --blocks"
        )
    if k < 1:
        raise TinykitError(f"k must be >= 1, got {k}")
    nc = num_classes or int(max(train_y.max(), y.max() if len(y) else 0)) + 1
    train_rep, _ = block_representations(
        model,
        blocks,
        train_x,
        max_dim=max_dim,
        desc="probe: training representations",
        progress=progress,
    )
    rep, final = block_representations(
        model, blocks, x, max_dim=max_dim, desc="probe: test representations", progress=progress
    )
    preds, shares = [], []
    for tr, r in progress_bar(
        list(zip(train_rep, rep, strict=True)), desc=f"k-NN probes (k={k})", enabled=progress
    ):
        p, s = knn_predict(tr, train_y, r, k, nc)
        preds.append(p)
        shares.append(s)
    probe_pred = np.stack(preds)
    return DepthResult(
        blocks=list(blocks),
        depth=prediction_depth_from_probes(probe_pred, final),
        probe_pred=probe_pred,
        probe_share=np.stack(shares),
        final_pred=final,
        labels=np.asarray(y),
        k=k,
        dims={b: int(r.shape[1]) for b, r in zip(blocks, rep, strict=True)},
    )

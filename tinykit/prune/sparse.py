"""What a sparse storage format would hold for a pruned model (the dense file stores zeros)."""

from __future__ import annotations

import math

from torch import nn

from tinykit.prune.fine import prunable_layers


def sparse_size_bytes(model: nn.Module, value_bytes: int = 4) -> dict[str, int]:
    """Bytes of all parameters if pruned weights were stored sparsely.

    ``bitmask``: one bit per weight position plus the nonzero values; ``csr``: the nonzero
    values, a 32-bit column index each and 32-bit row pointers (rows = output channels).
    A layer is stored dense where that is smaller. Other parameters count dense.
    """
    layers = {id(m.weight): m for m in prunable_layers(model).values()}
    dense_total = bitmask = csr = 0
    for p in model.parameters():
        n = p.numel()
        dense = n * value_bytes
        dense_total += dense
        if id(p) not in layers:
            bitmask += dense
            csr += dense
            continue
        nnz = int((p != 0).sum())
        rows = p.shape[0]
        bitmask += min(dense, math.ceil(n / 8) + nnz * value_bytes)
        csr += min(dense, nnz * (value_bytes + 4) + (rows + 1) * 4)
    return {"dense": dense_total, "bitmask": bitmask, "csr": csr}


def layer_sparsity_table(model: nn.Module, targets: dict[str, float] | None = None) -> list[dict]:
    """Per prunable layer: weights, zeros, achieved sparsity and (if given) the target, with
    ``exact`` true when the zero count is exactly round(target * weights)."""
    rows = []
    for name, m in prunable_layers(model).items():
        n = m.weight.numel()
        zeros = int((m.weight == 0).sum())
        row = {"layer": name, "weights": n, "zeros": zeros, "sparsity": zeros / n}
        if targets is not None:
            t = float(targets.get(name, 0.0))
            row["target"] = t
            row["exact"] = zeros == round(t * n)
        rows.append(row)
    return rows

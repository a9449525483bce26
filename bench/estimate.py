"""Latency estimate without the device: a per-layer roofline against a board profile's peaks.

Each layer takes max(MACs / peak MAC rate, bytes moved / memory bandwidth); the estimate is
the sum over layers. It is not a bound either way: no kernel reaches peak and dispatch costs
are ignored (too fast), while every byte is charged at DRAM bandwidth though a small model
lives in cache (too slow). It is never shown as a measurement: every result carries
``measured: False`` and ``estimate: "roofline"``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from tinykit.bench.onnx_macs import NodeCost, OnnxMacCount


def _checkpoint_cost(path: Path) -> OnnxMacCount:
    """Per-layer MACs (torch's operator-level counter) and bytes (forward hooks on the leaf
    modules) of a tinykit checkpoint."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    from tinykit.checkpoint import load_checkpoint

    ckpt = load_checkpoint(path, can_trust=False)
    model = ckpt.build().eval()
    moved: dict[str, int] = {}

    def make_hook(name):
        def hook(mod, inputs, output):
            b = sum(t.numel() * t.element_size() for t in inputs if torch.is_tensor(t))
            b += output.numel() * output.element_size() if torch.is_tensor(output) else 0
            b += sum(p.numel() * p.element_size() for p in mod.parameters(recurse=False))
            moved[name] = moved.get(name, 0) + b

        return hook

    leaves = [(n, m) for n, m in model.named_modules() if n and not list(m.children())]
    handles = [m.register_forward_hook(make_hook(n)) for n, m in leaves]
    try:
        with torch.no_grad(), FlopCounterMode(display=False) as fc:
            model(torch.zeros(list(ckpt.spec.shape)))
    finally:
        for h in handles:
            h.remove()
    counts = fc.get_flop_counts()
    root = type(model).__name__
    nodes = []
    for name, mod in leaves:
        macs = sum(counts.get(f"{root}.{name}", {}).values()) // 2
        w = getattr(mod, "weight", None)
        dens = float((w != 0).sum()) / w.numel() if torch.is_tensor(w) and w.numel() else 1.0
        nodes.append(
            NodeCost(
                name,
                type(mod).__name__,
                int(macs),
                int(round(macs * dens)),
                int(moved.get(name, 0)),
            )
        )
    return OnnxMacCount(
        macs=sum(n.macs for n in nodes),
        effective_macs=sum(n.effective_macs for n in nodes),
        bytes=sum(n.bytes for n in nodes),
        per_node=nodes,
    )


def count_artifact(path: str | os.PathLike[str]) -> OnnxMacCount:
    """MACs, bytes moved and per-layer costs of a .onnx, .tflite or tinykit checkpoint."""
    from tinykit.bench.latency import artifact_kind

    kind = artifact_kind(path)
    if kind == "onnx":
        from tinykit.bench.onnx_macs import count_onnx_macs

        return count_onnx_macs(path)
    if kind == "tflite":
        from tinykit.bench.tflite_macs import count_tflite_macs

        return count_tflite_macs(path)
    return _checkpoint_cost(Path(path))


def uncounted_warning(uncounted: list[str]) -> list[str]:
    """The warning a table shows when some multiply-accumulate nodes could not be counted."""
    if not uncounted:
        return []
    more = f" and {len(uncounted) - 2} more" if len(uncounted) > 2 else ""
    return [
        f"{len(uncounted)} node(s) not counted ({', '.join(uncounted[:2])}{more}): "
        "its MACs and any estimate are too low"
    ]


def roofline_ms(
    count: OnnxMacCount, board, *, threads: int = 1, precision: str | None = None
) -> dict[str, Any]:
    """Sum over layers of max(compute time, memory time), in ms, with the split."""
    prec = precision or count.precision
    peak = board.peak_macs_per_s(prec, threads)
    bw = board.bandwidth_gbs * 1e9
    if peak <= 0 or bw <= 0:
        from tinykit.errors import TinykitError

        raise TinykitError(
            f"board '{board.name}' has no peak throughput or bandwidth to estimate from"
        )
    total = compute = memory = 0.0
    bound_compute = 0
    for n in count.per_node:
        tc, tm = n.macs / peak, n.bytes / bw
        total += max(tc, tm)
        compute += tc
        memory += tm
        bound_compute += tc >= tm
    return {
        "ms": 1e3 * total,
        "compute_ms": 1e3 * compute,
        "memory_ms": 1e3 * memory,
        "compute_bound_layers": bound_compute,
        "layers": len(count.per_node),
        "precision": prec,
        "peak_gmacs": peak / 1e9,
        "bandwidth_gbs": board.bandwidth_gbs,
    }


def estimate(path: str | os.PathLike[str], board, *, threads: int = 1) -> dict[str, Any]:
    """A latency record shaped like a measurement, but labelled as an estimate.

    Returns:
        ``median`` (= ``mean`` = ``p90``, the roofline figure in ms), ``measured: False``,
        ``estimate: "roofline"``, the board, MACs and bytes, and the roofline's split.
    """
    count = count_artifact(path)
    r = roofline_ms(count, board, threads=threads)
    return {
        "median": r["ms"],
        "p90": r["ms"],
        "mean": r["ms"],
        "std": None,
        "min": None,
        "first_ms": None,
        "runs": 0,
        "warmup": 0,
        "threads": threads,
        "runtime": "roofline estimate",
        "runtime_version": None,
        "peak_rss_kb": None,
        "board": board.name,
        "measured": False,
        "estimate": "roofline",
        "macs": count.macs,
        "effective_macs": count.effective_macs,
        "bytes_moved": count.bytes,
        "roofline": r,
        "cpu": board.cpu_model,
        "cpu_flags": list(board.isa),
        "uncounted": count.uncounted,
        "warnings": uncounted_warning(count.uncounted),
    }

"""Compressing an early-exit model like any other: fine-grained pruning of backbone and heads
(fine-tuned jointly with the masks held), k-means weights, and int8 heads.

Everything here calls tinykit's own compressors: :func:`tinykit.prune.fine.prune_fine`,
:func:`tinykit.quant.kmeans.quantize_kmeans`, and for int8 heads the linear-int8 QGraph
(:func:`tinykit.quant.qgraph.build_qgraph`, calibrated on the head's own input features) with
its fake-quant module (:func:`tinykit.quant.qdq.build_qdq_module`) and its onnxruntime int8
operators (:func:`tinykit.exporters.onnx_qop.build_qop_model`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import torch

from tinykit.earlyexit.heads import EarlyExitModel
from tinykit.errors import TinykitError


@dataclass
class Compression:
    """What was done to the model; ``kmeans`` and ``int8_graphs`` are what the exporters need."""

    sparsity: float = 0.0
    kmeans: dict[str, Any] | None = None
    kmeans_bits: int | None = None
    int8_graphs: list | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def precision(self) -> str:
        p = f"kmeans{self.kmeans_bits}" if self.kmeans_bits else "fp32"
        return p + ("+int8-heads" if self.int8_graphs else "")

    def to_dict(self) -> dict:
        return {
            "sparsity": self.sparsity,
            "kmeans_bits": self.kmeans_bits,
            "int8_heads": bool(self.int8_graphs),
            "precision": self.precision,
            "notes": self.notes,
        }


def prune_early_exit(
    model: EarlyExitModel,
    data,
    sparsity: float,
    *,
    epochs: int,
    lr: float,
    seed: int,
    progress: bool = True,
) -> None:
    """Zero the smallest weights of every conv and linear layer (backbone and heads), then
    fine-tune backbone and heads jointly with the masks re-imposed after every step."""
    from tinykit.earlyexit.train import HeadTrainConfig, train_heads
    from tinykit.prune.fine import prune_fine

    masks = prune_fine(model, sparsity)
    if epochs:
        cfg = HeadTrainConfig(mode="joint", epochs=epochs, lr=lr, seed=seed)
        train_heads(model, data, cfg, after_step=masks.apply, progress=progress)
    masks.apply()


def kmeans_early_exit(
    model: EarlyExitModel,
    data,
    bits: int,
    *,
    per_channel: bool = False,
    epochs: int = 0,
    lr: float = 5e-4,
    seed: int = 0,
    progress: bool = True,
) -> dict:
    """K-means every conv and linear weight (zeros stay zero), then fine-tune jointly inside
    the codebooks (each centroid moves to the mean of its weights after every step). Batch
    norm stays unfolded, as in tinykit's own k-means link: one codebook per layer cannot follow
    the per-channel scales folding would bring; the ONNX exporter folds it and stores the
    factor. Returns the codebooks keyed by module name."""
    from tinykit.earlyexit.train import HeadTrainConfig, train_heads
    from tinykit.quant.kmeans import CodebookUpdate, quantize_kmeans

    books = quantize_kmeans(model, bits, per_channel=per_channel)
    if epochs:
        cfg = HeadTrainConfig(mode="joint", epochs=epochs, lr=lr, seed=seed)
        train_heads(model, data, cfg, after_step=CodebookUpdate(model, books), progress=progress)
    return books


@torch.no_grad()
def _pooled_inputs(
    model: EarlyExitModel, x: np.ndarray, samples: int, seed: int, batch: int = 128
) -> list[list[torch.Tensor]]:
    """Each head's pooled input on a seeded subset of ``x``, in batches."""
    idx = np.sort(np.random.default_rng(seed).permutation(len(x))[:samples])
    per_head: list[list[torch.Tensor]] = [[] for _ in model.heads]
    for i in range(0, len(idx), batch):
        feats, _ = model.features(torch.from_numpy(np.ascontiguousarray(x[idx[i : i + batch]])))
        for k, f in enumerate(feats):
            per_head[k].append(model.heads[k].pooled(f))
    return per_head


def int8_heads(
    model: EarlyExitModel, data, *, samples: int = 512, seed: int = 0, progress: bool = True
) -> list:
    """Quantize the linear layers of every head to int8 (weights per output channel,
    activations calibrated on the pooled features of training images); the pooling stays in
    float, so only its few outputs are quantized, not the whole feature map. Each head's
    linear part becomes its fake-quant module, computing what the int8 kernels compute.
    Returns one QGraph per head for export."""
    from tinykit.quant.qdq import build_qdq_module
    from tinykit.quant.qgraph import build_qgraph

    graphs = []
    batches = _pooled_inputs(model, data.inputs("train"), samples, seed)
    for k, head in enumerate(model.heads):
        # a bare Linear as the traced root would show as a function call, not a layer
        fc = head.fc if isinstance(head.fc, torch.nn.Sequential) else torch.nn.Sequential(head.fc)
        g, gm = build_qgraph(fc.eval(), batches[k], bits=8, method="minmax", progress=progress)
        if g.float_ops:  # a plain linear / ReLU head has none; a user's own head might
            raise TinykitError(
                f"head after '{model.exits[k]}' has ops without an int8 kernel: "
                + ", ".join(g.float_ops)
            )
        head.fc = build_qdq_module(gm, g)
        graphs.append(g)
    return graphs


def merge_int8_head(stage_path: Path, graph, pooled_shape: tuple[int, ...]) -> None:
    """Append a head's int8 linear part (onnxruntime QLinear operators) to a stage file that
    returns ``features_out`` and the head's float ``pooled`` features; the stage then returns
    ``features_out`` and ``logits``."""
    import onnx
    from onnx import compose

    from tinykit.exporters.onnx_qop import build_qop_model

    seg = onnx.load(str(stage_path))
    head = build_qop_model(graph, SimpleNamespace(name="head_in", shape=tuple(pooled_shape)))
    ir = max(seg.ir_version, head.ir_version)
    seg.ir_version = head.ir_version = ir
    merged = compose.merge_models(
        seg,
        head,
        io_map=[("pooled", "head_in")],
        prefix2="head_",
        outputs=["features_out", "head_logits"],
    )
    g = merged.graph
    for n in g.node:
        for i, o in enumerate(n.output):
            if o == "head_logits":
                n.output[i] = "logits"
    for o in g.output:
        if o.name == "head_logits":
            o.name = "logits"
    onnx.checker.check_model(merged)
    onnx.save(merged, str(stage_path))


def compress_early_exit(
    model: EarlyExitModel,
    data,
    *,
    sparsity: float = 0.0,
    finetune_epochs: int = 3,
    finetune_lr: float = 1e-3,
    kmeans_bits: int | None = None,
    per_channel: bool = False,
    kmeans_epochs: int = 3,
    int8: bool = False,
    seed: int = 0,
    progress: bool = True,
) -> Compression:
    """Prune, then k-means, then int8 heads, each only when asked."""
    c = Compression()
    if sparsity > 0:
        prune_early_exit(
            model,
            data,
            sparsity,
            epochs=finetune_epochs,
            lr=finetune_lr,
            seed=seed,
            progress=progress,
        )
        c.sparsity = sparsity
    if kmeans_bits:
        c.kmeans = kmeans_early_exit(
            model,
            data,
            kmeans_bits,
            per_channel=per_channel,
            epochs=kmeans_epochs,
            lr=finetune_lr / 2,
            seed=seed,
            progress=progress,
        )
        c.kmeans_bits = kmeans_bits
        c.notes.append(
            f"k-means {kmeans_bits}-bit: ONNX stores packed indices + codebooks; "
            "TFLite stores the decoded values as fp32"
        )
    if int8:
        if c.kmeans:  # the heads' codebooks give way to int8
            c.kmeans = {n: b for n, b in c.kmeans.items() if not n.startswith("heads.")}
        c.int8_graphs = int8_heads(model, data, seed=seed, progress=progress)
        c.notes.append(
            "int8 heads: pooling in float, linear layers as onnxruntime int8 "
            "operators in ONNX; in TFLite the same numbers as QUANTIZE/DEQUANTIZE "
            "around float kernels"
        )
    model.eval()
    return c

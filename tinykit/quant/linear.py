"""Linear int8 quantization of a whole model: r = S (q - Z).

Weights symmetric per output channel (Z = 0; depthwise layers included), activations int8 per
tensor, asymmetric, calibrated on training data; batch norm folded first; ReLU/ReLU6 fused
into output ranges; optional quantization-aware fine-tuning. The result carries the QGraph
(every scale, in one place) and a PyTorch module that computes with exactly those numbers.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from tinykit.errors import TinykitError
from tinykit.quant.calibrate import METHODS
from tinykit.quant.qgraph import QGraph, build_qgraph

X86_WEIGHT_BITS = 7


@dataclass
class LinearQuantized:
    graph: QGraph  # int8 activations, weights at the requested bits (TFLite, Arm, reference)
    qdq: nn.Module  # fake-quant PyTorch module with the graph's numbers
    float_model: nn.Module  # the folded float model the graph was built from
    x86_graph: QGraph  # same activations, weights at most 7 bits (the x86 ONNX artifact)


def calibration_batches(
    x: np.ndarray,
    *,
    samples: int,
    seed: int,
    batch: int = 128,
    expected_shape: tuple[int, ...] | None = None,
) -> list[torch.Tensor]:
    """A seeded subset of (training) inputs, in batches."""
    if len(x) == 0 or samples < 1:
        raise TinykitError("the calibration set is empty: give at least one training input")
    if expected_shape is not None and tuple(x.shape[1:]) != tuple(expected_shape[1:]):
        raise TinykitError(
            f"calibration inputs have shape {list(x.shape[1:])} but the model takes "
            f"{list(expected_shape[1:])}"
        )
    idx = np.sort(np.random.default_rng(seed).permutation(len(x))[:samples])
    xs = torch.from_numpy(np.ascontiguousarray(x[idx]))
    return [xs[i : i + batch] for i in range(0, len(xs), batch)]


def quantize_linear(
    model: nn.Module,
    data,
    *,
    bits: int = 8,
    calibration: str = "minmax",
    samples: int = 512,
    qat_epochs: int = 0,
    lr: float = 5e-4,
    seed: int = 0,
    progress: bool = True,
) -> LinearQuantized:
    """Fold batch norm (in place), calibrate on ``data``'s training split, quantize."""
    from tinykit.quant.qdq import build_qdq_module
    from tinykit.transforms import fold_batchnorm

    if calibration not in METHODS:
        raise TinykitError(f"unknown calibration method '{calibration}': use {', '.join(METHODS)}")
    if not 2 <= bits <= 8:
        raise TinykitError(f"linear quantization needs --bits 2-8, got {bits}")
    fold_batchnorm(model)
    batches = calibration_batches(
        data.inputs("train"), samples=samples, seed=seed, expected_shape=data.spec.shape
    )
    g, gm = build_qgraph(model, batches, bits=bits, method=calibration, progress=progress)
    if qat_epochs:
        from tinykit.prune.fine import Masks, prunable_layers
        from tinykit.quant.qat import qat_module
        from tinykit.train import TrainConfig, fit

        qm = qat_module(gm, g)
        # pruned weights stay exactly zero: the zero pattern is held after every step
        zeros = Masks(model, {n: m.weight != 0 for n, m in prunable_layers(model).items()})
        fit(
            qm,
            data,
            TrainConfig(epochs=qat_epochs, lr=lr, seed=seed),
            after_step=zeros.apply,
            params=list(model.parameters()),
            desc=f"int{bits} quantization-aware fine-tune",
            progress=progress,
        )
        model.eval()
        g, gm = build_qgraph(model, batches, bits=bits, method=calibration, progress=progress)
    return LinearQuantized(
        graph=g, qdq=build_qdq_module(gm, g), float_model=model, x86_graph=x86_variant(gm, g)
    )


def x86_variant(gm, g: QGraph) -> QGraph:
    """The graph for onnxruntime on x86: its fast kernels multiply uint8 activations by int8
    weights, and CPUs without VNNI add pairs of those products in saturating int16; weights
    of at most 7 bits keep every pair sum in range (onnxruntime's ``reduce_range``), so the
    file computes the same on every x86 CPU. Activation scales are unchanged."""
    import copy

    from tinykit.quant.qgraph import quantize_weights

    if g.weight_bits <= X86_WEIGHT_BITS:
        return g
    g7 = copy.deepcopy(g)
    quantize_weights(gm, g7, X86_WEIGHT_BITS)
    return g7

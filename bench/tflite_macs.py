"""Multiply-accumulates and bytes moved of a .tflite file, from its tensors' shapes.

The LiteRT interpreter lists every operator with its input and output tensors; the ones that
multiply and accumulate are counted from the shapes (TFLite's weight layouts: CONV_2D
[O, kh, kw, I], DEPTHWISE_CONV_2D [1, kh, kw, O], FULLY_CONNECTED [O, I], TRANSPOSE_CONV
[O, kh, kw, I]).
"""

from __future__ import annotations

import math
import os
from pathlib import Path

from tinykit.bench.onnx_macs import NodeCost, OnnxMacCount
from tinykit.errors import TinykitError


def _open(path: Path):
    from tinykit.exporters.artifact import _quiet_tf_logs, silence_native_stderr

    _quiet_tf_logs()
    try:
        with silence_native_stderr():
            from ai_edge_litert.interpreter import Interpreter

            it = Interpreter(model_path=str(path))
            it.allocate_tensors()
    except ImportError as e:
        raise TinykitError(
            "counting a .tflite needs ai-edge-litert: pip install ai-edge-litert"
        ) from e
    except (ValueError, RuntimeError) as e:
        raise TinykitError(
            f"{path} is not a TFLite model LiteRT can load: "
            f"{str(e).strip().splitlines()[0] if str(e).strip() else e}"
        ) from e
    return it


def count_tflite_macs(path: str | os.PathLike[str]) -> OnnxMacCount:
    """MACs (dense and effective), bytes moved and per-operator costs of a .tflite file.

    Returns:
        the same record as :func:`tinykit.bench.onnx_macs.count_onnx_macs`, plus
        ``precision``: "int8" when the convolutions take int8 activations, else "fp32".
    """
    import numpy as np

    p = Path(path)
    if not p.is_file():
        raise TinykitError(f"TFLite file {p} does not exist")
    it = _open(p)
    tensors = {t["index"]: t for t in it.get_tensor_details()}

    def shape(i: int) -> list[int]:
        return [int(d) for d in tensors[i]["shape"]] if i >= 0 else []

    def nbytes(i: int) -> int:
        if i < 0:
            return 0
        return math.prod(shape(i)) * np.dtype(tensors[i]["dtype"]).itemsize

    def density(i: int) -> float:
        try:
            w = it.get_tensor(i)
        except ValueError:  # not a constant tensor
            return 1.0
        return float(np.count_nonzero(w)) / w.size if w.size else 1.0

    per_node, uncounted, int8 = [], [], False
    for op in it._get_ops_details():
        name, ins, outs = op["op_name"], list(op["inputs"]), list(op["outputs"])
        if name == "DELEGATE":  # XNNPACK's wrapper around operators listed on their own
            continue
        moved = sum(nbytes(i) for i in ins) + sum(nbytes(i) for i in outs)
        out = math.prod(shape(outs[0])) if outs else 0
        macs, w = 0, -1
        if name == "CONV_2D":
            w = ins[1]
            macs = out * math.prod(shape(w)[1:])
        elif name == "DEPTHWISE_CONV_2D":
            w = ins[1]
            macs = out * math.prod(shape(w)[1:3])
        elif name == "FULLY_CONNECTED":
            w = ins[1]
            macs = out * shape(w)[-1]
        elif name == "BATCH_MATMUL":
            macs = out * shape(ins[0])[-1]
        elif name == "TRANSPOSE_CONV":
            w = ins[1]
            macs = math.prod(shape(ins[2])) * math.prod(shape(w)[:3])
        elif name in ("UNIDIRECTIONAL_SEQUENCE_LSTM", "LSTM", "SVDF", "CUSTOM"):
            uncounted.append(f"{name}_{op['index']} ({name}: not counted)")
        if macs and np.dtype(tensors[ins[0]]["dtype"]) == np.int8:
            int8 = True
        eff = int(round(macs * density(w))) if w >= 0 else macs
        per_node.append(NodeCost(f"{name}_{op['index']}", name, int(macs), eff, int(moved)))
    return OnnxMacCount(
        macs=sum(n.macs for n in per_node),
        effective_macs=sum(n.effective_macs for n in per_node),
        bytes=sum(n.bytes for n in per_node),
        per_node=per_node,
        uncounted=uncounted,
        precision="int8" if int8 else "fp32",
    )

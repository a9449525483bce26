"""Multiply-accumulates and bytes moved of an ONNX file, from its shapes alone.

Artifacts and foreign ONNX models have no PyTorch module to count on, so the graph itself is
read: local functions are inlined (tinykit's k-means decode is one), shapes are inferred by
onnx (or read off one onnxruntime run where onnx cannot), and every node that multiplies and
accumulates is counted from its input and output shapes. Nodes of other kinds (activations,
pooling, adds) are not MACs; nodes whose shapes stay unknown are listed in ``uncounted``
rather than guessed.

Bytes moved per node (weights read + activations read and written, at their stored dtype)
feed the roofline estimate of :mod:`tinykit.bench.estimate`.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tinykit.errors import TinykitError

# ONNX element type -> bytes per element (the ones models use)
_DTYPE_BYTES = {1: 4, 2: 1, 3: 1, 4: 2, 5: 2, 6: 4, 7: 8, 9: 1, 10: 2, 11: 8, 12: 4, 13: 8, 16: 2}


@dataclass
class NodeCost:
    """One counted node: its MACs (dense and skipping zero weights) and bytes moved."""

    name: str
    op: str
    macs: int
    effective_macs: int
    bytes: int


@dataclass
class OnnxMacCount:
    macs: int
    effective_macs: int
    bytes: int
    per_node: list[NodeCost] = field(default_factory=list)
    uncounted: list[str] = field(default_factory=list)
    precision: str = "fp32"  # "int8" when the multiply-accumulates run on int8 operands

    def to_dict(self) -> dict[str, Any]:
        return {
            "macs": self.macs,
            "effective_macs": self.effective_macs,
            "bytes_moved": self.bytes,
            "precision": self.precision,
            "uncounted": self.uncounted,
        }


def _shape_of(vi) -> list[int] | None:
    t = vi.type.tensor_type
    if not t.HasField("shape"):
        return None
    dims = []
    for d in t.shape.dim:
        if d.HasField("dim_value") and d.dim_value > 0:
            dims.append(int(d.dim_value))
        else:
            return None
    return dims


class _Graph:
    """Shapes, dtypes and constant values of every tensor name in an inferred graph."""

    def __init__(self, proto):
        from onnx import numpy_helper

        g = proto.graph
        self.shapes: dict[str, list[int]] = {}
        self.dtypes: dict[str, int] = {}
        self.consts: dict[str, Any] = {}
        for vi in [*g.input, *g.value_info, *g.output]:
            s = _shape_of(vi)
            if s is not None:
                self.shapes[vi.name] = s
            self.dtypes[vi.name] = vi.type.tensor_type.elem_type
        for init in g.initializer:
            arr = numpy_helper.to_array(init)
            self.consts[init.name] = arr
            self.shapes[init.name] = list(arr.shape)
            self.dtypes[init.name] = init.data_type
        for node in g.node:  # Constant nodes carry weights in some exporters
            if node.op_type == "Constant" and node.attribute:
                for a in node.attribute:
                    if a.name == "value":
                        arr = numpy_helper.to_array(a.t)
                        self.consts[node.output[0]] = arr
                        self.shapes[node.output[0]] = list(arr.shape)
                        self.dtypes[node.output[0]] = a.t.data_type

    def nbytes(self, name: str) -> int:
        s = self.shapes.get(name)
        if not name or s is None:
            return 0
        return math.prod(s) * _DTYPE_BYTES.get(self.dtypes.get(name, 1), 4)

    def density(self, name: str) -> float:
        """Share of nonzero values of a constant weight (1.0 when not a constant)."""
        import numpy as np

        w = self.consts.get(name)
        if w is None or w.size == 0:
            return 1.0
        return float(np.count_nonzero(w)) / w.size


def _attr(node, name: str, default=None):
    from onnx import helper

    for a in node.attribute:
        if a.name == name:
            return helper.get_attribute_value(a)
    return default


def _conv_macs(node, g: _Graph, w_index: int = 1) -> int | None:
    """Each output element takes (C_in / group) * prod(kernel) products."""
    out, w = g.shapes.get(node.output[0]), g.shapes.get(node.input[w_index])
    if out is None or w is None:
        return None
    return math.prod(out) * math.prod(w[1:])  # w: [C_out, C_in/group, k...]


def _conv_transpose_macs(node, g: _Graph) -> int | None:
    """Each input element is scattered through C_out / group * prod(kernel) products."""
    x, w = g.shapes.get(node.input[0]), g.shapes.get(node.input[1])
    if x is None or w is None:
        return None
    return math.prod(x) * math.prod(w[1:])  # w: [C_in, C_out/group, k...]


def _gemm_macs(node, g: _Graph) -> int | None:
    a, y = g.shapes.get(node.input[0]), g.shapes.get(node.output[0])
    if a is None or y is None:
        return None
    k = a[0] if _attr(node, "transA", 0) else a[1]
    return math.prod(y) * k


def _matmul_macs(node, g: _Graph, a_index: int = 0) -> int | None:
    """numpy matmul semantics: every output element sums over K, A's last axis."""
    a, y = g.shapes.get(node.input[a_index]), g.shapes.get(node.output[0])
    if a is None or y is None:
        return None
    return math.prod(y) * a[-1]


# op type -> (MAC function, index of the weight input whose zeros skip work)
_COUNTERS = {
    "Conv": (_conv_macs, 1),
    "ConvInteger": (_conv_macs, 1),
    "QLinearConv": (lambda n, g: _conv_macs(n, g, 3), 3),
    "ConvTranspose": (_conv_transpose_macs, 1),
    "Gemm": (_gemm_macs, 1),
    "MatMul": (_matmul_macs, 1),
    "MatMulInteger": (_matmul_macs, 1),
    "QLinearMatMul": (lambda n, g: _matmul_macs(n, g, 0), 3),
    "QGemm": (_gemm_macs, 3),  # com.microsoft: A, a_scale, a_zp, B, ...
}


_INT8_OPS = ("ConvInteger", "QLinearConv", "MatMulInteger", "QLinearMatMul", "QGemm")


def _load(model: str | os.PathLike[str] | Any):
    import onnx

    if hasattr(model, "graph"):
        return model
    p = Path(model)
    if not p.is_file():
        raise TinykitError(f"ONNX file {p} does not exist")
    try:
        return onnx.load(str(p))
    except Exception as e:  # protobuf raises its own DecodeError types
        raise TinykitError(f"{p} is not an ONNX model: {str(e).splitlines()[0]}") from e


def _fill_by_running(proto, g: _Graph, shapes_of: set[str], values_of: set[str]) -> None:
    """Shapes (and constant values) that onnx's inference cannot give, read off one run.

    onnx does not infer through com.microsoft ops (QLinearAdd, QGemm and friends of an
    onnxruntime int8 graph), and computed weights (a k-means decode) are values, not
    initializers. One onnxruntime run on zeros, with those tensors exposed as outputs, gives
    both exactly; a dynamic dimension is taken as 1.
    """
    import numpy as np
    import onnx
    import onnxruntime as ort
    from onnx import helper

    names = sorted((shapes_of | values_of) - set(g.consts))
    if not names:
        return
    m = onnx.ModelProto()
    m.CopyFrom(proto)
    known = {o.name for o in m.graph.output}
    m.graph.output.extend(onnx.ValueInfoProto(name=n) for n in names if n not in known)
    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    so.intra_op_num_threads = 1
    so.log_severity_level = 3
    try:
        sess = ort.InferenceSession(m.SerializeToString(), so, providers=["CPUExecutionProvider"])
    except Exception:  # a graph onnxruntime cannot run: those nodes stay uncounted
        return
    inits = {i.name for i in m.graph.initializer}
    feeds = {}
    for vi in m.graph.input:
        if vi.name in inits:
            continue
        t = vi.type.tensor_type
        dims = [d.dim_value if d.dim_value > 0 else 1 for d in t.shape.dim]
        feeds[vi.name] = np.zeros(dims, dtype=helper.tensor_dtype_to_np_dtype(t.elem_type))
    try:
        outs = sess.run(names, feeds)
    except Exception:
        return
    for n, v in zip(names, outs, strict=True):
        v = np.asarray(v)
        g.shapes[n] = list(v.shape)
        g.dtypes.setdefault(n, helper.np_dtype_to_tensor_dtype(v.dtype))
        if n in values_of:
            g.consts[n] = v


def count_onnx_macs(model: str | os.PathLike[str] | Any) -> OnnxMacCount:
    """MACs (dense and effective), bytes moved and per-node costs of an ONNX model.

    Args:
        model: a path to a ``.onnx`` file or a loaded ``ModelProto``.

    Returns:
        OnnxMacCount; ``uncounted`` names MAC-type nodes whose shapes could not be inferred
        and MAC-type ops this counter does not know (e.g. LSTM), so a total is never silently
        short.
    """
    from onnx import inliner, shape_inference

    proto = _load(model)
    if proto.functions:
        proto = inliner.inline_local_functions(proto)
    try:
        proto = shape_inference.infer_shapes(proto, data_prop=True)
    except Exception as e:  # onnx raises InferenceError and ValidationError
        raise TinykitError(
            f"cannot infer the shapes of the ONNX graph: {str(e).splitlines()[0]}"
        ) from e
    g = _Graph(proto)
    # tensors the runtime computes once, at load: constants and what is computed from them
    folded = {i.name for i in proto.graph.initializer}
    for node in proto.graph.node:
        if all(t in folded for t in node.input if t):
            folded.update(node.output)
    missing, computed = set(), set()
    for node in proto.graph.node:
        if node.output[0] not in folded and node.op_type in _COUNTERS:
            w_index = _COUNTERS[node.op_type][1]
            io = [*node.input[: w_index + 1], node.output[0]]
            missing.update(t for t in io if t and t not in g.shapes)
            w = node.input[w_index] if len(node.input) > w_index else ""
            if w in folded and w not in g.consts:
                computed.add(w)
    if missing or computed:
        _fill_by_running(proto, g, missing, computed)
    per_node: list[NodeCost] = []
    uncounted: list[str] = []
    for i, node in enumerate(proto.graph.node):
        name = node.name or f"{node.op_type}_{i}"
        if node.output[0] in folded:  # constant subgraph (e.g. k-means decode): no run cost
            continue
        if node.op_type in ("LSTM", "GRU", "RNN", "Einsum", "Attention"):
            uncounted.append(f"{name} ({node.op_type}: not counted)")
            continue
        moved = sum(g.nbytes(t) for t in node.input) + sum(g.nbytes(t) for t in node.output)
        if node.op_type not in _COUNTERS:
            per_node.append(NodeCost(name, node.op_type, 0, 0, int(moved)))
            continue
        fn, w_index = _COUNTERS[node.op_type]
        macs = fn(node, g)
        if macs is None:
            uncounted.append(f"{name} ({node.op_type}: shapes unknown)")
            continue
        w_name = node.input[w_index] if len(node.input) > w_index else ""
        eff = int(round(macs * g.density(w_name)))
        per_node.append(NodeCost(name, node.op_type, int(macs), eff, int(moved)))
    return OnnxMacCount(
        macs=sum(n.macs for n in per_node),
        effective_macs=sum(n.effective_macs for n in per_node),
        bytes=sum(n.bytes for n in per_node),
        per_node=per_node,
        uncounted=uncounted,
        precision="int8" if any(n.op in _INT8_OPS and n.macs for n in per_node) else "fp32",
    )

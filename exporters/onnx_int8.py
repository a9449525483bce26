"""Int8 ONNX from tinykit's QDQ module: torch's exporter, then a cleanup that stores what an
int8 file should store.

torch's exporter writes each quantized weight as fp32 followed by QuantizeLinear/Clip; the
cleanup folds those into int8 initializers behind DequantizeLinear (a quarter of the bytes),
turns each bias into int32 at scale S_in * S_w behind DequantizeLinear, and rewrites the
spatial ReduceMean as GlobalAveragePool. onnxruntime then fuses every DQ -> op -> Q group into
its int8 kernels (QLinearConv, QGemm, QLinearAdd, QLinearGlobalAveragePool).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tinykit.errors import TinykitError


def _quantize_linear(x, scale, zp, axis: int) -> np.ndarray:
    if scale.ndim == 1 and x.ndim > 1:
        shape = [1] * x.ndim
        shape[axis] = -1
        scale, zpb = scale.reshape(shape), zp.reshape(shape)
    else:
        zpb = zp
    info = np.iinfo(zp.dtype)
    q = np.round(x.astype(np.float64) / scale.astype(np.float64)) + zpb.astype(np.int64)
    return np.clip(q, info.min, info.max).astype(zp.dtype)


def _one_dq_per_consumer(nodes):
    """onnxruntime fuses DQ -> op -> Q only when the DQ feeds that op alone: give each
    consumer of a shared activation DequantizeLinear its own copy."""
    from onnx import helper

    consumers: dict[str, list] = {}
    for n in nodes:
        for i in n.input:
            consumers.setdefault(i, []).append(n)
    out = []
    for n in nodes:
        users = consumers.get(n.output[0], [])
        if n.op_type != "DequantizeLinear" or len(users) <= 1:
            out.append(n)
            continue
        for k, user in enumerate(users):
            name = f"{n.output[0]}_c{k}"
            out.append(
                helper.make_node("DequantizeLinear", list(n.input), [name], name=f"{n.name}_c{k}")
            )
            for j, i in enumerate(user.input):
                if i == n.output[0]:
                    user.input[j] = name
    return _topo_sort(out)


def _topo_sort(nodes):
    produced = {o: n for n in nodes for o in n.output}
    done, order = set(), []

    def visit(n):
        if id(n) in done:
            return
        done.add(id(n))
        for i in n.input:
            if i in produced:
                visit(produced[i])
        order.append(n)

    for n in nodes:
        visit(n)
    return order


def clean_int8_onnx(path: Path) -> dict[str, int]:
    """Rewrite the exported QDQ file in place; returns counts of what was rewritten."""
    import onnx
    from onnx import helper, numpy_helper

    proto = onnx.load(str(path))
    g = proto.graph
    const = {i.name: numpy_helper.to_array(i) for i in g.initializer}
    for n in g.node:  # Constant nodes become constants too
        if n.op_type == "Constant":
            const[n.output[0]] = numpy_helper.to_array(n.attribute[0].t)
    keep, counts = [], {"weights": 0, "biases": 0, "pools": 0}
    for n in g.node:
        if n.op_type == "Constant":
            continue
        ins_const = all(i in const for i in n.input if i)
        if n.op_type == "QuantizeLinear" and ins_const:
            axis = next((a.i for a in n.attribute if a.name == "axis"), 1)
            const[n.output[0]] = _quantize_linear(
                const[n.input[0]], const[n.input[1]], const[n.input[2]], axis
            )
            counts["weights"] += 1
            continue
        if n.op_type == "Clip" and ins_const:
            x = const[n.input[0]]
            lo = const[n.input[1]] if len(n.input) > 1 and n.input[1] else x.min()
            hi = const[n.input[2]] if len(n.input) > 2 and n.input[2] else x.max()
            const[n.output[0]] = np.clip(x, lo, hi).astype(x.dtype)
            continue
        keep.append(n)
    producers = {o: n for n in keep for o in n.output}
    new_nodes = []
    for n in keep:
        if n.op_type in ("Conv", "Gemm") and len(n.input) > 2 and n.input[2] in const:
            dq_x, dq_w = producers.get(n.input[0]), producers.get(n.input[1])
            if not (dq_x and dq_w and dq_x.op_type == dq_w.op_type == "DequantizeLinear"):
                raise TinykitError(f"internal: {n.name} is not fed by DequantizeLinear")
            s_in = np.float64(const[dq_x.input[1]])
            s_w = const[dq_w.input[1]].astype(np.float64)
            bscale = (s_in * s_w).astype(np.float32)
            b = const[n.input[2]].astype(np.float64)
            bq = np.clip(np.round(b / bscale.astype(np.float64)), -(2**31), 2**31 - 1).astype(
                np.int32
            )
            base = n.input[2]
            const[f"{base}_q"] = bq
            const[f"{base}_scale"] = bscale
            const[f"{base}_zp"] = np.zeros(bq.shape, dtype=np.int32)
            new_nodes.append(
                helper.make_node(
                    "DequantizeLinear",
                    [f"{base}_q", f"{base}_scale", f"{base}_zp"],
                    [f"{base}_dq"],
                    axis=0,
                    name=f"{base}_dequantize",
                )
            )
            n.input[2] = f"{base}_dq"
            counts["biases"] += 1
        if n.op_type == "ReduceMean":
            axes = const.get(n.input[1]) if len(n.input) > 1 else None
            keepdims = next((a.i for a in n.attribute if a.name == "keepdims"), 1)
            if axes is not None and sorted(int(a) % 4 for a in axes) == [2, 3] and keepdims == 1:
                n = helper.make_node("GlobalAveragePool", [n.input[0]], list(n.output), name=n.name)
                counts["pools"] += 1
        new_nodes.append(n)
    new_nodes = _one_dq_per_consumer(new_nodes)
    used = {i for n in new_nodes for i in n.input} | {o.name for o in g.output}
    del g.node[:]
    g.node.extend(new_nodes)
    del g.initializer[:]
    for name, arr in const.items():
        if name in used:
            g.initializer.append(numpy_helper.from_array(np.asarray(arr), name))
    onnx.checker.check_model(proto)
    onnx.save(proto, str(path))
    return counts


def export_onnx_int8(qdq_module, spec, path: str | Path):
    """Export tinykit's QDQ module (float input and output; int8 inside) to ``path``."""
    from tinykit.exporters.artifact import Artifact
    from tinykit.exporters.onnx import torch_to_onnx
    from tinykit.fileio import atomic_path

    path = Path(path)
    with atomic_path(path) as tmp:
        torch_to_onnx(qdq_module, spec, tmp)
        clean_int8_onnx(tmp)
    return Artifact(path, "onnx", "int8")

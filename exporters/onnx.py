"""ONNX export through torch's exporter, then tinykit's weight encodings spliced in.

K-means weights: the initializer is replaced by packed n-bit indices (a byte stream) and the
codebook, followed by a small integer-op subgraph that unpacks and looks them up. Every input
of that subgraph is a constant, so onnxruntime folds it when the session loads: the file is
n-bit small and inference runs the ordinary dense convolution.
"""

from __future__ import annotations

import contextlib
import io
import os
from pathlib import Path
from typing import Any

import numpy as np
from tinykit.exporters.artifact import Artifact

from tinykit.errors import TinykitError
from tinykit.fileio import atomic_path

OPSET = 20


def torch_to_onnx(model, spec, path: Path, *, output_name: str = "logits") -> None:
    """Plain fp32 export (batch 1, static shapes) with the spec's input name."""
    import torch

    example = torch.zeros(spec.shape, dtype=torch.float32)
    buf_out, buf_err = io.StringIO(), io.StringIO()
    try:
        with contextlib.redirect_stdout(buf_out), contextlib.redirect_stderr(buf_err):
            torch.onnx.export(
                model.eval(),
                (example,),
                str(path),
                input_names=[spec.name],
                output_names=[output_name],
                opset_version=OPSET,
                dynamo=True,
                external_data=False,
            )
    except Exception as e:  # the exporter raises many types; report one line, keep the cause
        raise TinykitError(
            f"ONNX export of {type(model).__name__} failed: {str(e).splitlines()[0]}"
        ) from e
    strip_metadata(path)


def strip_metadata(path: Path) -> None:
    """Drop the exporter's provenance (stack traces, node names, value_info): a deployable file
    carries the graph and weights only, so that sizes compare like for like."""
    import onnx

    proto = onnx.load(str(path))
    g = proto.graph
    del g.value_info[:]
    for coll in (g.node, g.initializer, g.input, g.output):
        for item in coll:
            del item.metadata_props[:]
            item.doc_string = ""
    del proto.metadata_props[:]
    g.doc_string = ""
    onnx.save(proto, str(path))


def pack_indices(labels: np.ndarray, bits: int) -> np.ndarray:
    """Pack integer indices < 2^bits into a little-endian bit stream (uint8), plus one pad byte."""
    lab = np.asarray(labels, dtype=np.uint8).ravel()
    bitmat = ((lab[:, None] >> np.arange(bits, dtype=np.uint8)) & 1).astype(np.uint8)
    packed = np.packbits(bitmat.ravel(), bitorder="little")
    return np.concatenate([packed, np.zeros(1, dtype=np.uint8)])


def unpack_indices(packed: np.ndarray, n: int, bits: int) -> np.ndarray:
    """Inverse of :func:`pack_indices` (numpy reference of the ONNX decode subgraph)."""
    i = np.arange(n, dtype=np.int64) * bits
    byte, off = i // 8, i % 8
    word = packed[byte].astype(np.uint32) | (packed[byte + 1].astype(np.uint32) << 8)
    return ((word >> off.astype(np.uint32)) & ((1 << bits) - 1)).astype(np.int64)


DECODE_DOMAIN = "tinykit"
DECODE_FN = "KMeansDecode"


def decode_function():
    """ONNX local function: (packed, codebook, shape, bits, per_row) -> decoded weight.

    Element i's index is bits [i*b, i*b+b) of the little-endian stream; rows of ``per_row``
    elements use their own slice of 2^b centroids (per_row = all elements: one codebook).
    One definition shared by every layer keeps the file small; onnxruntime inlines it and
    folds the whole decode into a constant when the session loads.
    """
    from onnx import TensorProto, helper

    def const(name, value, dtype):
        return helper.make_node(
            "Constant", [], [name], value=helper.make_tensor(name, dtype, [], [value])
        )

    n = helper.make_node
    nodes = [
        const("zero", 0, TensorProto.INT64),
        const("one", 1, TensorProto.INT64),
        const("eight", 8, TensorProto.INT64),
        const("one32", 1, TensorProto.UINT32),
        const("sh8", 8, TensorProto.UINT32),
        n("ReduceProd", ["shape"], ["count"], keepdims=0),
        n("Range", ["zero", "count", "one"], ["i"]),
        n("Mul", ["i", "bits"], ["bit"]),
        n("Div", ["bit", "eight"], ["byte"]),
        n("Mod", ["bit", "eight"], ["off"]),
        n("Add", ["byte", "one"], ["byte1"]),
        n("Cast", ["packed"], ["p32"], to=TensorProto.UINT32),
        n("Gather", ["p32", "byte"], ["lo"]),
        n("Gather", ["p32", "byte1"], ["hi"]),
        n("BitShift", ["hi", "sh8"], ["hi8"], direction="LEFT"),
        n("BitwiseOr", ["lo", "hi8"], ["word"]),
        n("Cast", ["off"], ["off32"], to=TensorProto.UINT32),
        n("BitShift", ["word", "off32"], ["shifted"], direction="RIGHT"),
        n("Cast", ["bits"], ["bits32"], to=TensorProto.UINT32),
        n("BitShift", ["one32", "bits32"], ["k32"], direction="LEFT"),
        n("Sub", ["k32", "one32"], ["mask"]),
        n("BitwiseAnd", ["shifted", "mask"], ["idx32"]),
        n("Cast", ["idx32"], ["idx"], to=TensorProto.INT64),
        n("Cast", ["k32"], ["k"], to=TensorProto.INT64),
        n("Div", ["i", "per_row"], ["row"]),
        n("Mul", ["row", "k"], ["rowoff"]),
        n("Add", ["idx", "rowoff"], ["flat_idx"]),
        n("Gather", ["codebook", "flat_idx"], ["flat"]),
        n("Reshape", ["flat", "shape"], ["weight"]),
    ]
    return helper.make_function(
        DECODE_DOMAIN,
        DECODE_FN,
        ["packed", "codebook", "shape", "bits", "per_row"],
        ["weight"],
        nodes,
        [helper.make_opsetid("", OPSET)],
    )


def _find_initializer(graph, value: np.ndarray, preferred: str):
    from onnx import numpy_helper

    by_name = {i.name: i for i in graph.initializer}
    if preferred in by_name and np.array_equal(numpy_helper.to_array(by_name[preferred]), value):
        return by_name[preferred]
    for init in graph.initializer:
        if tuple(init.dims) == value.shape and np.array_equal(numpy_helper.to_array(init), value):
            return init
    return None


def splice_kmeans(onnx_path: Path, model, books: dict[str, Any]) -> None:
    """Replace the fp32 weights of k-means layers by packed indices + codebook + decode call."""
    import onnx
    from onnx import helper, numpy_helper

    proto = onnx.load(str(onnx_path))
    g = proto.graph
    for j, (name, book) in enumerate(books.items()):
        w = book.decode().numpy().astype(np.float32)
        init = _find_initializer(g, w, f"{name}.weight")
        if init is None:
            raise TinykitError(f"internal: weight of '{name}' not found in the ONNX graph")
        target = init.name
        g.initializer.remove(init)
        labels = book.labels.numpy()
        per_row = int(np.prod(labels.shape[1:])) if book.per_channel else labels.size
        p = f"kq{j}"
        g.initializer.extend(
            [
                numpy_helper.from_array(pack_indices(labels, book.bits), f"{p}.p"),
                numpy_helper.from_array(
                    book.centroids.numpy().astype(np.float32).ravel(), f"{p}.c"
                ),
                numpy_helper.from_array(np.array(labels.shape, dtype=np.int64), f"{p}.s"),
                numpy_helper.from_array(np.array(book.bits, dtype=np.int64), f"{p}.b"),
                numpy_helper.from_array(np.array(per_row, dtype=np.int64), f"{p}.r"),
            ]
        )
        g.node.insert(
            0,
            helper.make_node(
                DECODE_FN,
                [f"{p}.p", f"{p}.c", f"{p}.s", f"{p}.b", f"{p}.r"],
                [target],
                domain=DECODE_DOMAIN,
            ),
        )
    proto.functions.append(decode_function())
    proto.opset_import.append(helper.make_opsetid(DECODE_DOMAIN, 1))
    onnx.checker.check_model(proto)
    onnx.save(proto, str(onnx_path))


def splice_weight_int8(onnx_path: Path, quants: dict[str, Any]) -> None:
    """Store linear-quantized weights as int8 + per-channel scale behind DequantizeLinear."""
    import onnx
    from onnx import helper, numpy_helper

    proto = onnx.load(str(onnx_path))
    g = proto.graph
    for name, wq in quants.items():
        w = wq.decode().numpy().astype(np.float32)
        init = _find_initializer(g, w, f"{name}.weight")
        if init is None:
            raise TinykitError(f"internal: weight of '{name}' not found in the ONNX graph")
        target = init.name
        g.initializer.remove(init)
        q = numpy_helper.from_array(wq.q.numpy().astype(np.int8), f"{target}/q")
        s = numpy_helper.from_array(wq.scale.numpy().astype(np.float32), f"{target}/scale")
        z = numpy_helper.from_array(np.zeros(len(wq.scale), dtype=np.int8), f"{target}/zero_point")
        g.initializer.extend([q, s, z])
        g.node.insert(
            0, helper.make_node("DequantizeLinear", [q.name, s.name, z.name], [target], axis=0)
        )
    onnx.checker.check_model(proto)
    onnx.save(proto, str(onnx_path))


def export_onnx(
    model, spec, path: str | os.PathLike[str], *, precision: str = "fp32", encoding: Any = None
) -> Artifact:
    """Write ``model`` to ``path`` (atomically); ``encoding`` holds k-means codebooks or int8
    weights for the matching precision."""
    path = Path(path)
    with atomic_path(path) as tmp:
        torch_to_onnx(model, spec, tmp)
        if precision == "kmeans":
            splice_kmeans(tmp, model, encoding)
        elif precision == "int8-weights":
            splice_weight_int8(tmp, encoding)
    return Artifact(path, "onnx", precision)

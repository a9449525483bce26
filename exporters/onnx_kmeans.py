"""K-means weights inside an ONNX file at their real size.

Each k-means layer's fp32 initializer is replaced by its codebook and its indices packed at n
bits, plus one call of a local function that unpacks and looks them up. A pruned layer whose
zeros make it worth it (sparsity above 1/n) stores a 1-bit mask of its nonzero positions and
the n-bit indices of the nonzeros only: 1 + (1 - s) n bits per weight instead of n. Every input
of the decode is a constant, so onnxruntime inlines the function and folds it into a plain
weight tensor when the session loads; inference runs the ordinary dense kernels.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from tinykit.errors import TinykitError

DOMAIN = "tinykit"
DENSE_FN, SPARSE_FN = "KMeansDecode", "KMeansDecodeSparse"


def pack_indices(labels: np.ndarray, bits: int) -> np.ndarray:
    """Pack integers < 2^bits into a little-endian bit stream (uint8), plus one pad byte."""
    lab = np.asarray(labels, dtype=np.uint8).ravel()
    bitmat = ((lab[:, None] >> np.arange(bits, dtype=np.uint8)) & 1).astype(np.uint8)
    packed = np.packbits(bitmat.ravel(), bitorder="little")
    return np.concatenate([packed, np.zeros(1, dtype=np.uint8)])


def unpack_indices(packed: np.ndarray, n: int, bits: int) -> np.ndarray:
    """Inverse of :func:`pack_indices` (the numpy twin of the ONNX unpack nodes)."""
    i = np.arange(n, dtype=np.int64) * bits
    byte, off = i // 8, i % 8
    word = packed[byte].astype(np.uint32) | (packed[byte + 1].astype(np.uint32) << 8)
    return ((word >> off.astype(np.uint32)) & ((1 << bits) - 1)).astype(np.int64)


def _unpack_nodes(p: str, packed: str, index: str, bits: str) -> list:
    """Nodes giving ``{p}val`` (int64): element ``index`` of the ``bits``-wide stream."""
    from onnx import TensorProto, helper

    n = helper.make_node
    return [
        n("Mul", [index, bits], [f"{p}bit"]),
        n("Div", [f"{p}bit", "eight"], [f"{p}byte"]),
        n("Mod", [f"{p}bit", "eight"], [f"{p}off"]),
        n("Add", [f"{p}byte", "one"], [f"{p}byte1"]),
        n("Cast", [packed], [f"{p}p32"], to=TensorProto.UINT32),
        n("Gather", [f"{p}p32", f"{p}byte"], [f"{p}lo"]),
        n("Gather", [f"{p}p32", f"{p}byte1"], [f"{p}hi"]),
        n("BitShift", [f"{p}hi", "sh8"], [f"{p}hi8"], direction="LEFT"),
        n("BitwiseOr", [f"{p}lo", f"{p}hi8"], [f"{p}word"]),
        n("Cast", [f"{p}off"], [f"{p}off32"], to=TensorProto.UINT32),
        n("BitShift", [f"{p}word", f"{p}off32"], [f"{p}shifted"], direction="RIGHT"),
        n("Cast", [bits], [f"{p}bits32"], to=TensorProto.UINT32),
        n("BitShift", ["one32", f"{p}bits32"], [f"{p}k32"], direction="LEFT"),
        n("Sub", [f"{p}k32", "one32"], [f"{p}mask"]),
        n("BitwiseAnd", [f"{p}shifted", f"{p}mask"], [f"{p}v32"]),
        n("Cast", [f"{p}v32"], [f"{p}val"], to=TensorProto.INT64),
    ]


def _constants() -> list:
    from onnx import TensorProto, helper

    def const(name, value, dtype):
        return helper.make_node(
            "Constant", [], [name], value=helper.make_tensor(name, dtype, [], [value])
        )

    return [
        const("zero", 0, TensorProto.INT64),
        const("one", 1, TensorProto.INT64),
        const("eight", 8, TensorProto.INT64),
        const("one32", 1, TensorProto.UINT32),
        const("sh8", 8, TensorProto.UINT32),
        const("zerof", 0.0, TensorProto.FLOAT),
    ]


def _lookup_tail(labels: str) -> list:
    """Codebook lookup (rows of ``per_row`` elements use their own 2^bits slice), reshape, and
    the per-output-channel factor."""
    from onnx import TensorProto, helper

    n = helper.make_node
    return [
        n("Cast", ["bits"], ["kbits32"], to=TensorProto.UINT32),
        n("BitShift", ["one32", "kbits32"], ["k32"], direction="LEFT"),
        n("Cast", ["k32"], ["k"], to=TensorProto.INT64),
        n("Div", ["i", "per_row"], ["row"]),
        n("Mul", ["row", "k"], ["rowoff"]),
        n("Add", [labels, "rowoff"], ["flat_idx"]),
        n("Gather", ["codebook", "flat_idx"], ["flat"]),
    ]


def decode_functions():
    """The two local functions (dense and sparse), defined once per file."""
    from onnx import helper

    n = helper.make_node
    head = [
        *_constants(),
        n("ReduceProd", ["shape"], ["count"], keepdims=0),
        n("Range", ["zero", "count", "one"], ["i"]),
    ]
    dense = [
        *head,
        *_unpack_nodes("v_", "packed", "i", "bits"),
        *_lookup_tail("v_val"),
        n("Reshape", ["flat", "shape"], ["decoded"]),
        n("Mul", ["decoded", "channel_scale"], ["weight"]),
    ]
    sparse = [
        *head,
        *_unpack_nodes("m_", "mask", "i", "one"),
        n("ReduceSum", ["m_val"], ["nnz"], keepdims=0),
        n("Range", ["zero", "nnz", "one"], ["j"]),
        *_unpack_nodes("v_", "packed", "j", "bits"),
        n("CumSum", ["m_val", "zero"], ["csum"]),
        n("Sub", ["csum", "one"], ["pos0"]),
        n("Max", ["pos0", "zero"], ["pos"]),
        n("Gather", ["v_val", "pos"], ["lab"]),
        *_lookup_tail("lab"),
        n("Cast", ["m_val"], ["keep"], to=9),  # bool
        n("Where", ["keep", "flat", "zerof"], ["masked"]),
        n("Reshape", ["masked", "shape"], ["decoded"]),
        n("Mul", ["decoded", "channel_scale"], ["weight"]),
    ]
    opset = [helper.make_opsetid("", 20)]
    common = ["codebook", "shape", "bits", "per_row", "channel_scale"]
    return [
        helper.make_function(DOMAIN, DENSE_FN, ["packed", *common], ["weight"], dense, opset),
        helper.make_function(
            DOMAIN, SPARSE_FN, ["mask", "packed", *common], ["weight"], sparse, opset
        ),
    ]


def _find_scaled_initializer(graph, w: np.ndarray, preferred: str):
    """The initializer equal to ``w`` times a per-output-channel factor (torch's exporter folds
    a following batch norm into the weight), and that factor."""
    from onnx import numpy_helper

    flat = w.reshape(w.shape[0], -1).astype(np.float64)
    den = (flat * flat).sum(1)
    for init in sorted(graph.initializer, key=lambda i: i.name != preferred):
        if tuple(init.dims) != w.shape or init.data_type != 1:
            continue
        v = numpy_helper.to_array(init).reshape(w.shape[0], -1).astype(np.float64)
        factor = np.where(den > 0, (flat * v).sum(1) / np.maximum(den, 1e-300), 1.0)
        if np.allclose(flat * factor[:, None], v, rtol=1e-5, atol=1e-7):
            return init, factor.astype(np.float32)
    return None, None


def encode_layer(book) -> tuple[str, dict[str, np.ndarray]]:
    """Which decode function a layer uses and the arrays it stores (mask only when smaller)."""
    labels = book.labels.numpy()
    flat = labels.ravel()
    arrays = {
        "codebook": book.centroids.numpy().astype(np.float32).ravel(),
        "shape": np.array(labels.shape, dtype=np.int64),
        "bits": np.array(book.bits, dtype=np.int64),
        "per_row": np.array(
            int(np.prod(labels.shape[1:])) if book.per_channel else labels.size, dtype=np.int64
        ),
    }
    if book.zero_index is not None:
        keep = flat != book.zero_index
        nnz = int(keep.sum())
        if 0 < nnz and 1 + book.bits * nnz / flat.size < book.bits:
            arrays["mask"] = pack_indices(keep.astype(np.uint8), 1)
            arrays["packed"] = pack_indices(flat[keep], book.bits)
            return SPARSE_FN, arrays
    arrays["packed"] = pack_indices(flat, book.bits)
    return DENSE_FN, arrays


def splice_kmeans(onnx_path: Path, books: dict[str, Any]) -> dict[str, str]:
    """Re-encode the k-means layers of an exported file in place; returns layer -> encoding."""
    import onnx
    from onnx import helper, numpy_helper

    proto = onnx.load(str(onnx_path))
    g = proto.graph
    used = {}
    for j, (name, book) in enumerate(books.items()):
        w = book.decode().numpy().astype(np.float32)
        init, factor = _find_scaled_initializer(g, w, f"{name}.weight")
        if init is None:
            raise TinykitError(f"internal: weight of '{name}' not found in the ONNX graph")
        g.initializer.remove(init)
        fn, arrays = encode_layer(book)
        arrays["channel_scale"] = factor.reshape((-1,) + (1,) * (w.ndim - 1))
        order = (["mask"] if fn == SPARSE_FN else []) + [
            "packed",
            "codebook",
            "shape",
            "bits",
            "per_row",
            "channel_scale",
        ]
        g.initializer.extend(
            numpy_helper.from_array(arrays[k], f"kq{j}.{k[0]}{k[-1]}") for k in order
        )
        g.node.insert(
            0,
            helper.make_node(
                fn, [f"kq{j}.{k[0]}{k[-1]}" for k in order], [init.name], domain=DOMAIN
            ),
        )
        used[name] = "sparse" if fn == SPARSE_FN else "dense"
    needed = {DENSE_FN if kind == "dense" else SPARSE_FN for kind in used.values()}
    proto.functions.extend(f for f in decode_functions() if f.name in needed)
    proto.opset_import.append(helper.make_opsetid(DOMAIN, 1))
    onnx.checker.check_model(proto)
    onnx.save(proto, str(onnx_path))
    return used

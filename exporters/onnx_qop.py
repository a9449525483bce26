"""Int8 ONNX written directly from the QGraph, in onnxruntime's operator format.

Every op is an int8 kernel with tinykit's scales as its attributes' inputs: QLinearConv
(per-channel int8 weights, int32 bias), QGemm, QLinearAdd, QLinearGlobalAveragePool, MaxPool
and Flatten on int8 tensors. Activations stay signed int8 from the input's QuantizeLinear to
the output's DequantizeLinear: nothing depends on an optimizer recognising patterns, and no
u8 x s8 path (which saturates on CPUs without VNNI) is asked for.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tinykit.errors import TinykitError
from tinykit.quant.qgraph import QGraph

MS = "com.microsoft"


def build_qop_model(g: QGraph, spec, *, int8_io: bool = False, unsigned: bool = False):
    """An onnx ModelProto computing the QGraph with int8 kernels.

    ``unsigned`` stores every activation as uint8 (same scale, zero point + 128: the same real
    numbers, exactly), which selects onnxruntime's fast u8 x s8 kernels on x86.
    """
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    if g.float_ops:
        raise TinykitError(
            "operator-format int8 ONNX needs every op quantized; left in float: "
            + ", ".join(g.float_ops)
        )
    inits, nodes = [], []

    def const(name: str, arr) -> str:
        inits.append(numpy_helper.from_array(np.asarray(arr), name))
        return name

    shift = 128 if unsigned else 0
    act_np = np.uint8 if unsigned else np.int8
    act_tp = TensorProto.UINT8 if unsigned else TensorProto.INT8

    def qp(tensor: str, q) -> tuple[str, str]:
        return (
            const(f"{tensor}.scale", np.float32(q.scale)),
            const(f"{tensor}.zp", act_np(q.zero_point + shift)),
        )

    names = {}  # QNode name -> int8 tensor name
    inp = g.input
    in_dtype = act_tp if int8_io else TensorProto.FLOAT
    graph_in = helper.make_tensor_value_info(spec.name, in_dtype, list(spec.shape))
    if int8_io:
        names[inp.name] = spec.name
    else:
        s, z = qp("input_q", inp.out)
        nodes.append(helper.make_node("QuantizeLinear", [spec.name, s, z], ["input_q"]))
        names[inp.name] = "input_q"
    for n in g.nodes[1:]:
        out = n.name
        ins = [names[i] for i in n.inputs]
        src = [g.node(i).out for i in n.inputs]
        if n.kind in ("conv", "linear"):
            xs, xz = qp(f"{out}.x", src[0])
            ys, yz = qp(out, n.out)
            w = const(f"{out}.w", n.weight_q)
            ws = const(f"{out}.w_scale", n.weight_scale.astype(np.float32))
            wz = const(f"{out}.w_zp", np.zeros(len(n.weight_scale), np.int8))
            b = const(f"{out}.b", n.bias_q.astype(np.int32))
            if n.kind == "conv":
                a = n.attrs
                kh, kw = n.weight_q.shape[2:]
                nodes.append(
                    helper.make_node(
                        "QLinearConv",
                        [ins[0], xs, xz, w, ws, wz, ys, yz, b],
                        [out],
                        strides=list(a["stride"]),
                        dilations=list(a["dilation"]),
                        group=a["groups"],
                        kernel_shape=[kh, kw],
                        pads=[a["padding"][0], a["padding"][1]] * 2,
                    )
                )
            else:
                nodes.append(
                    helper.make_node(
                        "QGemm",
                        [ins[0], xs, xz, w, ws, wz, b, ys, yz],
                        [out],
                        domain=MS,
                        transB=1,
                    )
                )
        elif n.kind == "add":
            (as_, az), (bs, bz) = qp(f"{out}.a", src[0]), qp(f"{out}.b", src[1])
            ys, yz = qp(out, n.out)
            nodes.append(
                helper.make_node(
                    "QLinearAdd", [ins[0], as_, az, ins[1], bs, bz, ys, yz], [out], domain=MS
                )
            )
        elif n.kind == "gap":
            xs, xz = qp(f"{out}.x", src[0])
            ys, yz = qp(out, n.out)
            nodes.append(
                helper.make_node(
                    "QLinearGlobalAveragePool",
                    [ins[0], xs, xz, ys, yz],
                    [out],
                    domain=MS,
                    channels_last=0,
                )
            )
        elif n.kind == "maxpool":
            a = n.attrs
            nodes.append(
                helper.make_node(
                    "MaxPool",
                    [ins[0]],
                    [out],
                    kernel_shape=list(a["kernel"]),
                    strides=list(a["stride"]),
                    pads=list(a["padding"]) * 2,
                    ceil_mode=int(a["ceil_mode"]),
                )
            )
        elif n.kind == "reshape":
            shape = const(f"{out}.shape", np.array([1, *n.out_shape], dtype=np.int64))
            nodes.append(helper.make_node("Reshape", [ins[0], shape], [out]))
        elif n.kind == "relu":
            lo = const(f"{out}.lo", act_np(n.out.zero_point + shift))
            if n.act == "relu6":
                hi = const(f"{out}.hi", act_np(int(n.out.quantize(6.0)) + shift))
                nodes.append(helper.make_node("Clip", [ins[0], lo, hi], [out]))
            else:
                nodes.append(helper.make_node("Clip", [ins[0], lo], [out]))
        else:
            raise TinykitError(f"internal: no int8 ONNX op for '{n.kind}' ({n.name})")
        names[n.name] = out
    final = names[g.output]
    out_q = g.node(g.output).out
    n_out = int(np.prod(g.node(g.output).out_shape))
    if int8_io:
        nodes.append(helper.make_node("Identity", [final], ["logits"]))
        graph_out = helper.make_tensor_value_info("logits", act_tp, [1, n_out])
    else:
        s, z = qp("logits_q", out_q)
        nodes.append(helper.make_node("DequantizeLinear", [final, s, z], ["logits"]))
        graph_out = helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, n_out])
    graph = helper.make_graph(nodes, "tinykit_int8", [graph_in], [graph_out], inits)
    model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", 20), helper.make_opsetid(MS, 1)],
        producer_name="tinykit",
    )
    model.ir_version = 10
    onnx.checker.check_model(model)
    return model


def export_onnx_qop(
    g: QGraph, spec, path: str | Path, *, int8_io: bool = False, unsigned: bool = False
):
    import onnx

    from tinykit.exporters.artifact import Artifact
    from tinykit.fileio import atomic_path

    path = Path(path)
    model = build_qop_model(g, spec, int8_io=int8_io, unsigned=unsigned)
    with atomic_path(path) as tmp:
        onnx.save(model, str(tmp))
    return Artifact(path, "onnx", "int8", metadata={"io": "int8" if int8_io else "float"})

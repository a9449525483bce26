"""The ONNX MAC counter on hand-built graphs (hand-computed figures) and on a real export."""

from __future__ import annotations

import numpy as np
import pytest
from onnx import TensorProto, helper, numpy_helper

from tinykit.bench.onnx_macs import count_onnx_macs
from tinykit.errors import TinykitError


def _model(nodes, inputs, outputs, inits=()):
    g = helper.make_graph(nodes, "g", inputs, outputs, list(inits))
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])


def _vi(name, shape):
    return helper.make_tensor_value_info(name, TensorProto.FLOAT, shape)


def test_grouped_conv_gemm_matmul_convtranspose():
    rng = np.random.default_rng(0)
    w = rng.standard_normal((8, 2, 3, 3)).astype(np.float32)  # 8 out, 4 in, group 2
    w[:, :, 0, :] = 0  # a third of the conv weights are zero
    wt = rng.standard_normal((8, 3, 2, 2)).astype(np.float32)  # ConvTranspose: 8 in, 3 out
    b = rng.standard_normal((10, 8 * 8 * 8)).astype(np.float32)
    m2 = rng.standard_normal((3, 5, 6)).astype(np.float32)
    nodes = [
        helper.make_node("Conv", ["x", "w"], ["c"], group=2, pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c"], ["r"]),
        helper.make_node("ConvTranspose", ["r", "wt"], ["t"], strides=[2, 2]),
        helper.make_node("Flatten", ["r"], ["f"]),
        helper.make_node("Gemm", ["f", "b"], ["y"], transB=1),
        helper.make_node("MatMul", ["a", "m2"], ["z"]),
    ]
    model = _model(
        nodes,
        [_vi("x", [1, 4, 8, 8]), _vi("a", [2, 1, 4, 5])],
        [_vi("y", [1, 10]), _vi("t", [1, 3, 16, 16]), _vi("z", [2, 3, 4, 6])],
        [
            numpy_helper.from_array(w, "w"),
            numpy_helper.from_array(wt, "wt"),
            numpy_helper.from_array(b, "b"),
            numpy_helper.from_array(m2, "m2"),
        ],
    )
    c = count_onnx_macs(model)
    conv = 8 * 8 * 8 * (2 * 3 * 3)  # outputs * (C_in/group * kh * kw) = 9,216
    convt = 8 * 8 * 8 * (3 * 2 * 2)  # inputs * (C_out/group * kh * kw) = 6,144
    gemm = 10 * 512  # outputs * K = 5,120
    matmul = (2 * 3 * 4 * 6) * 5  # broadcast batch 2x3, M=4, N=6, K=5 = 720
    by_op = {n.op: n.macs for n in c.per_node if n.macs}
    assert by_op == {"Conv": conv, "ConvTranspose": convt, "Gemm": gemm, "MatMul": matmul}
    assert c.macs == conv + convt + gemm + matmul
    assert c.effective_macs == c.macs - conv // 3
    conv_node = next(n for n in c.per_node if n.op == "Conv")
    assert conv_node.bytes == 4 * (4 * 64 + w.size + 8 * 64)  # x + w read, c written, fp32
    assert c.uncounted == []


def test_constant_subgraph_is_folded_not_charged():
    """A weight computed from constants (as tinykit's k-means decode is) costs no run time, but
    the convolution it feeds is still counted."""
    w = np.ones((2, 1, 1, 1), np.float32)
    nodes = [
        helper.make_node("Mul", ["w0", "s"], ["w"]),
        helper.make_node("Conv", ["x", "w"], ["y"]),
    ]
    model = _model(
        nodes,
        [_vi("x", [1, 1, 4, 4])],
        [_vi("y", [1, 2, 4, 4])],
        [numpy_helper.from_array(w, "w0"), numpy_helper.from_array(np.float32(2.0), "s")],
    )
    c = count_onnx_macs(model)
    assert [n.op for n in c.per_node] == ["Conv"]
    assert c.macs == 2 * 16 * 1


def test_unknown_recurrent_op_is_reported_not_dropped(tmp_path):
    nodes = [helper.make_node("LSTM", ["x", "w", "r"], ["y"], hidden_size=4)]
    model = _model(
        nodes,
        [_vi("x", [3, 1, 2])],
        [_vi("y", [3, 1, 1, 4])],
        [
            numpy_helper.from_array(np.zeros((1, 16, 2), np.float32), "w"),
            numpy_helper.from_array(np.zeros((1, 16, 4), np.float32), "r"),
        ],
    )
    c = count_onnx_macs(model)
    assert c.macs == 0 and len(c.uncounted) == 1 and "LSTM" in c.uncounted[0]
    # and an estimate built on the short count says so
    import onnx

    from tinykit.bench.estimate import estimate
    from tinykit.boards import load_board

    onnx.save(model, tmp_path / "lstm.onnx")
    (w,) = estimate(tmp_path / "lstm.onnx", load_board("rpi5"))["warnings"]
    assert w.startswith("1 node(s) not counted (") and "LSTM" in w and "too low" in w


def test_not_an_onnx_file(tmp_path):
    p = tmp_path / "notes.onnx"
    p.write_text("hello, this is not a protobuf\n" * 10)
    with pytest.raises(TinykitError, match="not an ONNX model"):
        count_onnx_macs(p)


@pytest.mark.slow
def test_exported_cifar_resnet18_agrees_with_torch(tmp_path):
    import torch

    from tinykit.bench.macs import count_macs
    from tinykit.exporters.onnx import torch_to_onnx
    from tinykit.models import build_model
    from tinykit.spec import InputSpec

    torch.manual_seed(0)
    model = build_model("cifar_resnet18", num_classes=10, in_channels=3).eval()
    spec = InputSpec.from_dict(
        {"name": "input", "shape": [1, 3, 32, 32], "labels": [str(i) for i in range(10)]}
    )
    path = tmp_path / "r18.onnx"
    torch_to_onnx(model, spec, path)
    onnx_count = count_onnx_macs(path)
    torch_count = count_macs(model, torch.zeros(1, 3, 32, 32))
    assert onnx_count.macs == torch_count.macs  # 555,422,720 for the CIFAR stem
    assert onnx_count.uncounted == []


def test_onnxruntime_int8_graph_is_counted_through_contrib_ops(tmp_path, artifacts):
    """onnx cannot infer shapes past com.microsoft ops (QLinearAdd, QLinearGlobalAveragePool,
    QGemm); the counter reads them off a run, so the int8 graph costs what its fp32 source does."""
    import onnx
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, quantize_static

    class Reader(CalibrationDataReader):
        def __init__(self):
            rng = np.random.default_rng(0)
            self.batches = iter(
                [{"input": rng.random((1, 1, 32, 32), dtype=np.float32)} for _ in range(4)]
            )

        def get_next(self):
            return next(self.batches, None)

    q = tmp_path / "q.onnx"
    quantize_static(str(artifacts["onnx"]), str(q), Reader(), quant_format=QuantFormat.QOperator)
    ops = {n.op_type for n in onnx.load(str(q)).graph.node}
    assert {"QLinearConv", "QLinearAdd", "QGemm"} <= ops
    fp32, int8 = count_onnx_macs(artifacts["onnx"]), count_onnx_macs(q)
    assert int8.uncounted == []
    assert int8.macs == fp32.macs == 12_206_720
    assert int8.precision == "int8"

"""Linear int8: numbers worked out by hand, fusion, and the exported files against the
integer-only reference on the whole test split."""

import warnings

import numpy as np
import pytest
import torch
from torch import nn

from tinykit.errors import TinykitError
from tinykit.quant.calibrate import RangeObserver, qparams_from_range
from tinykit.quant.intref import run_int8
from tinykit.quant.linear import calibration_batches, quantize_linear


def test_qparams_by_hand():
    # [-0.5, 2.05]: scale = 2.55 / 255 = 0.01, zero point = round(-128 + 0.5 / 0.01) = -78
    q = qparams_from_range(-0.5, 2.05)
    assert q.scale == pytest.approx(0.01) and q.zero_point == -78
    assert q.quantize(np.array([0.0, -0.5, 2.05, 9.0])).tolist() == [-78, -128, 127, 127]
    # a ReLU output: [0, 2.55] -> zero point -128, so the int8 clamp is the ReLU
    r = qparams_from_range(0.0, 2.55)
    assert r.zero_point == -128 and r.dequantize(r.quantize(np.array([-3.0])))[0] == 0.0
    # the range always contains 0 exactly
    assert qparams_from_range(1.0, 3.0).zero_point == -128


def test_outlier_robust_calibration():
    rng = np.random.default_rng(0)
    obs = RangeObserver()
    obs.observe(np.concatenate([rng.normal(0, 1, 100_000), [80.0]]))
    mm, pc, mse = (obs.qparams(m) for m in ("minmax", "percentile", "mse"))
    assert mm.scale == pytest.approx((80 - obs.lo) / 255, rel=1e-6)
    assert pc.scale < mm.scale / 5  # the one outlier no longer sets the range
    assert mse.scale < mm.scale


@pytest.fixture(scope="module")
def lq(reference_ckpt, digits):
    return quantize_linear(reference_ckpt.build(), digits, progress=False)


def test_fusion_and_int32_bias_by_hand(lq):
    g = lq.graph
    assert not any(n.kind == "relu" for n in g.nodes)  # every ReLU fused into its op's range
    fused = [n for n in g.nodes if n.act == "relu"]
    assert len(fused) == 7 and all(n.out.zero_point == -128 for n in fused)  # 4 convs + 3 adds
    conv = next(n for n in g.nodes if n.module == "stage2.conv1")
    s_in = g.node(conv.inputs[0]).out.scale
    w = lq.float_model.get_submodule("stage2.conv1")
    expect = np.round(w.bias.detach().double().numpy() / (np.float32(s_in) * conv.weight_scale))
    assert np.array_equal(conv.bias_q, expect.astype(np.int32))
    amax = w.weight.detach().abs().flatten(1).amax(1).numpy()
    np.testing.assert_allclose(conv.weight_scale, amax / 127, rtol=1e-6)
    assert np.abs(conv.weight_q).max() == 127


def test_int8_onnx_matches_integer_reference_exactly(tmp_path, lq, digits):
    import onnx
    import onnxruntime as ort

    from tinykit.exporters.onnx_qop import export_onnx_qop

    g = lq.x86_graph
    assert g.weight_bits == 7 and np.abs(g.nodes[1].weight_q).max() <= 63
    art = export_onnx_qop(g, digits.spec, tmp_path / "m.onnx", unsigned=True)
    proto = onnx.load(str(art.path))
    types = {i.name: i.data_type for i in proto.graph.initializer}
    assert all(types[f"{n.name}.w"] == onnx.TensorProto.INT8 for n in g.by_kind("conv"))
    assert all(types[f"{n.name}.b"] == onnx.TensorProto.INT32 for n in g.by_kind("conv"))
    ops = [n.op_type for n in proto.graph.node]
    assert ops.count("QLinearConv") == 9 and ops.count("QLinearAdd") == 3
    assert ops.count("QuantizeLinear") == 1 and ops.count("DequantizeLinear") == 1
    assert not {"Conv", "Gemm", "Add", "Relu", "MatMul"} & set(ops)  # no float compute left
    sess = ort.InferenceSession(str(art.path), providers=["CPUExecutionProvider"])
    x = digits.inputs("test")
    y = np.concatenate([sess.run(None, {"input": x[i : i + 1]})[0] for i in range(len(x))])
    out_q = g.node(g.output).out
    onnx_int = np.round(y / out_q.scale).astype(np.int64) + out_q.zero_point
    ref = run_int8(g, x).astype(np.int64)
    assert (onnx_int == ref).mean() >= 0.99
    assert np.abs(onnx_int - ref).max() <= 1


@pytest.mark.parametrize("int8_io", [True, False])
def test_full_int8_tflite_with_tinykit_scales(tmp_path, lq, digits, int8_io):
    from tinykit.exporters.tflite import export_tflite_int8, tflite_ops

    g = lq.graph
    art = export_tflite_int8(lq.qdq, digits.spec, tmp_path / "m.tflite", int8_io=int8_io)
    ops = tflite_ops(art.path)
    names = [op["op"] for op in ops]
    assert names.count("QUANTIZE") == names.count("DEQUANTIZE") == (0 if int8_io else 1)
    assert names.count("ADD") == 3  # residual adds run in int8 too
    assert names.count("CONV_2D") + names.count("DEPTHWISE_CONV_2D") == 9
    for op in ops:  # every compute op reads and writes int8 (int32 biases)
        if op["op"] not in ("QUANTIZE", "DEQUANTIZE"):
            assert {t["dtype"] for t in op["inputs"] + op["outputs"]} <= {"int8", "int32"}, op
    # the file carries tinykit's scales and zero points, not recomputed ones
    first = next(op for op in ops if op["op"] in ("CONV_2D", "DEPTHWISE_CONV_2D"))
    x_t, w_t = first["inputs"][0], first["inputs"][1]
    assert np.float32(x_t["scale"][0]) == np.float32(g.input.out.scale)
    assert x_t["zero_point"] == [g.input.out.zero_point]
    np.testing.assert_array_equal(np.float32(w_t["scale"]), g.nodes[1].weight_scale)
    y_t = first["outputs"][0]
    assert np.float32(y_t["scale"][0]) == np.float32(g.nodes[1].out.scale)
    # outputs against the integer reference: the same int8 values, or one step off on ties
    x = digits.inputs("test")
    if int8_io:
        from tinykit.exporters.artifact import open_runtime

        raw = open_runtime(art.path, raw=True)
        xq = g.input.out.quantize(x)
        tfl = np.concatenate([raw(xq[i : i + 1]) for i in range(len(x))]).astype(np.int64)
    else:
        out_q = g.node(g.output).out
        tfl = np.round(art(x) / out_q.scale).astype(np.int64) + out_q.zero_point
    ref = run_int8(g, x).astype(np.int64)
    assert (tfl == ref).mean() >= 0.99
    assert np.abs(tfl - ref).max() <= 1


def test_depthwise_gets_per_channel_scales_and_relu6_is_fused():
    from tinykit.models import build_model
    from tinykit.quant.qgraph import build_qgraph
    from tinykit.transforms import fold_batchnorm

    torch.manual_seed(0)
    m = build_model("mobilenet_v2", num_classes=10, in_channels=3).eval()
    fold_batchnorm(m)
    g, _ = build_qgraph(m, [torch.randn(4, 3, 64, 64)], progress=False)
    dw = [n for n in g.by_kind("conv") if n.attrs["groups"] > 1]
    assert len(dw) == 17
    assert all(len(n.weight_scale) == n.weight_q.shape[0] == n.attrs["groups"] for n in dw)
    relu6 = [n for n in g.nodes if n.act == "relu6"]
    assert len(relu6) == 35
    assert all(n.out.zero_point == -128 and n.out.scale * 255 <= 6.0 + 1e-6 for n in relu6)
    assert g.float_ops == []


def test_unquantizable_layer_stays_float_with_a_warning(tmp_path):
    from tinykit.exporters.onnx_int8 import export_onnx_int8
    from tinykit.quant.qdq import build_qdq_module
    from tinykit.quant.qgraph import build_qgraph
    from tinykit.spec import InputSpec

    torch.manual_seed(0)
    m = nn.Sequential(nn.Conv2d(1, 4, 3), nn.GELU(), nn.Flatten(), nn.Linear(4 * 36, 3)).eval()
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        g, gm = build_qgraph(m, [torch.randn(8, 1, 8, 8)], progress=False)
    assert g.float_ops == ["1"] and any(
        "left in float" in str(x.message) and "1" in str(x.message) for x in w
    )
    qdq = build_qdq_module(gm, g)
    spec = InputSpec(shape=(1, 1, 8, 8), labels=("a", "b", "c"))
    art = export_onnx_int8(qdq, spec, tmp_path / "m.onnx")
    x = torch.randn(5, 1, 8, 8)
    np.testing.assert_allclose(art(x.numpy()), qdq(x).detach().numpy(), atol=0.05)


def test_qat_module_computes_the_quantized_function(lq, digits):
    from tinykit.quant.qat import qat_module
    from tinykit.quant.qgraph import trace

    gm = trace(lq.float_model)
    qm = qat_module(gm, lq.graph)
    x = torch.from_numpy(digits.inputs("test")[:64])
    a, b = qm(x).detach().numpy(), lq.qdq(x).detach().numpy()
    assert (a.argmax(1) == b.argmax(1)).mean() >= 0.98
    assert np.abs(a - b).max() < 0.5


def test_qat_keeps_pruned_weights_exactly_zero(reference_ckpt, digits):
    from tinykit.prune.fine import prunable_layers, prune_fine

    m = reference_ckpt.build()
    prune_fine(m, 0.6)
    zeros = {n: layer.weight == 0 for n, layer in prunable_layers(m).items()}
    lq = quantize_linear(m, digits, qat_epochs=1, samples=64, progress=False)
    for n, layer in prunable_layers(lq.float_model).items():
        assert torch.equal(layer.weight == 0, zeros[n]), n  # no zero revived, none added
    # and the int8 weights of the file keep them (a zero quantizes to zero)
    conv = next(q for q in lq.graph.nodes if q.module == "stage3.conv2")
    assert (np.asarray(conv.weight_q)[zeros["stage3.conv2"].numpy()] == 0).all()


def test_bad_inputs(reference_ckpt, digits):
    with pytest.raises(TinykitError, match="--bits 2-8"):
        quantize_linear(reference_ckpt.build(), digits, bits=1, progress=False)
    with pytest.raises(TinykitError, match="calibration set is empty"):
        calibration_batches(np.zeros((0, 1, 32, 32), np.float32), samples=10, seed=0)
    with pytest.raises(
        TinykitError, match=r"shape \[3, 32, 32\] but the model takes \[1, 32, 32\]"
    ):
        calibration_batches(
            np.zeros((4, 3, 32, 32), np.float32), samples=10, seed=0, expected_shape=(1, 1, 32, 32)
        )
    with pytest.raises(TinykitError, match="unknown calibration method 'kl'"):
        quantize_linear(reference_ckpt.build(), digits, calibration="kl", progress=False)

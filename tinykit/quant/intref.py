"""Integer-only reference: what an int8 device computes, in plain integer arithmetic.

Accumulators are exact integers (int8 x int8 products summed in float64, exact below 2^53);
requantization follows onnxruntime's CPU kernels: a float32 multiplier
(S_in * S_w / S_out), round half to even, add the zero point, saturate to int8. TFLite's
fixed-point multipliers round the same real number, so the two runtimes and this reference
differ by at most one step, on rare ties.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from tinykit.quant.qgraph import QGraph

f32 = np.float32


def _requant(real_acc: np.ndarray, mult: np.ndarray, zp: int) -> np.ndarray:
    y = np.rint(real_acc.astype(f32) * mult.astype(f32)) + zp
    return np.clip(y, -128, 127).astype(np.int8)


def _conv(x: np.ndarray, n, xq) -> np.ndarray:
    a = n.attrs
    xt = torch.from_numpy(x.astype(np.float64) - xq.zero_point)
    wt = torch.from_numpy(n.weight_q.astype(np.float64))
    acc = F.conv2d(xt, wt, None, a["stride"], a["padding"], a["dilation"], a["groups"]).numpy()
    acc = acc + n.bias_q.astype(np.float64).reshape(1, -1, 1, 1)
    mult = (f32(xq.scale) * n.weight_scale.astype(f32)) / f32(n.out.scale)
    return _requant(acc, mult.reshape(1, -1, 1, 1), n.out.zero_point)


def _linear(x: np.ndarray, n, xq) -> np.ndarray:
    acc = (x.astype(np.float64) - xq.zero_point) @ n.weight_q.astype(np.float64).T
    acc = acc + n.bias_q.astype(np.float64)
    mult = (f32(xq.scale) * n.weight_scale.astype(f32)) / f32(n.out.scale)
    return _requant(acc, mult.reshape(1, -1), n.out.zero_point)


def _add(a: np.ndarray, b: np.ndarray, qa, qb, qy) -> np.ndarray:
    ra = (a.astype(f32) - f32(qa.zero_point)) * (f32(qa.scale) / f32(qy.scale))
    rb = (b.astype(f32) - f32(qb.zero_point)) * (f32(qb.scale) / f32(qy.scale))
    y = np.rint(ra + rb) + qy.zero_point
    return np.clip(y, -128, 127).astype(np.int8)


def _gap(x: np.ndarray, qx, qy) -> np.ndarray:
    n = x.shape[2] * x.shape[3]
    acc = (x.astype(np.int64) - qx.zero_point).sum(axis=(2, 3), keepdims=True)
    mult = np.array(f32(qx.scale) / (f32(qy.scale) * f32(n)))
    return _requant(acc.astype(np.float64), mult, qy.zero_point)


def _maxpool(x: np.ndarray, a) -> np.ndarray:
    t = torch.from_numpy(x.astype(np.float64))
    y = F.max_pool2d(t, a["kernel"], a["stride"], a["padding"], ceil_mode=a["ceil_mode"])
    return y.numpy().astype(np.int8)


def run_int8(g: QGraph, x_float: np.ndarray) -> np.ndarray:
    """Int8 output tensor of the graph for float inputs (quantized with the input's QParams)."""
    vals: dict[str, np.ndarray] = {g.input.name: g.input.out.quantize(x_float)}
    for n in g.nodes[1:]:
        ins = [vals[i] for i in n.inputs]
        qs = [g.node(i).out for i in n.inputs]
        if n.kind == "conv":
            y = _conv(ins[0], n, qs[0])
        elif n.kind == "linear":
            y = _linear(ins[0].reshape(len(ins[0]), -1), n, qs[0])
        elif n.kind == "add":
            y = _add(ins[0], ins[1], qs[0], qs[1], n.out)
        elif n.kind == "gap":
            y = _gap(ins[0], qs[0], n.out)
        elif n.kind == "maxpool":
            y = _maxpool(ins[0], n.attrs)
        elif n.kind == "reshape":
            y = ins[0].reshape(len(ins[0]), *n.out_shape)
        elif n.kind == "relu":
            hi = int(n.out.quantize(6.0)) if n.act == "relu6" else 127
            y = np.clip(ins[0], n.out.zero_point, hi).astype(np.int8)
        else:
            raise NotImplementedError(f"the integer reference has no '{n.kind}' op ({n.name})")
        vals[n.name] = y
    return vals[g.output]


def run_float(g: QGraph, x_float: np.ndarray) -> np.ndarray:
    return g.node(g.output).out.dequantize(run_int8(g, x_float))

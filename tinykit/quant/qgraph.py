"""The quantized graph: one home for every scale and zero point of a linear-int8 model.

Built from a batch-norm-folded float model traced with torch.fx: convolutions and linear
layers (int8 weights per output channel, int32 bias at scale S_in * S_w), residual adds,
global average and max pooling, reshapes. A ReLU or ReLU6 that follows a conv, linear or add
is fused into that op's output range (zero point at -128 clamps negatives to 0), so the
quantized model has no ReLU layer. Ops it cannot quantize stay in float, named in a warning.
The same graph drives PyTorch fake-quant evaluation, the ONNX and TFLite exports, and the
integer reference implementation.
"""

from __future__ import annotations

import operator
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import fx, nn

from tinykit.errors import TinykitError
from tinykit.quant.calibrate import QParams, RangeObserver

WEIGHT_KINDS = ("conv", "linear")
REQUANT_KINDS = ("input", "conv", "linear", "add", "gap", "float")  # own output scale
PASS_KINDS = ("maxpool", "reshape", "identity", "relu")  # output scale = input scale


@dataclass
class QNode:
    """One quantized op. ``out`` names the tensor it produces (after any fused activation)."""

    name: str
    kind: str
    inputs: list[str]
    fx_nodes: list[str]  # the float graph nodes it covers (op, then fused activation)
    module: str | None = None
    act: str | None = None  # fused "relu" / "relu6"
    out: QParams | None = None
    out_shape: tuple[int, ...] | None = None
    weight_q: np.ndarray | None = None  # int8
    weight_scale: np.ndarray | None = None  # float32, per output channel
    bias_q: np.ndarray | None = None  # int32, scale = S_in * S_w
    attrs: dict[str, Any] = field(default_factory=dict)


@dataclass
class QGraph:
    nodes: list[QNode]
    output: str
    weight_bits: int
    float_ops: list[str] = field(default_factory=list)

    def node(self, name: str) -> QNode:
        for n in self.nodes:
            if n.name == name:
                return n
        raise KeyError(name)

    @property
    def input(self) -> QNode:
        return self.nodes[0]

    def by_kind(self, kind: str) -> list[QNode]:
        return [n for n in self.nodes if n.kind == kind]


# --- recognising ops in an fx graph ---------------------------------------------------------

_ADD = {operator.add, operator.iadd, torch.add}
_RELU = {F.relu, torch.relu, torch.nn.functional.relu}


def _classify(node: fx.Node, mods: dict[str, nn.Module]) -> str:
    if node.op == "placeholder":
        return "input"
    if node.op == "output":
        return "output"
    if node.op == "call_module":
        m = mods[node.target]
        if isinstance(m, nn.Conv2d):
            return "conv"
        if isinstance(m, nn.Linear):
            return "linear"
        if isinstance(m, nn.ReLU):
            return "relu"
        if isinstance(m, nn.ReLU6) or (
            isinstance(m, nn.Hardtanh) and m.min_val == 0.0 and m.max_val == 6.0
        ):
            return "relu6"
        if isinstance(m, nn.AdaptiveAvgPool2d) and m.output_size in (1, (1, 1)):
            return "gap"
        if isinstance(m, nn.MaxPool2d):
            return "maxpool"
        if isinstance(m, nn.Flatten):
            return "reshape"
        if isinstance(m, (nn.Identity, nn.Dropout)):
            return "identity"
        return "float"
    if node.op == "call_function":
        f = node.target
        if f in _ADD and sum(isinstance(a, fx.Node) for a in node.args[:2]) == 2:
            return "add"
        if f in _RELU:
            return "relu"
        if f is F.relu6:
            return "relu6"
        if f is F.hardtanh and node.args[1:3] == (0.0, 6.0):
            return "relu6"
        if f is F.adaptive_avg_pool2d and node.args[1] in (1, (1, 1)):
            return "gap"
        if f is torch.flatten:
            return "reshape"
        if f is F.dropout:
            return "identity"
        if f is F.max_pool2d:
            return "maxpool"
        return "float"
    if node.op == "call_method":
        if node.target == "relu":
            return "relu"
        if node.target in ("flatten", "view", "reshape"):
            return "reshape"
        if node.target == "size":
            return "meta"
        if node.target == "add" and isinstance(node.args[1], fx.Node):
            return "add"
        if node.target == "mean" and tuple(node.args[1:2]) in (((2, 3),), ((-2, -1),)):
            return "gap"
        return "float"
    if node.op == "get_attr":
        return "meta"
    return "float"


def _tensor_args(node: fx.Node) -> list[fx.Node]:
    return [
        a
        for a in node.args
        if isinstance(a, fx.Node)
        and a.op != "get_attr"
        and not (a.op == "call_method" and a.target == "size")
    ]


def _pair(v) -> tuple[int, int]:
    return (v, v) if isinstance(v, int) else tuple(v)


def _maxpool_attrs(node: fx.Node, mods) -> dict[str, Any] | None:
    """Kernel, stride, padding of a 2-D max pool; None when it has options int8 cannot mirror."""
    if node.op == "call_module":
        m = mods[node.target]
        k, s, p, d, ceil = m.kernel_size, m.stride, m.padding, m.dilation, m.ceil_mode
    else:
        sig = ["input", "kernel_size", "stride", "padding", "dilation", "ceil_mode"]
        kw = dict(zip(sig, node.args, strict=False)) | dict(node.kwargs)
        k = kw["kernel_size"]
        s, p = kw.get("stride") or k, kw.get("padding", 0)
        d, ceil = kw.get("dilation", 1), kw.get("ceil_mode", False)
    if _pair(d) != (1, 1):
        return None
    return {"kernel": _pair(k), "stride": _pair(s), "padding": _pair(p), "ceil_mode": bool(ceil)}


def trace(model: nn.Module) -> fx.GraphModule:
    """fx trace with no-op nodes (identity, dropout, folded batch norm) removed, so that a
    ReLU sits right after the op it is fused into."""
    try:
        gm = fx.symbolic_trace(model)
    except Exception as e:  # fx raises many types for untraceable Python
        raise TinykitError(
            f"linear quantization needs a traceable model; torch.fx failed on "
            f"{type(model).__name__}: {str(e).splitlines()[0] if str(e) else type(e).__name__}"
        ) from e
    mods = dict(gm.named_modules())
    for n in list(gm.graph.nodes):
        noop = (
            n.op == "call_module" and isinstance(mods[n.target], (nn.Identity, nn.Dropout))
        ) or (n.op == "call_function" and n.target is F.dropout)
        if noop:
            n.replace_all_uses_with(n.args[0])
            gm.graph.erase_node(n)
    gm.graph.lint()
    gm.recompile()
    return gm


def build_structure(gm: fx.GraphModule) -> QGraph:
    """Group fx nodes into quantized ops (with activation fusion), without numbers yet."""
    mods = dict(gm.named_modules())
    kinds = {n.name: _classify(n, mods) for n in gm.graph.nodes}
    produced: dict[str, str] = {}  # fx node name -> name of the QNode tensor holding it
    nodes: list[QNode] = []
    fused: set[str] = set()
    output = None
    for n in gm.graph.nodes:
        k = kinds[n.name]
        if n.name in fused or k == "meta":
            continue
        if k == "output":
            arg = n.args[0]
            if not isinstance(arg, fx.Node):
                raise TinykitError("linear quantization supports models with one tensor output")
            output = produced[arg.name]
            continue
        ins = [produced[a.name] for a in _tensor_args(n) if a.name in produced]
        qn = QNode(
            name=n.name,
            kind=k,
            inputs=ins,
            fx_nodes=[n.name],
            module=n.target if n.op == "call_module" else None,
        )
        if k in ("relu", "relu6"):
            qn.kind, qn.act = "relu", k
        if k in ("conv", "linear", "add") and len(n.users) == 1:
            (user,) = n.users
            if kinds[user.name] in ("relu", "relu6"):
                qn.act = kinds[user.name]
                qn.fx_nodes.append(user.name)
                fused.add(user.name)
                produced[user.name] = qn.name
        if k == "maxpool":
            qn.attrs = _maxpool_attrs(n, mods)
            if qn.attrs is None:
                qn.kind = "float"
        if k == "input" and nodes:
            raise TinykitError("linear quantization supports models with one input")
        produced[n.name] = qn.name
        nodes.append(qn)
    if output is None:
        raise TinykitError("the traced model has no output")
    floats = [n.module or n.fx_nodes[0] for n in nodes if n.kind == "float"]
    return QGraph(nodes=nodes, output=output, weight_bits=8, float_ops=floats)


# --- calibration and weights ---------------------------------------------------------------


def _last_fx(qn: QNode) -> str:
    return qn.fx_nodes[-1]


@torch.no_grad()
def calibrate(
    gm: fx.GraphModule, g: QGraph, batches, *, method: str = "minmax", progress: bool = True
) -> None:
    """Observe every requantizing op's output over ``batches`` and set its QParams."""
    from tinykit.progress import progress_bar

    watch = {_last_fx(n): n for n in g.nodes if n.kind in REQUANT_KINDS}
    obs = {name: RangeObserver(seed=i) for i, name in enumerate(watch)}
    shapes: dict[str, tuple[int, ...]] = {}

    class Recorder(fx.Interpreter):
        def run_node(self, node):
            out = super().run_node(node)
            if isinstance(out, torch.Tensor):
                shapes[node.name] = tuple(out.shape[1:])
                if node.name in obs:
                    obs[node.name].observe(out.detach().numpy())
            return out

    rec = Recorder(gm)
    seen = 0
    for xb in progress_bar(batches, desc=f"calibrate ({method})", enabled=progress):
        rec.run(xb)
        seen += len(xb)
    if seen == 0:
        raise TinykitError("the calibration set is empty: give at least one batch of inputs")
    for n in g.nodes:
        n.out_shape = shapes.get(_last_fx(n))
        if n.kind in REQUANT_KINDS:
            lo_cap = 0.0 if n.act in ("relu", "relu6") else None
            hi_cap = 6.0 if n.act == "relu6" else None
            n.out = obs[_last_fx(n)].qparams(method, lo_cap=lo_cap, hi_cap=hi_cap)
    by_name = {n.name: n for n in g.nodes}
    for n in g.nodes:  # pass-through ops share their input's parameters
        if n.kind in PASS_KINDS:
            n.out = by_name[n.inputs[0]].out


def quantize_weights(gm: fx.GraphModule, g: QGraph, bits: int) -> None:
    """Symmetric per-output-channel int weights (Z = 0) and int32 bias at S_in * S_w."""
    if not 2 <= bits <= 8:
        raise TinykitError(f"linear quantization needs --bits 2-8, got {bits}")
    g.weight_bits = bits
    qmax = 2 ** (bits - 1) - 1
    by_name = {n.name: n for n in g.nodes}
    for n in g.nodes:
        if n.kind not in WEIGHT_KINDS:
            continue
        m = gm.get_submodule(n.module)
        w = m.weight.detach().double().numpy()
        amax = np.abs(w.reshape(w.shape[0], -1)).max(axis=1)
        scale = np.where(amax > 0, amax / qmax, 1.0).astype(np.float32)
        shape = (-1,) + (1,) * (w.ndim - 1)
        n.weight_q = np.clip(np.round(w / scale.reshape(shape)), -qmax, qmax).astype(np.int8)
        n.weight_scale = scale
        s_in = by_name[n.inputs[0]].out.scale
        bias = m.bias.detach().double().numpy() if m.bias is not None else np.zeros(w.shape[0])
        bscale = np.float64(np.float32(s_in)) * scale.astype(np.float64)
        n.bias_q = np.clip(np.round(bias / bscale), -(2**31), 2**31 - 1).astype(np.int32)
        if isinstance(m, nn.Conv2d):
            if m.padding_mode != "zeros" or isinstance(m.padding, str):
                raise TinykitError(f"{n.module}: only zero, explicit padding can be quantized")
            n.attrs = {
                "stride": tuple(m.stride),
                "padding": tuple(m.padding),
                "dilation": tuple(m.dilation),
                "groups": m.groups,
            }


def build_qgraph(
    model: nn.Module, batches, *, bits: int = 8, method: str = "minmax", progress: bool = True
) -> tuple[QGraph, fx.GraphModule]:
    """Trace, fuse, calibrate on ``batches`` (float tensors) and quantize ``model``'s weights."""
    gm = trace(model.eval())
    g = build_structure(gm)
    if g.float_ops:
        warnings.warn(
            "left in float (no int8 kernel in tinykit): " + ", ".join(g.float_ops), stacklevel=2
        )
    calibrate(gm, g, batches, method=method, progress=progress)
    quantize_weights(gm, g, bits)
    return g, gm

"""A PyTorch module with explicit quantize/dequantize steps carrying the QGraph's numbers.

Evaluated in PyTorch it computes what the int8 device computes (up to rounding of the
requantization); exported, it is the QDQ graph that LiteRT's converter and onnxruntime turn
into int8 kernels, with tinykit's scales and zero points and no others.
"""

from __future__ import annotations

import copy

import numpy as np
import torch
import torch.nn.functional as F
from torch import fx

from tinykit.quant.qgraph import PASS_KINDS, REQUANT_KINDS, QGraph


def _qd():
    import torch.ao.quantization.fx._decomposed  # noqa: F401  registers quantized_decomposed

    return torch.ops.quantized_decomposed


def _qdq_act(x: torch.Tensor, scale: float, zp: int) -> torch.Tensor:
    qd = _qd()
    q = qd.quantize_per_tensor(x, scale, zp, -128, 127, torch.int8)
    return qd.dequantize_per_tensor(q, scale, zp, -128, 127, torch.int8)


def _qdq_weight(w: torch.Tensor, scale: torch.Tensor, zp: torch.Tensor, qmax: int) -> torch.Tensor:
    qd = _qd()
    q = qd.quantize_per_channel(w, scale, zp, 0, -qmax, qmax, torch.int8)
    return qd.dequantize_per_channel(q, scale, zp, 0, -qmax, qmax, torch.int8)


fx.wrap("_qdq_act")
fx.wrap("_qdq_weight")


def build_qdq_module(gm: fx.GraphModule, g: QGraph) -> fx.GraphModule:
    """Rewrite the traced float graph: int weights, int32-grid biases, Q/DQ after every op."""
    gm = copy.deepcopy(gm)
    graph = gm.graph
    nodes = {n.name: n for n in graph.nodes}
    qmax = 2 ** (g.weight_bits - 1) - 1
    for qn in g.nodes:
        if qn.kind in ("conv", "linear"):
            old = nodes[qn.fx_nodes[0]]
            prefix = qn.module.replace(".", "_")
            shape = (-1,) + (1,) * (qn.weight_q.ndim - 1)
            grid = torch.from_numpy(qn.weight_q.astype(np.float32)) * torch.from_numpy(
                qn.weight_scale
            ).view(shape)
            s_in = g.node(qn.inputs[0]).out.scale
            bias = torch.from_numpy(
                (qn.bias_q.astype(np.float64) * np.float32(s_in) * qn.weight_scale).astype(
                    np.float32
                )
            )
            gm.register_buffer(f"{prefix}_w", grid)
            gm.register_buffer(f"{prefix}_ws", torch.from_numpy(qn.weight_scale.copy()))
            gm.register_buffer(f"{prefix}_wz", torch.zeros(len(qn.weight_scale), dtype=torch.int64))
            gm.register_buffer(f"{prefix}_b", bias)
            with graph.inserting_before(old):
                w, ws, wz, b = (graph.get_attr(f"{prefix}_{s}") for s in ("w", "ws", "wz", "b"))
                wdq = graph.call_function(_qdq_weight, (w, ws, wz, qmax))
                x = old.args[0]
                if qn.kind == "conv":
                    a = qn.attrs
                    new = graph.call_function(
                        F.conv2d, (x, wdq, b, a["stride"], a["padding"], a["dilation"], a["groups"])
                    )
                else:
                    new = graph.call_function(F.linear, (x, wdq, b))
            old.replace_all_uses_with(new)
            graph.erase_node(old)
            nodes[qn.fx_nodes[0]] = new
            if len(qn.fx_nodes) == 1:
                nodes[qn.name] = new
        if len(qn.fx_nodes) == 2:  # fused activation: the output range clamps instead
            act = nodes[qn.fx_nodes[1]]
            act.replace_all_uses_with(act.args[0])
            graph.erase_node(act)
            nodes[qn.fx_nodes[1]] = nodes[qn.fx_nodes[0]]
        if qn.kind in REQUANT_KINDS or qn.kind in PASS_KINDS:
            last = nodes[qn.fx_nodes[-1]]
            with graph.inserting_after(last):
                dq = graph.call_function(_qdq_act, (last, qn.out.scale, qn.out.zero_point))
            last.replace_all_uses_with(dq, delete_user_cb=lambda u, dq=dq: u is not dq)
    graph.lint()
    gm.recompile()
    # drop the float conv/linear modules: their weights live in the buffers now
    for qn in g.nodes:
        if qn.kind in ("conv", "linear"):
            parent, _, attr = qn.module.rpartition(".")
            owner = gm.get_submodule(parent) if parent else gm
            if hasattr(owner, attr):
                delattr(owner, attr)
    return gm.eval()

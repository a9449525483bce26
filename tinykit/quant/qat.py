"""Quantization-aware training for linear int8: fake quantization with a straight-through
estimator, so the weights learn to live with the rounding they will get."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import fx, nn

from tinykit.quant.qgraph import REQUANT_KINDS, QGraph


class FakeQuantWeight(nn.Module):
    """Wraps a conv/linear layer: per-channel symmetric fake-quantized weight on every call
    (scales follow the weights as they train); gradients pass straight through."""

    def __init__(self, layer: nn.Module, qmax: int):
        super().__init__()
        self.layer, self.qmax = layer, qmax

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        w = self.layer.weight
        amax = w.detach().abs().flatten(1).amax(1).clamp(min=1e-12)
        scale = (amax / self.qmax).float()
        zp = torch.zeros(len(scale), dtype=torch.int32)
        wq = torch.fake_quantize_per_channel_affine(w, scale, zp, 0, -self.qmax, self.qmax)
        if isinstance(self.layer, nn.Conv2d):
            m = self.layer
            return F.conv2d(x, wq, m.bias, m.stride, m.padding, m.dilation, m.groups)
        return F.linear(x, wq, self.layer.bias)


def qat_module(gm: fx.GraphModule, g: QGraph) -> fx.GraphModule:
    """A trainable twin of ``gm`` (sharing its layers' parameters) with fake quantization at
    every point the int8 model rounds: weights per channel, each requantized activation with
    its calibrated scale (a fused ReLU becomes the clamp at the zero point)."""
    qmax = 2 ** (g.weight_bits - 1) - 1
    graph = fx.Graph()
    env: dict[fx.Node, fx.Node] = {}
    root = fx.GraphModule(gm, gm.graph)  # shares submodules with gm (and the user's model)
    for qn in g.nodes:
        if qn.kind in ("conv", "linear"):
            _set(root, qn.module, FakeQuantWeight(gm.get_submodule(qn.module), qmax))
    # fake-quantize right after each requantizing op; a fused activation's node is skipped
    # (its users read the clamped op output, as the int8 kernel's output range does)
    after = {qn.fx_nodes[0]: qn for qn in g.nodes if qn.kind in REQUANT_KINDS}
    fused = {qn.fx_nodes[1] for qn in g.nodes if len(qn.fx_nodes) == 2}
    for node in gm.graph.nodes:
        if node.name in fused:
            env[node] = env[node.args[0]]
            continue
        new = graph.node_copy(node, lambda n: env[n])
        qn = after.get(node.name)
        if qn is not None:
            new = graph.call_function(
                torch.fake_quantize_per_tensor_affine,
                (new, float(qn.out.scale), int(qn.out.zero_point), -128, 127),
            )
        env[node] = new
    return fx.GraphModule(root, graph)


def _set(root: nn.Module, name: str, module: nn.Module) -> None:
    parent, _, attr = name.rpartition(".")
    setattr(root.get_submodule(parent) if parent else root, attr, module)

"""Named blocks of a backbone: where probes and exit heads attach, and where stages are cut.

A block is a submodule called once in ``forward`` whose output is the only tensor the rest of
the network needs (a clean cut). The backbone is traced with torch.fx keeping each block as one
node, and cut after each block into segments: segment k maps block k-1's output to block k's
output, and the last segment maps the last block's output to the logits. Run one after the
other, the segments compute exactly the backbone.
"""

from __future__ import annotations

from torch import fx, nn

from tinykit.errors import TinykitError

# class name -> its blocks, in forward order (torchvision ResNets and tinykit's ResNet-8)
DEFAULT_BLOCKS: dict[str, tuple[str, ...]] = {
    "ResNet8": ("stem", "stage1", "stage2", "stage3"),
    "ResNet": ("layer1", "layer2", "layer3", "layer4"),
}


def default_blocks(model: nn.Module) -> list[str]:
    """The known blocks of ``model``'s architecture; an error naming what to pass otherwise."""
    name = type(model).__name__
    if name in DEFAULT_BLOCKS:
        return list(DEFAULT_BLOCKS[name])
    children = [n for n, _ in model.named_children()]
    if not children:
        raise TinykitError(
            f"{name} has no blocks to hang heads on: it has no submodules (give a model built "
            "from blocks, e.g. a ResNet)"
        )
    raise TinykitError(
        f"no default blocks for {name}: name them with --blocks (submodule names in forward "
        f"order); its top-level modules are {', '.join(children)}"
    )


def parse_blocks(value: str | None) -> list[str] | None:
    """``"stem,stage1"`` -> ``["stem", "stage1"]``; None or empty -> None (use the defaults)."""
    if not value:
        return None
    names = [v.strip() for v in value.split(",") if v.strip()]
    if len(set(names)) != len(names):
        raise TinykitError(f"--blocks names a block twice: {value}")
    return names or None


def check_block_names(model: nn.Module, names: list[str]) -> None:
    """Every name is a submodule, and none is inside another named block."""
    modules = dict(model.named_modules())
    for n in names:
        if n not in modules or n == "":
            tops = ", ".join(c for c, _ in model.named_children()) or "none"
            raise TinykitError(
                f"block '{n}' does not exist in {type(model).__name__}; its top-level modules "
                f"are: {tops}"
            )
    for a in names:
        for b in names:
            if a != b and a.startswith(b + "."):
                raise TinykitError(f"block '{a}' is inside block '{b}': name one of them")


class _BlockTracer(fx.Tracer):
    """fx tracer that keeps each named block as a single call_module node."""

    def __init__(self, blocks: list[str]):
        super().__init__()
        self.blocks = set(blocks)

    def is_leaf_module(self, m: nn.Module, qualname: str) -> bool:
        return qualname in self.blocks or super().is_leaf_module(m, qualname)


def trace_blocks(model: nn.Module, blocks: list[str]) -> fx.GraphModule:
    check_block_names(model, blocks)
    try:
        graph = _BlockTracer(blocks).trace(model)
    except Exception as e:  # fx raises many types for untraceable Python
        raise TinykitError(
            f"cannot trace {type(model).__name__} with torch.fx to cut it into stages: "
            f"{str(e).splitlines()[0] if str(e) else type(e).__name__}"
        ) from e
    return fx.GraphModule(model, graph)


def _block_nodes(gm: fx.GraphModule, blocks: list[str]) -> list[fx.Node]:
    nodes = list(gm.graph.nodes)
    found: dict[str, list[fx.Node]] = {b: [] for b in blocks}
    for n in nodes:
        if n.op == "call_module" and n.target in found:
            found[n.target].append(n)
    out = []
    for b in blocks:
        if len(found[b]) != 1:
            how = "never called" if not found[b] else f"called {len(found[b])} times"
            raise TinykitError(f"block '{b}' is {how} in forward: it cannot carry an exit")
        out.append(found[b][0])
    pos = {n: i for i, n in enumerate(nodes)}
    order = sorted(out, key=pos.__getitem__)
    if order != out:
        raise TinykitError(
            "--blocks must be in forward order: " + ", ".join(str(n.target) for n in order)
        )
    return out


def _live_after(nodes: list[fx.Node], i: int) -> set[fx.Node]:
    """Tensors computed at or before position ``i`` that a later node still reads."""
    later = set(nodes[i + 1 :])
    return {
        n
        for n in nodes[: i + 1]
        if n.op not in ("get_attr", "output") and any(u in later for u in n.users)
    }


def split_backbone(model: nn.Module, blocks: list[str]) -> list[fx.GraphModule]:
    """Segments (one per block, plus the rest up to the logits) that compose to ``model``.

    The segments share ``model``'s modules (no copies): a weight changed in the backbone is
    changed in its segment. Raises when a block's output is not a clean cut.
    """
    if not blocks:
        raise TinykitError(f"{type(model).__name__} has no blocks to hang heads on")
    gm = trace_blocks(model, blocks)
    nodes = list(gm.graph.nodes)
    if sum(n.op == "placeholder" for n in nodes) != 1:
        raise TinykitError("early exit needs a model with one input")
    out_node = next(n for n in nodes if n.op == "output")
    if not isinstance(out_node.args[0], fx.Node):
        raise TinykitError("early exit needs a model with one tensor output (its logits)")
    cuts = _block_nodes(gm, blocks)
    pos = {n: i for i, n in enumerate(nodes)}
    for b in cuts:
        live = _live_after(nodes, pos[b])
        if live != {b}:
            others = ", ".join(sorted(str(n.name) for n in live - {b}))
            raise TinykitError(
                f"block '{b.target}' is not a clean cut: the rest of the network also reads "
                f"{others}; choose blocks whose output alone feeds what follows"
            )
        if out_node.args[0] is b:
            raise TinykitError(
                f"block '{b.target}' produces the model's output: no block after it is left "
                "for the final stage; drop it from --blocks"
            )
    bounds = [0, *(pos[b] + 1 for b in cuts), len(nodes)]
    segments = []
    for k in range(len(bounds) - 1):
        g = fx.Graph()
        env: dict[fx.Node, fx.Node] = {}
        if k > 0:
            env[cuts[k - 1]] = g.placeholder("features")
        for n in nodes[bounds[k] : bounds[k + 1]]:
            if n.op == "output":
                g.output(env[n.args[0]])
                continue
            for a in n.all_input_nodes:  # constants read across the cut are copied in
                if a not in env and a.op == "get_attr":
                    env[a] = g.node_copy(a, env.__getitem__)
            env[n] = g.node_copy(n, env.__getitem__)
        if k < len(cuts):
            g.output(env[cuts[k]])
        seg = fx.GraphModule(model, g)
        seg.graph.eliminate_dead_code()
        seg.recompile()
        segments.append(seg)
    return segments

"""Exit heads hung after named blocks of a backbone, and the early-exit model they form.

A head is cheap on purpose: pool the block's feature map to ``pool`` x ``pool`` cells (average
or max), flatten, and one linear layer (or two with ``hidden`` units). Pooling to a small grid
keeps where things are, which a global average would lose on shallow features.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn

from tinykit.errors import TinykitError

POOL_KINDS = ("avg", "max")


@dataclass
class HeadConfig:
    """Shape of every exit head."""

    pool: int = 4  # cells per side after pooling (the largest divisor of H and W up to this)
    kind: str = "avg"  # "avg" or "max"
    hidden: int = 0  # 0: pool -> linear; N: pool -> linear(N) -> ReLU -> linear

    def __post_init__(self) -> None:
        if self.pool < 1:
            raise TinykitError(f"head pool size must be >= 1, got {self.pool}")
        if self.kind not in POOL_KINDS:
            raise TinykitError(f"head pooling must be one of {', '.join(POOL_KINDS)}")
        if self.hidden < 0:
            raise TinykitError(f"head hidden units must be >= 0, got {self.hidden}")

    def to_dict(self) -> dict:
        return asdict(self)


def _cells(size: int, want: int) -> int:
    """The largest divisor of ``size`` that is at most ``want`` (pooling windows tile exactly)."""
    return max(d for d in range(1, min(size, want) + 1) if size % d == 0)


class ExitHead(nn.Module):
    """features (N, C, H, W) or (N, D) -> logits (N, classes)."""

    def __init__(self, feature_shape: tuple[int, ...], num_classes: int, cfg: HeadConfig):
        super().__init__()
        if len(feature_shape) == 3:
            c, h, w = feature_shape
            ph, pw = _cells(h, cfg.pool), _cells(w, cfg.pool)
            kernel = (h // ph, w // pw)
            if kernel == (1, 1):
                self.pool: nn.Module = nn.Identity()
            elif (ph, pw) == (1, 1) and cfg.kind == "avg":
                self.pool = nn.AdaptiveAvgPool2d(1)  # global: quantizable as one op
            elif cfg.kind == "avg":
                self.pool = nn.AvgPool2d(kernel, kernel)
            else:
                self.pool = nn.MaxPool2d(kernel, kernel)
            width = c * ph * pw
        elif len(feature_shape) == 1:
            self.pool, width = nn.Identity(), feature_shape[0]
        else:
            raise TinykitError(
                f"an exit head takes (C, H, W) or (D,) features, got {list(feature_shape)}"
            )
        self.flatten = nn.Flatten()
        if cfg.hidden:
            self.fc = nn.Sequential(
                nn.Linear(width, cfg.hidden), nn.ReLU(), nn.Linear(cfg.hidden, num_classes)
            )
        else:
            self.fc = nn.Linear(width, num_classes)

    def pooled(self, x: torch.Tensor) -> torch.Tensor:
        """The parameter-free part: what frozen-backbone training caches once."""
        return self.flatten(self.pool(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.pooled(x))


class EarlyExitModel(nn.Module):
    """A backbone with heads after ``exits``; forward returns every exit's logits, the
    backbone's own (final) logits last.

    The backbone runs whole, once; forward hooks hand each exit block's output to its head.
    The backbone is unchanged, so pruning, quantization and checkpoints treat it as usual.
    """

    def __init__(
        self, backbone: nn.Module, exits: list[str], heads: list[ExitHead], head_config: HeadConfig
    ):
        super().__init__()
        if len(exits) != len(heads):
            raise TinykitError("internal: one head per exit block")
        self.backbone = backbone
        self.exits = list(exits)
        self.heads = nn.ModuleList(heads)
        self.head_config = head_config

    @property
    def num_exits(self) -> int:
        """Exits including the final one."""
        return len(self.exits) + 1

    def features(self, x: torch.Tensor) -> tuple[list[torch.Tensor], torch.Tensor]:
        """(each exit block's output, final logits) from one backbone pass."""
        feats: dict[str, torch.Tensor] = {}
        handles = [
            self.backbone.get_submodule(name).register_forward_hook(
                lambda _m, _i, out, name=name: feats.__setitem__(name, out)
            )
            for name in self.exits
        ]
        try:
            final = self.backbone(x)
        finally:
            for h in handles:
                h.remove()
        return [feats[n] for n in self.exits], final

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        feats, final = self.features(x)
        return [head(f) for head, f in zip(self.heads, feats, strict=True)] + [final]


def block_output_shapes(
    model: nn.Module, blocks: list[str], example: torch.Tensor
) -> dict[str, tuple[int, ...]]:
    """Per-sample output shape of each block, from one forward pass with hooks."""
    shapes: dict[str, tuple[int, ...]] = {}
    handles = [
        model.get_submodule(n).register_forward_hook(
            lambda _m, _i, out, n=n: (
                shapes.__setitem__(n, tuple(out.shape[1:]))
                if isinstance(out, torch.Tensor)
                else None
            )
        )
        for n in blocks
    ]
    try:
        with torch.no_grad():
            model.eval()(example)
    finally:
        for h in handles:
            h.remove()
    for n in blocks:
        if n not in shapes:
            raise TinykitError(f"block '{n}' does not return one tensor in forward")
    return shapes


def attach_heads(
    backbone: nn.Module,
    exits: list[str],
    example: torch.Tensor,
    *,
    num_classes: int,
    config: HeadConfig | None = None,
    seed: int = 0,
) -> EarlyExitModel:
    """An :class:`EarlyExitModel` with fresh heads after ``exits`` (validated as clean cuts)."""
    from tinykit.earlyexit.blocks import split_backbone

    cfg = config or HeadConfig()
    if not exits:
        raise TinykitError(
            f"{type(backbone).__name__} has no blocks to hang heads on: name at least one "
            "block before the last with --blocks"
        )
    split_backbone(backbone, exits)  # raises unless every exit is a clean cut
    shapes = block_output_shapes(backbone, exits, example)
    torch.manual_seed(seed)
    heads = [ExitHead(shapes[n], num_classes, cfg) for n in exits]
    return EarlyExitModel(backbone, exits, heads, cfg).eval()

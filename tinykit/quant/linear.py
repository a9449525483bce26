"""Linear (affine) quantization: r = S (q - Z).

Weights are symmetric per output channel (Z = 0, S = max|w| / (2^(b-1) - 1)), computed here
and carried unchanged into the exported files.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from tinykit.errors import TinykitError


@dataclass
class WeightQuant:
    """Integer weights and their per-output-channel scales (zero point 0)."""

    bits: int
    q: torch.Tensor  # int8, the weight's shape
    scale: torch.Tensor  # float32, [out_channels]

    def decode(self) -> torch.Tensor:
        shape = (-1,) + (1,) * (self.q.dim() - 1)
        return self.q.float() * self.scale.view(shape)


def symmetric_scale(w: torch.Tensor, bits: int) -> torch.Tensor:
    """Per-output-channel scale so that the largest |w| maps to 2^(bits-1) - 1."""
    qmax = 2 ** (bits - 1) - 1
    amax = w.detach().abs().flatten(1).amax(1)
    return torch.where(amax > 0, amax / qmax, torch.ones_like(amax))


@torch.no_grad()
def quantize_weights_linear(model: nn.Module, bits: int) -> dict[str, WeightQuant]:
    """Quantize every conv/linear weight per channel, in place (the model holds the decoded
    values, so PyTorch evaluation measures exactly what the integer weights compute)."""
    if not 2 <= bits <= 8:
        raise TinykitError(f"linear quantization needs --bits 2-8, got {bits}")
    qmax = 2 ** (bits - 1) - 1
    out: dict[str, WeightQuant] = {}
    for name, m in model.named_modules():
        if not isinstance(m, (nn.Conv2d, nn.Linear)):
            continue
        s = symmetric_scale(m.weight, bits)
        shape = (-1,) + (1,) * (m.weight.dim() - 1)
        q = torch.clamp(torch.round(m.weight / s.view(shape)), -qmax, qmax).to(torch.int8)
        wq = WeightQuant(bits=bits, q=q, scale=s.float())
        m.weight.copy_(wq.decode())
        out[name] = wq
    return out

"""A block delta: only the fine-tuned block's weights, applied onto the original checkpoint.

After surgical fine-tuning everything outside the block is unchanged, so a device that
already holds the original model needs only this small file (weights_only loadable).
"""

from __future__ import annotations

import os
from pathlib import Path

from tinykit.errors import TinykitError
from tinykit.fileio import atomic_path

FORMAT = "tinykit-block-delta"


def save_delta(
    path: str | os.PathLike[str],
    model,
    blocks: list[str],
    *,
    base: str,
    base_sha256: str | None = None,
    note: dict | None = None,
) -> Path:
    """Write the parameters of ``blocks`` (nothing else) with what they apply to."""
    import torch

    names = {n for n, _ in model.named_parameters()}
    sd = {
        k: v.detach().cpu().clone()
        for k, v in model.state_dict().items()
        if k in names and k.split(".", 1)[0] in blocks
    }
    payload = {
        "format": FORMAT,
        "version": 1,
        "blocks": list(blocks),
        "base": base,
        "base_sha256": base_sha256,
        "note": note or {},
        "state_dict": sd,
    }
    with atomic_path(path) as tmp:
        torch.save(payload, tmp)
    return Path(path)


def load_delta(path: str | os.PathLike[str]) -> dict:
    import torch

    p = Path(path)
    if not p.is_file():
        raise TinykitError(f"delta file {p} does not exist")
    payload = torch.load(p, map_location="cpu", weights_only=True)
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise TinykitError(f"{p} is not a tinykit block delta")
    return payload


def apply_delta(model, delta: dict):
    """Overwrite the delta's tensors in ``model`` (in place); every key must exist there."""
    import torch

    own = model.state_dict()
    missing = [k for k in delta["state_dict"] if k not in own]
    if missing:
        raise TinykitError(f"the delta does not fit this model: no tensor {missing[0]!r}")
    with torch.no_grad():
        for k, v in delta["state_dict"].items():
            if own[k].shape != v.shape:
                raise TinykitError(
                    f"the delta's {k} has shape {list(v.shape)}, the model's {list(own[k].shape)}"
                )
            own[k].copy_(v)
    return model

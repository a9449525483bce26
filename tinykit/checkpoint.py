"""tinykit checkpoints: a state_dict plus JSON-able metadata, loadable with weights_only=True.

The metadata rebuilds the module tree: architecture name and arguments, the InputSpec, the
recipe that produced it, and (after channel pruning or batch-norm folding) how the tree was
changed, so that no pickled class is ever needed.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tinykit.errors import TinykitError
from tinykit.fileio import atomic_path
from tinykit.spec import InputSpec

FORMAT = "tinykit-checkpoint"
VERSION = 1


@dataclass
class Checkpoint:
    arch: str
    spec: InputSpec
    state_dict: dict[str, Any]
    arch_kwargs: dict[str, Any] = field(default_factory=dict)
    transforms: list[dict[str, Any]] = field(default_factory=list)  # e.g. folded BN, new shapes
    recipe: dict[str, Any] | None = None
    metrics: dict[str, Any] = field(default_factory=dict)

    def build(self):
        """Rebuild the model (eval mode) with its weights."""
        from tinykit.models import build_model
        from tinykit.transforms import apply_transforms

        model = build_model(
            self.arch,
            num_classes=self.spec.num_classes,
            in_channels=self.spec.channels,
            **self.arch_kwargs,
        )
        apply_transforms(model, self.transforms)
        try:
            model.load_state_dict(self.state_dict, strict=True)
        except RuntimeError as e:
            first = str(e).strip().splitlines()
            raise TinykitError(
                f"checkpoint weights do not fit architecture '{self.arch}': "
                f"{first[1].strip() if len(first) > 1 else first[0]}"
            ) from e
        return model.eval()


def save_checkpoint(path: str | os.PathLike[str], model, ckpt: Checkpoint) -> Path:
    import torch

    from tinykit.transforms import get_transforms

    payload = {
        "format": FORMAT,
        "version": VERSION,
        "arch": ckpt.arch,
        "arch_kwargs": ckpt.arch_kwargs,
        "input_spec": ckpt.spec.to_dict(),
        "transforms": get_transforms(model),
        "recipe": ckpt.recipe,
        "metrics": ckpt.metrics,
        "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
    }
    with atomic_path(path) as tmp:
        torch.save(payload, tmp)
    return Path(path)


def safe_torch_load(path: Path, *, trust_pickle: bool, what: str, can_trust: bool = True):
    """torch.load with weights_only=True unless the user trusts the file; errors as one line.

    ``can_trust`` says whether the command offers --trust-pickle, so the advice fits it."""
    import pickle

    import torch

    if not path.is_file():
        raise TinykitError(f"{what} {path} does not exist")
    try:
        return torch.load(path, map_location="cpu", weights_only=not trust_pickle)
    except pickle.UnpicklingError as e:
        if "can still be loaded" in str(e):  # a real pickle with classes outside the allowlist
            advice = (
                "pass --trust-pickle only if you trust its source, or save a state_dict"
                if can_trust
                else "it is not a tinykit checkpoint: export it to .onnx or .tflite first"
            )
            raise TinykitError(
                f"{path} needs full pickle to load (it holds Python objects, not only tensors); "
                + advice
            ) from e
        raise TinykitError(f"cannot read {what} {path}: not a PyTorch file, or corrupted") from e
    except (KeyError, IndexError, TypeError, AttributeError) as e:  # pickle opcodes of junk
        raise TinykitError(f"cannot read {what} {path}: not a PyTorch file, or corrupted") from e
    except (RuntimeError, OSError, EOFError, ValueError) as e:
        raise TinykitError(f"cannot read {what} {path}: {str(e).splitlines()[0]}") from e


def load_checkpoint(
    path: str | os.PathLike[str], *, trust_pickle: bool = False, can_trust: bool = True
) -> Checkpoint:
    """Read a tinykit checkpoint. Full pickle only with ``trust_pickle`` (a foreign file may run
    code when unpickled); ``can_trust``: the command offers --trust-pickle."""
    p = Path(path)
    payload = safe_torch_load(p, trust_pickle=trust_pickle, what="checkpoint", can_trust=can_trust)
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise TinykitError(
            f"{p} is not a tinykit checkpoint: 'tinykit train' writes one; a plain state_dict "
            "goes to compress as --model ARCH --weights FILE --num-classes N"
        )
    if payload.get("version", 0) > VERSION:
        raise TinykitError(f"{p} was written by a newer tinykit (format {payload['version']})")
    return Checkpoint(
        arch=payload["arch"],
        spec=InputSpec.from_dict(payload["input_spec"]),
        state_dict=payload["state_dict"],
        arch_kwargs=payload.get("arch_kwargs") or {},
        transforms=payload.get("transforms") or [],
        recipe=payload.get("recipe"),
        metrics=payload.get("metrics") or {},
    )


def load_state_dict_file(path: str | os.PathLike[str], *, trust_pickle: bool = False) -> dict:
    """A bare state_dict (torchvision style ``.pt``/``.pth``), weights_only unless trusted."""
    p = Path(path)
    sd = safe_torch_load(p, trust_pickle=trust_pickle, what="weights file")
    if isinstance(sd, dict) and "state_dict" in sd and isinstance(sd["state_dict"], dict):
        sd = sd["state_dict"]
    if not isinstance(sd, dict) or not all(hasattr(v, "shape") for v in sd.values()):
        raise TinykitError(f"{p} does not hold a state_dict (a mapping of names to tensors)")
    return sd

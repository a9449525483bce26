"""Early-exit models as stages a device runs one after the other.

Stage k takes the previous stage's features (stage 0: the model input) and returns its own
features and its head's logits; the last stage returns the final logits only. ONNX: one file
per stage. TFLite: one .tflite holding one signature per stage (LiteRT's multi-entry-point
form, written with litert-torch's ``signature`` API). The full network is exported beside them
as the reference. The bundle manifest's ``early_exit`` section says everything a runner needs:
stage order, files or signatures, tensor names, thresholds, the confidence rule and the
cumulative MACs per exit.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import torch
from torch import nn

from tinykit.earlyexit.decide import CONFIDENCE_RULE, check_thresholds
from tinykit.earlyexit.heads import EarlyExitModel

STAGE_IO = {"input": "features_in", "features": "features_out", "logits": "logits"}
TFLITE_IO = {
    "input": "args_0",
    "features": "output_0",
    "logits": "output_1",
    "final_logits": "output_0",
}


class Stage(nn.Module):
    """One backbone segment and, except for the last stage, the head after it.

    ``pooled_only``: return the head's pooled features instead of its logits (an int8 head's
    linear part is then appended as int8 operators)."""

    def __init__(self, segment: nn.Module, head: nn.Module | None, *, pooled_only: bool = False):
        super().__init__()
        self.segment = segment
        self.head = head
        self.pooled_only = pooled_only

    def forward(self, x: torch.Tensor):
        f = self.segment(x)
        if self.head is None:
            return f
        return f, (self.head.pooled(f) if self.pooled_only else self.head(f))


def build_stages(model: EarlyExitModel) -> list[Stage]:
    """The stages of ``model``, sharing its weights (rebuilt after any structural change)."""
    from tinykit.earlyexit.blocks import split_backbone

    segments = split_backbone(model.backbone, model.exits)
    heads = list(model.heads)
    return [Stage(s, heads[k] if k < len(heads) else None).eval() for k, s in enumerate(segments)]


@torch.no_grad()
def stage_input_shapes(stages: list[Stage], input_shape: tuple[int, ...]) -> list[tuple[int, ...]]:
    shapes = [tuple(input_shape)]
    x = torch.zeros(input_shape)
    for st in stages[:-1]:
        x = st(x)[0]
        shapes.append(tuple(x.shape))
    return shapes


def _module_names(model: nn.Module, part: nn.Module) -> set[str]:
    ids = {id(m) for m in part.modules()}
    return {n for n, m in model.named_modules() if id(m) in ids}


def export_stages_onnx(
    model: EarlyExitModel,
    spec,
    out_dir: Path,
    *,
    kmeans: dict | None = None,
    int8_heads: list | None = None,
) -> list[Path]:
    """Write ``stage{k}.onnx`` for every stage into ``out_dir`` (atomically each).

    ``kmeans``: the codebooks of :func:`tinykit.quant.kmeans.quantize_kmeans` on ``model``;
    each stage file then stores its layers as packed indices + codebook. ``int8_heads``: one
    linear-int8 QGraph per head (see :mod:`tinykit.earlyexit.compress`), merged into the stage
    as onnxruntime int8 operators.
    """
    from tinykit.exporters.onnx import torch_to_onnx
    from tinykit.exporters.onnx_kmeans import splice_kmeans
    from tinykit.fileio import atomic_path

    stages = build_stages(model)
    shapes = stage_input_shapes(stages, spec.shape)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for k, st in enumerate(stages):
        last = st.head is None
        name = spec.name if k == 0 else STAGE_IO["input"]
        path = out_dir / f"stage{k}.onnx"
        int8 = int8_heads is not None and not last
        with atomic_path(path) as tmp:
            module = Stage(st.segment, st.head, pooled_only=True) if int8 else st
            outs = (
                ["logits"]
                if last
                else [STAGE_IO["features"], "pooled" if int8 else STAGE_IO["logits"]]
            )
            torch_to_onnx(
                module, SimpleNamespace(name=name, shape=shapes[k]), tmp, output_names=outs
            )
            if kmeans:
                names = _module_names(model, module)
                books = {n: b for n, b in kmeans.items() if n in names}
                if books:
                    splice_kmeans(tmp, books)
            if int8:
                from tinykit.earlyexit.compress import merge_int8_head

                with torch.no_grad():
                    pooled = st.head.pooled(torch.zeros(shapes[k + 1]))
                merge_int8_head(tmp, int8_heads[k], tuple(pooled.shape))
        paths.append(path)
    return paths


def export_stages_tflite(model: EarlyExitModel, spec, path: Path) -> Path:
    """One .tflite with signatures ``stage0`` ... ``stage{K-1}`` (float weights)."""
    from tinykit.errors import MissingDependencyError, TinykitError
    from tinykit.exporters.tflite import quiet_converter
    from tinykit.fileio import atomic_path

    stages = build_stages(model)
    shapes = stage_input_shapes(stages, spec.shape)
    with quiet_converter():
        try:
            import litert_torch
        except ImportError as e:
            raise MissingDependencyError("litert-torch", "TFLite export") from e
        conv = litert_torch.Converter()
        for k, st in enumerate(stages):
            conv.signature(f"stage{k}", st, (torch.zeros(shapes[k]),))
        try:
            edge = conv.convert()
        except Exception as e:  # the converter raises many types; one line, keep the cause
            raise TinykitError(
                f"TFLite conversion of the stages failed: {str(e).splitlines()[0]}"
            ) from e
        with atomic_path(path) as tmp:
            edge.export(str(tmp))
    return path


def early_exit_section(
    model: EarlyExitModel,
    spec,
    thresholds: list[float],
    macs,
    *,
    onnx_files: list[str] | None,
    tflite_file: str | None,
    full: dict[str, Any],
    extra: dict[str, Any] | None = None,
) -> dict:
    """The manifest's ``early_exit`` section (see docs/earlyexit.md)."""
    thresholds = check_thresholds(thresholds, len(model.heads))
    stages = build_stages(model)
    shapes = stage_input_shapes(stages, spec.shape)
    entries = []
    for k in range(len(stages)):
        last = k == len(stages) - 1
        entry: dict[str, Any] = {
            "index": k,
            "exit_after": "final" if last else model.exits[k],
            "input": {"name": spec.name if k == 0 else STAGE_IO["input"], "shape": list(shapes[k])},
            "outputs": (
                {"logits": "logits"}
                if last
                else {"features": STAGE_IO["features"], "logits": STAGE_IO["logits"]}
            ),
            "features_shape": None if last else list(shapes[k + 1]),
            "threshold": None if last else thresholds[k],
            "cumulative_macs": int(macs.cumulative[k]),
            "cumulative_effective_macs": int(macs.effective_cumulative[k]),
        }
        if onnx_files:
            entry["onnx"] = onnx_files[k]
        if tflite_file:
            entry["tflite_signature"] = f"stage{k}"
        entries.append(entry)
    section = {
        "version": 1,
        "stages": entries,
        "confidence_rule": dict(CONFIDENCE_RULE),
        "tflite": None
        if not tflite_file
        else {
            "path": tflite_file,
            "signatures": [f"stage{k}" for k in range(len(stages))],
            "io": dict(TFLITE_IO),
        },
        "full_model": {**full, "macs": int(macs.full)},
        "head": model.head_config.to_dict(),
    }
    section.update(extra or {})
    return section


def copy_staged_runner(bundle_dir: Path) -> Path:
    """Ship the standalone staged runner in the bundle (it imports nothing from tinykit)."""
    import tinykit.bench as bench_pkg

    src = Path(bench_pkg.__file__).with_name("staged_runner.py")
    dst = bundle_dir / "staged_runner.py"
    shutil.copy(src, dst)
    return dst

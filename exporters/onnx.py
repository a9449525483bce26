"""ONNX export through torch's exporter (fp32, batch 1, static shapes, provenance stripped);
k-means weights are then re-encoded by :mod:`tinykit.exporters.onnx_kmeans`."""

from __future__ import annotations

import contextlib
import io
import os
from pathlib import Path
from typing import Any

from tinykit.errors import TinykitError
from tinykit.exporters.artifact import Artifact
from tinykit.fileio import atomic_path

OPSET = 20


def torch_to_onnx(
    model, spec, path: Path, *, output_name: str = "logits", output_names: list[str] | None = None
) -> None:
    """Plain fp32 export (batch 1, static shapes) with the spec's input name.

    ``output_names`` names every output of a model that returns several tensors (an
    early-exit stage returns its features and its head's logits)."""
    import torch

    example = torch.zeros(spec.shape, dtype=torch.float32)
    buf_out, buf_err = io.StringIO(), io.StringIO()
    try:
        with contextlib.redirect_stdout(buf_out), contextlib.redirect_stderr(buf_err):
            torch.onnx.export(
                model.eval(),
                (example,),
                str(path),
                input_names=[spec.name],
                output_names=list(output_names or [output_name]),
                opset_version=OPSET,
                dynamo=True,
                external_data=False,
            )
    except Exception as e:  # the exporter raises many types; report one line, keep the cause
        raise TinykitError(
            f"ONNX export of {type(model).__name__} failed: {str(e).splitlines()[0]}"
        ) from e
    strip_metadata(path)


def strip_metadata(path: Path) -> None:
    """Drop the exporter's provenance (stack traces, node names, value_info): a deployable file
    carries the graph and weights only, so that sizes compare like for like."""
    import onnx

    proto = onnx.load(str(path))
    g = proto.graph
    del g.value_info[:]
    for coll in (g.node, g.initializer, g.input, g.output):
        for item in coll:
            del item.metadata_props[:]
            item.doc_string = ""
    del proto.metadata_props[:]
    g.doc_string = ""
    onnx.save(proto, str(path))


def export_onnx(
    model, spec, path: str | os.PathLike[str], *, precision: str = "fp32", encoding: Any = None
) -> Artifact:
    """Write ``model`` to ``path`` (atomically); ``encoding`` holds k-means codebooks or int8
    weights for the matching precision."""
    path = Path(path)
    with atomic_path(path) as tmp:
        torch_to_onnx(model, spec, tmp)
        if precision == "kmeans":
            from tinykit.exporters.onnx_kmeans import splice_kmeans

            splice_kmeans(tmp, encoding)
    return Artifact(path, "onnx", precision)

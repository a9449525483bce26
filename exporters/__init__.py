"""Exporters (installed as tinykit.exporters): ONNX, TFLite, the bundle, verification."""

from __future__ import annotations

from typing import Any

from tinykit.exporters.formats import FORMATS, get_format


def export(model, spec, path, *, format: str, precision: str = "fp32", encoding: Any = None):
    """Export ``model`` to ``path`` in ``format``; returns a runnable :class:`Artifact`."""
    get_format(format)
    if format == "onnx":
        from tinykit.exporters.onnx import export_onnx

        return export_onnx(model, spec, path, precision=precision, encoding=encoding)
    from tinykit.exporters.tflite import export_tflite

    return export_tflite(model, spec, path, precision=precision)


__all__ = ["FORMATS", "export", "get_format"]

"""Exporters (installed as tinykit.exporters): ONNX, TFLite, the bundle, verification."""

from __future__ import annotations

from typing import Any

from tinykit.exporters.formats import FORMATS, get_format


def export(
    model,
    spec,
    path,
    *,
    format: str,
    precision: str = "fp32",
    encoding: Any = None,
    int8_io: bool = True,
):
    """Write ``model`` to ``path`` in ``format``; returns a runnable :class:`Artifact`.

    ``precision``: "fp32"; "kmeans" with ``encoding`` the codebooks (ONNX stores them packed,
    TFLite stores decoded fp32 weights); "int8" with ``encoding`` a LinearQuantized (ONNX in
    operator format for x86, full-int8 TFLite, ``int8_io`` choosing TFLite's input/output).
    """
    get_format(format)
    if precision not in FORMATS[format].precisions:
        from tinykit.errors import TinykitError

        raise TinykitError(f"{format} cannot hold precision '{precision}'")
    if format == "onnx":
        if precision == "int8":
            if encoding.graph.float_ops:  # QDQ form: the float ops stay float
                from tinykit.exporters.onnx_int8 import export_onnx_int8

                return export_onnx_int8(encoding.qdq, spec, path)
            from tinykit.exporters.onnx_qop import export_onnx_qop

            return export_onnx_qop(encoding.x86_graph, spec, path, unsigned=True)
        from tinykit.exporters.onnx import export_onnx

        return export_onnx(model, spec, path, precision=precision, encoding=encoding)
    if precision == "int8":
        from tinykit.exporters.tflite import export_tflite_int8

        return export_tflite_int8(encoding.qdq, spec, path, int8_io=int8_io)
    from tinykit.exporters.tflite import export_tflite

    return export_tflite(model, spec, path, precision=precision)


__all__ = ["FORMATS", "export", "get_format"]

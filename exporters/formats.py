"""The format table: one row per export format drives checks, --help text and docs."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Format:
    name: str
    suffix: str
    runtime: str  # the package that runs it
    precisions: tuple[str, ...]
    note: str


FORMATS: dict[str, Format] = {
    "onnx": Format(
        "onnx",
        ".onnx",
        "onnxruntime",
        ("fp32", "kmeans", "int8"),
        "k-means: packed n-bit indices + codebook, decoded by a lookup that onnxruntime folds "
        "at load; int8: operator format (QLinearConv...), uint8 activations x 7-bit weights",
    ),
    "tflite": Format(
        "tflite",
        ".tflite",
        "ai-edge-litert",
        ("fp32", "kmeans", "int8"),
        "converted with litert-torch; k-means weights stored decoded (fp32); int8: full int8 "
        "with tinykit's scales, int8 or float input/output",
    ),
}


def get_format(name: str) -> Format:
    from tinykit.errors import TinykitError

    if name not in FORMATS:
        raise TinykitError(f"unknown export format '{name}': use one of {', '.join(FORMATS)}")
    return FORMATS[name]


def format_of(path: str) -> Format:
    from tinykit.errors import TinykitError

    for f in FORMATS.values():
        if str(path).endswith(f.suffix):
            return f
    raise TinykitError(
        f"{path}: unknown model file type; tinykit runs "
        + ", ".join(f"{f.suffix} ({f.runtime})" for f in FORMATS.values())
    )

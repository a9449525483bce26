"""The export link: write each format into the bundle, verify every file on the whole test
split from the manifest alone, and time it."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from tinykit.pipeline.metrics import gzip_size


def _io_quant(q) -> dict[str, Any] | None:
    return None if q is None else {"scale": q.scale, "zero_point": q.zero_point, "dtype": "int8"}


def export_and_verify(
    model, quantized, data, recipe, out: Path, name: str, final: dict, *, bench, progress: bool, log
) -> list[dict]:
    """Bundle ``model`` (or its quantized form) as the recipe's formats; returns artifact
    records measured by running each file."""
    from tinykit.exporters.bundle import artifact_entry, copy_runtime_files, manifest, write_bundle
    from tinykit.exporters.onnx import export_onnx
    from tinykit.exporters.tflite import export_tflite
    from tinykit.exporters.verify import verify_artifact

    bundle = out / "bundle" / name
    bundle.mkdir(parents=True, exist_ok=True)
    spec = data.spec
    precision = quantized.precision if quantized else "fp32"
    made = []
    for fmt in recipe.formats:
        path = bundle / f"model.{precision}.{'onnx' if fmt == 'onnx' else 'tflite'}"
        if quantized is None:
            art = (
                export_onnx(model, spec, path)
                if fmt == "onnx"
                else export_tflite(model, spec, path)
            )
            prec, io = "fp32", "float"
        elif fmt == "onnx":
            art = quantized.write_onnx(path, spec)
            prec, io = quantized.precision, "float"
        else:
            art = quantized.write_tflite(path, spec)
            prec = quantized.tflite_precision if quantized.tflite_precision == "fp32" else precision
            io = (
                "int8"
                if quantized.tflite_precision != "fp32" and quantized.tflite_int8_io
                else "float"
            )
        extra = {"io": io}
        if quantized and fmt in quantized.notes:
            extra["weights"] = quantized.notes[fmt]
        if quantized and "weights" in quantized.notes and prec == "int8":
            extra["weights"] = quantized.notes["weights"]
        made.append((art, artifact_entry(art.path, bundle, fmt, prec, **extra)))
    man = manifest(
        name,
        spec,
        [e for _, e in made],
        output_shape=[1, spec.num_classes],
        metrics={k: final[k] for k in ("accuracy", "macs", "nonzero_params")},
    )
    if quantized is not None and quantized.input_quant is not None:
        g = quantized.encoding.graph
        man["input"]["quantization"] = _io_quant(quantized.input_quant)
        man["output"]["quantization"] = _io_quant(g.node(g.output).out)
    copy_runtime_files(bundle)
    records = []
    for art, entry in made:
        v = verify_artifact(
            art, data.test.x, data.test.y, man, final["_pred"], io=entry["io"], progress=progress
        )
        rec = {
            "path": os.path.relpath(art.path, out),
            "format": entry["format"],
            "precision": entry["precision"],
            "io": entry["io"],
            **({"weights": entry["weights"]} if "weights" in entry else {}),
            "accuracy": v["accuracy"],
            "agreement": v["agreement"],
            "size_bytes": art.size_bytes,
            "size_gzip_bytes": gzip_size(art.path),
            **{k: final[k] for k in ("params", "nonzero_params", "macs", "effective_macs")},
            "latency_ms": bench(art.path),
        }
        records.append(rec)
        entry.update(
            accuracy=rec["accuracy"], agreement=rec["agreement"], size_bytes=rec["size_bytes"]
        )
        log(
            f"  {entry['path']:<24} accuracy {100 * v['accuracy']:.2f}%  "
            f"agreement {100 * v['agreement']:.2f}%"
        )
    man["metrics"]["size_bytes"] = min(r["size_bytes"] for r in records) if records else None
    write_bundle(bundle, man)
    return records

"""The early-exit bundle: stage files, the full model beside them, the manifest with its
``early_exit`` section, the preprocessing and the standalone staged runner."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any


def write_early_exit_bundle(
    model,
    spec,
    thresholds: list[float],
    macs,
    bundle_dir: Path,
    *,
    name: str,
    formats,
    compression=None,
    metrics: dict[str, Any] | None = None,
    progress: bool = True,
) -> tuple[Path, list[dict]]:
    """Export and write everything; returns the bundle folder and its artifact entries."""
    from tinykit.earlyexit.export import (
        copy_staged_runner,
        early_exit_section,
        export_stages_onnx,
        export_stages_tflite,
    )
    from tinykit.exporters.bundle import artifact_entry, copy_runtime_files, manifest, write_bundle
    from tinykit.exporters.onnx import export_onnx
    from tinykit.exporters.tflite import export_tflite
    from tinykit.progress import progress_bar

    bundle_dir.mkdir(parents=True, exist_ok=True)
    kmeans = compression.kmeans if compression is not None else None
    int8 = compression.int8_graphs if compression is not None else None
    precision = compression.precision if compression is not None else "fp32"
    entries: list[dict] = []
    onnx_files = tflite_file = None
    full: dict[str, str] = {}
    steps = [f for f in ("onnx", "tflite") if f in formats]
    for fmt in progress_bar(steps, desc="export stages", enabled=progress):
        if fmt == "onnx":
            paths = export_stages_onnx(
                model, spec, bundle_dir / "stages", kmeans=kmeans, int8_heads=int8
            )
            onnx_files = [os.path.relpath(p, bundle_dir) for p in paths]
            for k, p in enumerate(paths):
                entries.append(artifact_entry(p, bundle_dir, "onnx", precision, role=f"stage{k}"))
            full_books = {
                n.removeprefix("backbone."): b
                for n, b in (kmeans or {}).items()
                if n.startswith("backbone.")
            }
            path = bundle_dir / "model.onnx"
            if full_books:
                export_onnx(model.backbone, spec, path, precision="kmeans", encoding=full_books)
            else:
                export_onnx(model.backbone, spec, path)
            full["onnx"] = "model.onnx"
            entries.append(
                artifact_entry(
                    path, bundle_dir, "onnx", "kmeans" if full_books else "fp32", role="full"
                )
            )
        else:
            path = export_stages_tflite(model, spec, bundle_dir / "stages.tflite")
            tflite_file = "stages.tflite"
            entries.append(artifact_entry(path, bundle_dir, "tflite", precision, role="stages"))
            export_tflite(model.backbone, spec, bundle_dir / "model.tflite")
            full["tflite"] = "model.tflite"
            bits = compression.kmeans_bits if compression is not None else None
            entries.append(
                artifact_entry(
                    bundle_dir / "model.tflite",
                    bundle_dir,
                    "tflite",
                    f"kmeans{bits}" if bits else "fp32",
                    role="full",
                )
            )
    section = early_exit_section(
        model,
        spec,
        thresholds,
        macs,
        onnx_files=onnx_files,
        tflite_file=tflite_file,
        full=full,
        extra={"compression": compression.to_dict()} if compression is not None else None,
    )
    man = manifest(
        name,
        spec,
        entries,
        output_shape=[1, spec.num_classes],
        metrics=metrics or {},
        extra={"early_exit": section},
    )
    copy_runtime_files(bundle_dir)
    copy_staged_runner(bundle_dir)
    write_bundle(bundle_dir, man)
    for e in entries:
        e["size_bytes"] = (bundle_dir / e["path"]).stat().st_size
    return bundle_dir, entries

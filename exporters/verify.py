"""Run an artifact on a whole test split, preparing inputs only from the manifest."""

from __future__ import annotations

from typing import Any

import numpy as np

from tinykit.preprocess import preprocess_from_manifest


def manifest_inputs(raw_x: np.ndarray, manifest: dict[str, Any], io: str) -> np.ndarray:
    """What an app feeds the file: preprocessed floats, quantized with the manifest's input
    scale and zero point when the file takes int8."""
    x = preprocess_from_manifest(raw_x, manifest["input"])
    if io == "int8":
        q = manifest["input"]["quantization"]
        x = np.clip(np.round(x / q["scale"]) + q["zero_point"], -128, 127).astype(np.int8)
    return x


def verify_artifact(
    artifact,
    raw_x: np.ndarray,
    y: np.ndarray,
    manifest: dict[str, Any],
    torch_pred: np.ndarray,
    *,
    io: str = "float",
    progress: bool = True,
) -> dict[str, float]:
    """Accuracy of the artifact itself, and its top-1 agreement with the PyTorch model."""
    from tinykit.exporters.artifact import open_runtime
    from tinykit.progress import progress_bar

    x = manifest_inputs(raw_x, manifest, io)
    run = open_runtime(artifact.path, threads=artifact.threads, raw=True)
    preds = np.empty(len(x), dtype=np.int64)
    for i in progress_bar(range(len(x)), desc=f"verify {artifact.path.name}", enabled=progress):
        preds[i] = int(np.argmax(run(x[i : i + 1])[0]))  # int8 logits rank like their floats
    return {
        "accuracy": float((preds == y).mean()),
        "agreement": float((preds == torch_pred).mean()),
        "samples": int(len(y)),
    }

"""Run an artifact on a whole test split, preparing inputs only from the manifest."""

from __future__ import annotations

from typing import Any

import numpy as np

from tinykit.preprocess import preprocess_from_manifest


def verify_artifact(
    artifact,
    raw_x: np.ndarray,
    y: np.ndarray,
    manifest_input: dict[str, Any],
    torch_pred: np.ndarray,
    *,
    progress: bool = True,
) -> dict[str, float]:
    """Accuracy of the artifact itself, and its top-1 agreement with the PyTorch model."""
    from tinykit.progress import progress_bar

    x = preprocess_from_manifest(raw_x, manifest_input)
    run = artifact._load()
    preds = np.empty(len(x), dtype=np.int64)
    for i in progress_bar(range(len(x)), desc=f"verify {artifact.path.name}", enabled=progress):
        preds[i] = int(np.argmax(run(x[i : i + 1])[0]))
    return {
        "accuracy": float((preds == y).mean()),
        "agreement": float((preds == torch_pred).mean()),
        "samples": int(len(y)),
    }

"""TFLite (LiteRT) export through litert-torch. Input and output keep the model's NCHW float
interface so the manifest's preprocessing applies unchanged."""

from __future__ import annotations

import contextlib
import io
import logging
import os
from pathlib import Path

from tinykit.exporters.artifact import Artifact, _quiet_tf_logs, silence_native_stderr

from tinykit.errors import MissingDependencyError, TinykitError
from tinykit.fileio import atomic_path


@contextlib.contextmanager
def quiet_converter():
    """litert-torch and its TensorFlow core log to stdout/stderr at INFO; keep the CLI clean."""
    _quiet_tf_logs()
    logging.getLogger("absl").setLevel(logging.ERROR)
    out, err = io.StringIO(), io.StringIO()
    with silence_native_stderr(), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        yield


def export_tflite(
    model, spec, path: str | os.PathLike[str], *, precision: str = "fp32"
) -> Artifact:
    """Convert ``model`` (eval mode, batch 1) to a .tflite file written atomically."""
    import torch

    path = Path(path)
    with quiet_converter():
        try:
            import litert_torch
        except ImportError as e:
            raise MissingDependencyError("litert-torch", "TFLite export") from e
        example = torch.zeros(spec.shape, dtype=torch.float32)
        try:
            edge = litert_torch.convert(model.eval(), (example,))
        except Exception as e:  # the converter raises many types; one line, keep the cause
            raise TinykitError(
                f"TFLite conversion of {type(model).__name__} failed: {str(e).splitlines()[0]}"
            ) from e
        with atomic_path(path) as tmp:
            edge.export(str(tmp))
    return Artifact(path, "tflite", precision)

"""An exported model you can run: path, metadata, and a call on its real runtime."""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from tinykit.exporters.formats import format_of


def _quiet_tf_logs() -> None:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


@contextlib.contextmanager
def silence_native_stderr():
    """TensorFlow/LiteRT's C++ code writes INFO lines straight to file descriptor 2; hide them
    (Python-level errors still surface as exceptions)."""
    import sys

    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


@dataclass
class Artifact:
    path: Path
    format: str
    precision: str
    metadata: dict[str, Any] = field(default_factory=dict)
    threads: int = 1
    _session: Any = field(default=None, repr=False, compare=False)

    def _load(self):
        if self._session is None:
            self._session = open_runtime(self.path, threads=self.threads)
        return self._session

    def __call__(self, x: np.ndarray) -> np.ndarray:
        """Run the artifact on a batch (looping one input at a time for batch-1 files)."""
        run = self._load()
        outs = [run(x[i : i + 1]) for i in range(len(x))]
        return np.concatenate(outs) if outs else np.zeros((0,))

    @property
    def size_bytes(self) -> int:
        return self.path.stat().st_size


def open_runtime(path: str | os.PathLike[str], *, threads: int = 1, raw: bool = False):
    """A function x -> y running ``path`` on onnxruntime or ai-edge-litert (XNNPACK).

    An int8-input model is fed floats quantized with its own input parameters, and its int8
    output dequantized, unless ``raw`` (then x and y are the file's own int8 tensors).
    """
    fmt = format_of(str(path)).name
    if fmt == "onnx":
        import onnxruntime as ort

        so = ort.SessionOptions()
        so.intra_op_num_threads = threads
        so.inter_op_num_threads = 1
        so.log_severity_level = 3
        sess = ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])
        name = sess.get_inputs()[0].name
        return lambda x: sess.run(None, {name: np.ascontiguousarray(x)})[0]
    _quiet_tf_logs()
    with silence_native_stderr():
        from ai_edge_litert.interpreter import Interpreter

        it = Interpreter(model_path=str(path), num_threads=threads)
        it.allocate_tensors()
    inp = it.get_input_details()[0]
    out = it.get_output_details()[0]

    def run(x: np.ndarray) -> np.ndarray:
        if inp["dtype"] != np.float32 and not raw:
            scale, zp = inp["quantization"]
            info = np.iinfo(inp["dtype"])
            x = np.clip(np.round(x / scale) + zp, info.min, info.max).astype(inp["dtype"])
        it.set_tensor(inp["index"], np.ascontiguousarray(x))
        it.invoke()
        y = it.get_tensor(out["index"])
        if out["dtype"] != np.float32 and not raw:
            scale, zp = out["quantization"]
            y = (y.astype(np.float32) - zp) * scale
        return y

    return run


def load_artifact(path: str | os.PathLike[str], *, threads: int = 1) -> Artifact:
    p = Path(path)
    return Artifact(p, format_of(str(p)).name, precision="unknown", threads=threads)

"""The bundle: model files + manifest.json, all an app or a board needs to run the model."""

from __future__ import annotations

import os
import shutil
import zipfile
from pathlib import Path
from typing import Any

from tinykit.fileio import atomic_path, sha256, write_json

FORMAT_VERSION = 1


def manifest(
    name: str,
    spec,
    artifacts: list[dict[str, Any]],
    *,
    output_shape: list[int],
    metrics: dict[str, Any] | None = None,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The manifest dict (see docs/bundle.md): input preparation, labels, artifacts."""
    sd = spec.to_dict()
    return {
        "format_version": FORMAT_VERSION,
        "name": name,
        "artifacts": artifacts,
        "input": {
            "name": sd["name"],
            "shape": sd["shape"],
            "dtype": sd["dtype"],
            "layout": sd["layout"],
            "preprocess": sd["preprocess"],
            "quantization": None,
        },
        "output": {
            "name": "logits",
            "shape": output_shape,
            "dtype": "float32",
            "quantization": None,
        },
        "labels": sd["labels"],
        "metrics": metrics or {},
        **(extra or {}),
    }


def tensor_names(path: Path, fmt: str) -> dict[str, Any]:
    """The names an app calls the file's inputs and outputs by, read from the file itself:
    a .tflite names its tensors after its signature (serving_default_args_0:0), not after
    the manifest's ``input.name``, and LiteRT's signature runner wants the signature's keys."""
    if fmt == "onnx":
        import onnx

        g = onnx.load(str(path), load_external_data=False).graph
        inits = {i.name for i in g.initializer}
        return {
            "tensors": {
                "inputs": [i.name for i in g.input if i.name not in inits],
                "outputs": [o.name for o in g.output],
            }
        }
    if fmt == "tflite":
        from ai_edge_litert.interpreter import Interpreter

        it = Interpreter(model_path=str(path))
        return {
            "tensors": {
                "inputs": [d["name"] for d in it.get_input_details()],
                "outputs": [d["name"] for d in it.get_output_details()],
            },
            "signatures": {
                k: {"inputs": list(v["inputs"]), "outputs": list(v["outputs"])}
                for k, v in it.get_signature_list().items()
            },
        }
    return {}


def artifact_entry(
    path: Path, bundle_dir: Path, fmt: str, precision: str, **kw: Any
) -> dict[str, Any]:
    return {
        "path": os.path.relpath(path, bundle_dir),
        "format": fmt,
        "precision": precision,
        "sha256": sha256(path),
        **tensor_names(path, fmt),
        **kw,
    }


def write_bundle(bundle_dir: Path, man: dict[str, Any]) -> Path:
    """Write manifest.json into ``bundle_dir`` and a .zip of the folder beside it."""
    write_json(bundle_dir / "manifest.json", man)
    zip_path = bundle_dir.with_suffix(".zip")
    with atomic_path(zip_path) as tmp:
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as z:
            for f in sorted(bundle_dir.rglob("*")):
                if f.is_file():
                    z.write(f, f.relative_to(bundle_dir.parent))
    return zip_path


def read_manifest(bundle: str | os.PathLike[str]) -> dict[str, Any]:
    import json

    from tinykit.errors import TinykitError

    p = Path(bundle)
    mpath = p / "manifest.json" if p.is_dir() else p
    if not mpath.is_file():
        raise TinykitError(f"{p} is not a bundle: no manifest.json")
    try:
        return json.loads(mpath.read_text())
    except json.JSONDecodeError as e:
        raise TinykitError(f"{mpath} is not valid JSON ({e})") from e


def copy_runtime_files(bundle_dir: Path) -> None:
    """Ship the standalone preprocessing next to the models (numpy only)."""
    import tinykit.preprocess as pre

    shutil.copy(pre.__file__, bundle_dir / "preprocess.py")

"""TFLite (LiteRT) export through litert-torch. Input and output keep the model's NCHW float
interface so the manifest's preprocessing applies unchanged."""

from __future__ import annotations

import contextlib
import io
import logging
import os
from pathlib import Path

from tinykit.errors import MissingDependencyError, TinykitError
from tinykit.exporters.artifact import Artifact, _quiet_tf_logs, silence_native_stderr
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


def _float_io(data: bytes) -> bytes:
    """Give a full-int8 model float input and output: QUANTIZE in front, DEQUANTIZE behind,
    with the model's own (tinykit's) scales. The app then feeds the preprocessed floats."""
    import numpy as np
    from ai_edge_litert import schema_py_generated as fb
    from ai_edge_litert.tools import flatbuffer_utils as fu

    model = fu.read_model_from_bytearray(bytearray(data))
    sg = model.subgraphs[0]

    def opcode(builtin: int) -> int:
        for i, oc in enumerate(model.operatorCodes):
            if fu.get_builtin_code_from_operator_code(oc) == builtin:
                return i
        oc = fb.OperatorCodeT()
        oc.builtinCode = builtin
        oc.deprecatedBuiltinCode = min(builtin, 127)
        oc.version = 1
        model.operatorCodes.append(oc)
        return len(model.operatorCodes) - 1

    def float_twin(idx: int, name: str) -> int:
        t = sg.tensors[idx]
        new = fb.TensorT()
        new.shape = np.array(t.shape, dtype=np.int32)
        new.type = fb.TensorType.FLOAT32
        new.name = name
        model.buffers.append(fb.BufferT())
        new.buffer = len(model.buffers) - 1
        sg.tensors.append(new)
        return len(sg.tensors) - 1

    q_in, q_out = sg.inputs[0], sg.outputs[0]
    f_in, f_out = float_twin(q_in, "input_float"), float_twin(q_out, "output_float")
    quant = fb.OperatorT()
    quant.opcodeIndex = opcode(fb.BuiltinOperator.QUANTIZE)
    quant.inputs, quant.outputs = np.array([f_in], np.int32), np.array([q_in], np.int32)
    deq = fb.OperatorT()
    deq.opcodeIndex = opcode(fb.BuiltinOperator.DEQUANTIZE)
    deq.inputs, deq.outputs = np.array([q_out], np.int32), np.array([f_out], np.int32)
    sg.operators = [quant, *sg.operators, deq]
    sg.inputs, sg.outputs = np.array([f_in], np.int32), np.array([f_out], np.int32)
    for sig in model.signatureDefs or []:
        for t in sig.inputs:
            if t.tensorIndex == q_in:
                t.tensorIndex = f_in
        for t in sig.outputs:
            if t.tensorIndex == q_out:
                t.tensorIndex = f_out
    return bytes(fu.convert_object_to_bytearray(model))


def export_tflite_int8(
    qdq_module, spec, path: str | os.PathLike[str], *, int8_io: bool = True
) -> Artifact:
    """Full-int8 .tflite from tinykit's QDQ module: LiteRT's converter turns each
    DQ -> op -> Q group into an int8 kernel and keeps the scales it finds there (tinykit's).
    Input and output are int8 by default (the app quantizes with the manifest's parameters);
    ``int8_io=False`` adds float QUANTIZE / DEQUANTIZE ends."""
    import torch

    path = Path(path)
    with quiet_converter():
        try:
            import litert_torch
            from litert_torch.quantize.pt2e_quantizer import (
                PT2EQuantizer,
                get_symmetric_quantization_config,
            )
            from litert_torch.quantize.quant_config import QuantConfig
        except ImportError as e:
            raise MissingDependencyError("litert-torch", "TFLite export") from e
        # the quantizer only switches the converter to static Q/DQ lowering; the numbers
        # come from the module's own quantize/dequantize calls
        cfg = QuantConfig(
            pt2e_quantizer=PT2EQuantizer().set_global(
                get_symmetric_quantization_config(is_per_channel=True)
            )
        )
        example = torch.zeros(spec.shape, dtype=torch.float32)
        try:
            edge = litert_torch.convert(qdq_module.eval(), (example,), quant_config=cfg)
        except Exception as e:  # the converter raises many types; one line, keep the cause
            raise TinykitError(f"int8 TFLite conversion failed: {str(e).splitlines()[0]}") from e
        data = edge.model_content()
    if not int8_io:
        data = _float_io(data)
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
    return Artifact(path, "tflite", "int8", metadata={"io": "int8" if int8_io else "float"})


def tflite_ops(path: str | os.PathLike[str]) -> list[dict]:
    """The operators of a .tflite file as written (before any delegate rewrites them): name and
    the element types and quantization of their tensors."""
    from ai_edge_litert import schema_py_generated as fb
    from ai_edge_litert.tools import flatbuffer_utils as fu

    model = fu.read_model_from_bytearray(bytearray(Path(path).read_bytes()))
    names = {v: k for k, v in vars(fb.BuiltinOperator).items() if not k.startswith("_")}
    types = {v: k.lower() for k, v in vars(fb.TensorType).items() if not k.startswith("_")}
    sg = model.subgraphs[0]

    def tensor(i: int) -> dict:
        t = sg.tensors[i]
        q = t.quantization
        scale = list(q.scale) if q is not None and q.scale is not None else []
        zp = list(q.zeroPoint) if q is not None and q.zeroPoint is not None else []
        return {
            "name": t.name.decode() if isinstance(t.name, bytes) else t.name,
            "dtype": types[t.type],
            "scale": scale,
            "zero_point": zp,
        }

    out = []
    for op in sg.operators:
        code = fu.get_builtin_code_from_operator_code(model.operatorCodes[op.opcodeIndex])
        out.append(
            {
                "op": names[code],
                "inputs": [tensor(i) for i in op.inputs if i >= 0],
                "outputs": [tensor(i) for i in op.outputs if i >= 0],
            }
        )
    return out

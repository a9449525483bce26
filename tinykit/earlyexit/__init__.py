"""Example difficulty (prediction depth) and early-exit networks that run as stages on devices.

- :mod:`~tinykit.earlyexit.blocks`: which named blocks of a backbone can carry a probe or an exit
  head, and the backbone cut into one segment per block (torch.fx).
- :mod:`~tinykit.earlyexit.difficulty`: k-NN probes on each block's representation and the
  prediction depth of every example (Baldock et al., 2021).
- :mod:`~tinykit.earlyexit.heads`, :mod:`~tinykit.earlyexit.train`: exit heads and their training
  (backbone frozen or joint).
- :mod:`~tinykit.earlyexit.calibrate`: one confidence threshold per head for an accuracy or a MAC
  target, and the threshold sweep.
- :mod:`~tinykit.earlyexit.export`: stages as ONNX files and as one multi-signature .tflite, with
  the bundle manifest's ``early_exit`` section.

Nothing here is imported by ``import tinykit``; torch is imported inside the modules that need it.
"""

"""Resolve ``--model`` / ``--weights`` / ``--data`` into a model, its data and its InputSpec."""

from __future__ import annotations

from pathlib import Path

from tinykit.data import DataSet, load_data, load_digits_data
from tinykit.errors import TinykitError
from tinykit.pipeline import ModelSource


def _check_fits(model, data: DataSet) -> None:
    import torch

    try:
        with torch.no_grad():
            out = model.eval()(torch.zeros(data.spec.shape))
    except RuntimeError as e:
        raise TinykitError(
            f"data of shape {list(data.spec.shape[1:])} does not fit the model: "
            f"{str(e).splitlines()[0]}"
        ) from e
    if out.dim() != 2 or out.shape[1] != data.spec.num_classes:
        raise TinykitError(
            f"the model returns {list(out.shape)} but the data has {data.spec.num_classes} "
            "classes: pass --num-classes or check the data's labels"
        )


def _warn_if_prepared_otherwise(data_spec, ckpt_spec, path) -> None:
    """The checkpoint's preprocessing is applied as trained; say so where the data differs
    from what it was trained on (float against uint8 pixels, another image size)."""
    import sys

    def values(scale: float) -> str:
        if abs(scale - 1 / 255) < 1e-9:
            return "uint8 pixels (scaled by 1/255)"
        return "float values (used as they are)" if scale == 1 else f"values scaled by {scale:g}"

    d, c = data_spec.preprocess, ckpt_spec.preprocess
    if abs(d.scale - c.scale) > 1e-9:
        print(
            f"tinykit: warning: the data holds {values(d.scale)} but {path} was trained on "
            f"{values(c.scale)}; its preprocessing is applied as trained: store the data as "
            "it was at training time",
            file=sys.stderr,
        )
    if tuple(d.resize) != tuple(c.resize):
        print(
            f"tinykit: warning: the data's images are {d.resize[0]}x{d.resize[1]} but {path} "
            f"takes {c.resize[0]}x{c.resize[1]}: they are resized (bilinear) to fit",
            file=sys.stderr,
        )


def load_source(
    model: str | None,
    *,
    data: str | None = None,
    weights: str | None = None,
    num_classes: int | None = None,
    image_size: int | None = None,
    trust_pickle: bool = False,
    seed: int = 0,
    progress: bool = True,
) -> tuple[ModelSource, DataSet]:
    """The model to compress and the data to measure it on.

    - nothing: the embedded reference ResNet-8 on the digits (trained once, cached);
    - a tinykit checkpoint file: its model, on ``data`` (digits if it was trained on them),
      prepared with the checkpoint's own preprocessing;
    - an architecture name (tinykit or torchvision) with ``weights`` (a state_dict file).
    """
    from tinykit.checkpoint import load_checkpoint, load_state_dict_file
    from tinykit.reference import REFERENCE_NAME, reference_checkpoint

    if model is None:
        if data is not None:
            raise TinykitError(
                "--data needs --model (a checkpoint, or an architecture with --weights); "
                "train one with 'tinykit train --data DIR'"
            )
        ckpt = reference_checkpoint(progress=progress)
        ds = load_digits_data(seed)
        return ModelSource(ckpt.build(), ckpt.arch, ckpt.arch_kwargs, REFERENCE_NAME), ds
    path = Path(model)
    if path.suffix in (".pt", ".pth", ".ckpt") or path.exists():
        if weights is not None:
            raise TinykitError("--weights goes with an architecture name, not a checkpoint file")
        ckpt = load_checkpoint(path, trust_pickle=trust_pickle)
        ds = (
            load_data(
                data, seed=seed, image_size=image_size, folder_size=tuple(ckpt.spec.shape[2:])
            )
            if data
            else load_digits_data(seed)
        )
        if ds.spec.channels != ckpt.spec.channels:
            raise TinykitError(
                f"the data has {ds.spec.channels}-channel images but {path} takes "
                f"{ckpt.spec.channels} channels"
            )
        top = int(max(ds.train.y.max(), ds.test.y.max()))
        if top >= ckpt.spec.num_classes:
            raise TinykitError(
                f"the data has labels up to {top} but {path} has {ckpt.spec.num_classes} classes"
            )
        _warn_if_prepared_otherwise(ds.spec, ckpt.spec, path)
        ds.spec = ckpt.spec  # the preprocessing the model was trained with
        m = ckpt.build()
        _check_fits(m, ds)
        return ModelSource(m, ckpt.arch, ckpt.arch_kwargs, path.stem), ds
    from tinykit.models import build_model

    if weights is not None and not Path(weights).is_file():
        raise TinykitError(f"weights file {weights} does not exist")
    ds = load_data(data, seed=seed, image_size=image_size) if data else load_digits_data(seed)
    n = num_classes or ds.spec.num_classes
    if n < ds.spec.num_classes:
        raise TinykitError(
            f"--num-classes {n} is fewer than the data's {ds.spec.num_classes} classes"
        )
    if n > ds.spec.num_classes:
        from dataclasses import replace

        ds.spec = replace(
            ds.spec, labels=(*ds.spec.labels, *map(str, range(ds.spec.num_classes, n)))
        )
    if weights is None:
        import sys

        import torch

        with torch.random.fork_rng():  # the same random weights on every run, global RNG untouched
            torch.manual_seed(seed)
            m = build_model(model, num_classes=n, in_channels=ds.spec.channels)

        print(
            f"tinykit: warning: --model {model} without --weights: untrained (random) weights; "
            "accuracy figures are meaningless, sizes, MACs and latency are real",
            file=sys.stderr,
        )
        _check_fits(m, ds)
        return ModelSource(m.eval(), model, {}, model), ds
    m = build_model(model, num_classes=n, in_channels=ds.spec.channels)
    sd = load_state_dict_file(weights, trust_pickle=trust_pickle)
    try:
        m.load_state_dict(sd, strict=True)
    except RuntimeError as e:
        lines = [ln.strip() for ln in str(e).splitlines() if ln.strip()]
        detail = lines[1] if len(lines) > 1 else lines[0]
        raise TinykitError(f"{weights} does not fit {model} with {n} classes: {detail}") from e
    _check_fits(m, ds)
    return ModelSource(m.eval(), model, {}, model), ds

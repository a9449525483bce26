"""InputSpec: what a model expects, born with the data set and carried into every artifact."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from tinykit.errors import TinykitError


@dataclass(frozen=True)
class Preprocess:
    """Raw image -> model input: resize (bilinear), then (raw * scale - mean) / std."""

    scale: float = 1.0
    mean: tuple[float, ...] = (0.0,)
    std: tuple[float, ...] = (1.0,)
    resize: tuple[int, int] | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "mean", tuple(float(v) for v in self.mean))
        object.__setattr__(self, "std", tuple(float(v) for v in self.std))
        if self.resize is not None:
            object.__setattr__(self, "resize", tuple(int(v) for v in self.resize))
        if any(s <= 0 for s in self.std):
            raise TinykitError(f"preprocess std must be positive, got {self.std}")
        if self.scale <= 0:
            raise TinykitError(f"preprocess scale must be positive, got {self.scale}")


@dataclass(frozen=True)
class InputSpec:
    """Name, shape (batch 1, NCHW), dtype, preprocessing and labels of a model's input."""

    shape: tuple[int, ...]
    labels: tuple[str, ...]
    preprocess: Preprocess = field(default_factory=Preprocess)
    name: str = "input"
    dtype: str = "float32"
    layout: str = "NCHW"

    def __post_init__(self) -> None:
        object.__setattr__(self, "shape", tuple(int(v) for v in self.shape))
        object.__setattr__(self, "labels", tuple(str(v) for v in self.labels))
        if len(self.shape) != 4 or self.shape[0] != 1:
            raise TinykitError(f"InputSpec shape must be [1, C, H, W], got {list(self.shape)}")

    @property
    def channels(self) -> int:
        return self.shape[1]

    @property
    def num_classes(self) -> int:
        return len(self.labels)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["shape"] = list(self.shape)
        d["labels"] = list(self.labels)
        pre = d["preprocess"]
        pre["mean"], pre["std"] = list(pre["mean"]), list(pre["std"])
        pre["resize"] = list(pre["resize"]) if pre["resize"] is not None else None
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> InputSpec:
        try:
            pre = Preprocess(**d.get("preprocess", {}))
            return cls(
                shape=d["shape"],
                labels=d["labels"],
                preprocess=pre,
                name=d.get("name", "input"),
                dtype=d.get("dtype", "float32"),
                layout=d.get("layout", "NCHW"),
            )
        except (KeyError, TypeError) as e:
            raise TinykitError(f"malformed input spec ({e}): re-create the checkpoint") from e

    def prepare(self, raw):  # -> np.ndarray
        """Raw images -> float32 model input, exactly as a device will do it."""
        from tinykit.preprocess import preprocess

        p = self.preprocess
        return preprocess(raw, scale=p.scale, mean=p.mean, std=p.std, resize=p.resize)

"""Recipe: the ordered stages of ``compress`` and their settings, as data (CLI flags or TOML)."""

from __future__ import annotations

import tomllib
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from tinykit.errors import TinykitError

PRUNE_METHODS = ("fine", "channel", "none")
QUANT_METHODS = ("kmeans", "linear", "none")


def default_quant(bits: int) -> str:
    """k-means below 8 bits (codebooks win at low bit widths), linear int8 at 8."""
    return "kmeans" if bits < 8 else "linear"


# the types a recipe key may hold, by its annotation (TOML integers count as floats too)
_NONE = type(None)
_TYPES: dict[str, tuple[type, ...]] = {
    "str": (str,),
    "int": (int,),
    "float": (int, float),
    "bool": (bool,),
    "list[float]": (list,),
    "list[str]": (list,),
    "float | None": (int, float, _NONE),
    "int | None": (int, _NONE),
    "str | None": (str, _NONE),
    "float | dict[str, float]": (int, float, dict),
    "float | dict[str, float] | str": (int, float, dict, str),
}
_TYPE_NAMES = {
    str: "a string",
    int: "a whole number",
    float: "a number",
    bool: "true or false",
    list: "a list",
    dict: "a table",
    _NONE: "left out",
}


@dataclass
class Recipe:
    prune: str = "fine"
    # fine: one value for all layers, a per-layer table, or "auto" (from a sensitivity scan,
    # bounded by max_drop accuracy points or reaching target_sparsity overall)
    sparsity: float | dict[str, float] | str = 0.6
    max_drop: float | None = None
    target_sparsity: float | None = None
    scan_grid: list[float] = field(default_factory=lambda: [round(0.1 * i, 2) for i in range(10)])
    ratio: float | dict[str, float] = 0.3  # channel: share of output channels removed
    importance: str = "l2"
    round_to: int | None = None
    finetune_epochs: int = 5
    finetune_lr: float = 1e-3
    quant: str | None = None  # None: from bits (kmeans < 8, linear at 8)
    bits: int = 4
    per_channel: bool = False
    qat_epochs: int | None = None  # None: k-means 3 (5 at <= 3 bits), linear 0; set on init
    calibration: str = "minmax"  # linear: minmax | percentile | mse
    calibration_samples: int = 512
    tflite_io: str = "int8"  # linear TFLite input/output: int8 (full-int8) or float
    formats: list[str] = field(default_factory=lambda: ["onnx", "tflite"])
    threads: int = 1
    board: str = "host"  # also bench on this board: a profile name or a board.toml
    host: str | None = None  # user@host (SSH) or a phone serial (adb); None: estimate
    port: int | None = None
    identity: str | None = None
    bench_runs: int = 200
    bench_warmup: int = 20
    seed: int = 0

    def __post_init__(self) -> None:
        if self.prune not in PRUNE_METHODS:
            raise TinykitError(
                f"unknown prune method '{self.prune}': use {', '.join(PRUNE_METHODS)}"
            )
        if self.quant is None:
            self.quant = default_quant(self.bits)
        if self.quant not in QUANT_METHODS:
            raise TinykitError(
                f"unknown quant method '{self.quant}': use {', '.join(QUANT_METHODS)}"
            )
        if not 1 <= self.bits <= 8:
            raise TinykitError(f"--bits must be 1-8, got {self.bits}")
        if self.quant == "linear" and self.bits < 2:
            raise TinykitError(f"linear quantization needs --bits 2-8, got {self.bits}")
        if self.sparsity == "auto":
            if self.max_drop is None and self.target_sparsity is None:
                self.max_drop = 0.5
            if self.max_drop is not None and self.target_sparsity is not None:
                raise TinykitError("give --max-drop or --target-sparsity, not both")
            if self.max_drop is not None and self.max_drop < 0:
                raise TinykitError(f"--max-drop must be >= 0 accuracy points, got {self.max_drop}")
            if self.target_sparsity is not None and not 0 <= self.target_sparsity < 1:
                raise TinykitError(
                    f"--target-sparsity must be in [0, 1), got {self.target_sparsity}"
                )
        elif isinstance(self.sparsity, str):
            raise TinykitError(
                f"sparsity must be a number in [0, 1) or 'auto', got '{self.sparsity}'"
            )
        else:
            for name, v in (("max-drop", self.max_drop), ("target-sparsity", self.target_sparsity)):
                if v is not None:
                    raise TinykitError(
                        f"--{name} goes with --sparsity auto (it picks the sparsities)"
                    )
        checks = [("ratio", self.ratio), ("scan grid value", self.scan_grid)]
        if self.sparsity != "auto":
            checks.append(("sparsity", self.sparsity))
        for what, v in checks:
            values = v.values() if isinstance(v, dict) else v if isinstance(v, list) else [v]
            for x in values:
                if not isinstance(x, (int, float)) or not 0.0 <= float(x) < 1.0:
                    raise TinykitError(f"{what} must be in [0, 1), got {x}")
        if self.calibration not in ("minmax", "percentile", "mse"):
            raise TinykitError(
                f"unknown calibration method '{self.calibration}': use minmax, percentile, mse"
            )
        if self.calibration_samples < 1:
            raise TinykitError("calibration_samples must be >= 1")
        if self.tflite_io not in ("int8", "float"):
            raise TinykitError(f"tflite_io must be int8 or float, got '{self.tflite_io}'")
        if self.finetune_epochs < 0 or (self.qat_epochs or 0) < 0:
            raise TinykitError("epochs must be >= 0")
        if self.threads < 1 or self.bench_runs < 1 or self.bench_warmup < 0:
            raise TinykitError("threads and bench runs must be >= 1, warmup >= 0")
        if self.qat_epochs is None:  # k-means centroid fine-tune; linear QAT only on request
            self.qat_epochs = (5 if self.bits <= 3 else 3) if self.quant == "kmeans" else 0
        from tinykit.bench.board import check_host

        check_host(self.board, self.host)
        from tinykit.exporters.formats import FORMATS, get_format

        if not self.formats:
            raise TinykitError(f"no export format given: use --formats with {', '.join(FORMATS)}")
        for f in self.formats:
            get_format(f)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Recipe:
        known = {f.name: f for f in fields(cls)}
        unknown = sorted(set(d) - set(known))
        if unknown:
            raise TinykitError(
                f"unknown recipe key '{unknown[0]}': known keys are {', '.join(sorted(known))}"
            )
        for key, v in d.items():
            kinds = _TYPES[known[key].type]
            if not isinstance(v, kinds) or (isinstance(v, bool) and bool not in kinds):
                shown = [k for k in kinds if not (k is int and float in kinds)]
                names = " or ".join(_TYPE_NAMES[k] for k in shown)
                raise TinykitError(f"recipe key '{key}' must be {names}, got {v!r}")
        return cls(**d)

    @staticmethod
    def read_toml(path: str | Path) -> dict[str, Any]:
        """The settings a recipe file gives, as written (defaults are not filled in, so that
        flags and the file combine as if every setting came from the command line)."""
        p = Path(path)
        if not p.is_file():
            raise TinykitError(f"recipe file {p} does not exist")
        try:
            d = tomllib.loads(p.read_text())
        except tomllib.TOMLDecodeError as e:
            raise TinykitError(f"recipe {p} is not valid TOML ({e})") from e
        if "recipe" in d:
            other = sorted(set(d) - {"recipe"})
            if other:
                raise TinykitError(
                    f"recipe {p}: unknown table or key '{other[0]}' beside [recipe]: "
                    "put every setting under [recipe]"
                )
            d = d["recipe"]
        Recipe.from_dict(d)  # every key known and of the right type
        return d

    @classmethod
    def from_toml(cls, path: str | Path) -> Recipe:
        return cls.from_dict(cls.read_toml(path))

"""Data sets: the embedded digits default and the user's own arrays or image folders.

Raw images stay raw (their original value scale); :class:`InputSpec` says how to turn them
into model inputs, so the same preparation runs in training, in verification and on devices.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tinykit.errors import TinykitError
from tinykit.spec import InputSpec, Preprocess

DATA_HELP = """\
--data accepts (images as N,C,H,W or N,H,W, float or uint8; labels as integers 0..K-1):
  DIR with train.npz and test.npz   arrays 'x' and 'y' in each (optional 'labels': class names);
                                    validation is 10% of train, stratified, fixed seed
  DIR with x.npy and y.npy          one set, split 70/10/20 into train/val/test (stratified)
  IMAGES.npy,LABELS.npy             the same, as an explicit pair of files
  DIR/train/<class>/*.png and DIR/test/<class>/*.png, or DIR/<class>/*.png
                                    ImageFolder layout (classes sorted by name), read with
                                    Pillow as RGB and resized to --image-size
Without --data: scikit-learn's bundled digits (1,797 8x8 images, values 0-16), upsampled to
32x32; split 70/10/20 stratified with seed 0."""


@dataclass
class Split:
    """Raw images (N,C,H,W float32, original value scale) and integer labels."""

    x: np.ndarray
    y: np.ndarray

    def __len__(self) -> int:
        return len(self.y)


@dataclass
class DataSet:
    name: str
    train: Split
    val: Split
    test: Split
    spec: InputSpec

    def inputs(self, split: str) -> np.ndarray:
        """Model-ready float32 inputs of one split."""
        return self.spec.prepare(getattr(self, split).x)

    def summary(self) -> str:
        c, h, w = self.spec.shape[1:]
        return (
            f"{self.name}: {len(self.train)} train / {len(self.val)} val / {len(self.test)} test, "
            f"input {c}x{h}x{w}, {self.spec.num_classes} classes"
        )


def _stratified_split(y: np.ndarray, fractions: tuple[float, ...], seed: int) -> list[np.ndarray]:
    """Index arrays for each fraction, stratified by label, deterministic for a seed."""
    rng = np.random.default_rng(seed)
    parts: list[list[np.ndarray]] = [[] for _ in fractions]
    for label in np.unique(y):
        idx = np.flatnonzero(y == label)
        rng.shuffle(idx)
        bounds = np.round(np.cumsum(fractions) * len(idx)).astype(int)
        start = 0
        for k, end in enumerate(bounds):
            parts[k].append(idx[start:end])
            start = end
    return [np.sort(np.concatenate(p)) for p in parts]


def _split3(x: np.ndarray, y: np.ndarray, seed: int) -> tuple[Split, Split, Split]:
    tr, va, te = _stratified_split(y, (0.7, 0.1, 0.2), seed)
    return Split(x[tr], y[tr]), Split(x[va], y[va]), Split(x[te], y[te])


def load_digits_data(seed: int = 0) -> DataSet:
    """scikit-learn's bundled digits: real 8x8 handwritten digits, pixel values 0..16."""
    from sklearn.datasets import load_digits

    d = load_digits()
    x = d.images.astype(np.float32)[:, None]  # N,1,8,8
    y = d.target.astype(np.int64)
    train, val, test = _split3(x, y, seed)
    spec = InputSpec(
        shape=(1, 1, 32, 32),
        labels=tuple(str(i) for i in range(10)),
        preprocess=Preprocess(scale=1 / 16, mean=(0.5,), std=(0.5,), resize=(32, 32)),
    )
    return DataSet("digits", train, val, test, spec)


def _check_xy(x: np.ndarray, y: np.ndarray, where: str) -> tuple[np.ndarray, np.ndarray]:
    if x.ndim == 3:
        x = x[:, None]
    if x.ndim != 4:
        raise TinykitError(f"{where}: images must be N,C,H,W or N,H,W, got shape {x.shape}")
    if len(x) == 0:
        raise TinykitError(f"{where} holds no images")
    if not (np.issubdtype(x.dtype, np.integer) or np.issubdtype(x.dtype, np.floating)):
        raise TinykitError(f"{where}: images must be numbers (float or uint8), got {x.dtype}")
    if np.issubdtype(x.dtype, np.floating) and not np.isfinite(x).all():
        bad = int((~np.isfinite(x)).any(axis=(1, 2, 3)).sum())
        raise TinykitError(
            f"{where}: {bad} image(s) hold NaN or infinite values: clean or drop them"
        )
    if x.shape[1] > 4 and x.shape[-1] in (1, 3, 4):
        raise TinykitError(
            f"{where}: images look channels-last {x.shape}; transpose them to N,C,H,W"
        )
    y = np.asarray(y)
    if y.ndim != 1 or len(y) != len(x):
        raise TinykitError(
            f"{where}: labels must be 1-D with one per image ({len(x)}), got {y.shape}"
        )
    if not np.issubdtype(y.dtype, np.integer):
        if np.issubdtype(y.dtype, np.floating) and np.all(y == np.round(y)):
            y = y.astype(np.int64)
        else:
            raise TinykitError(f"{where}: labels must be integers, got dtype {y.dtype}")
    if len(y) and y.min() < 0:
        raise TinykitError(f"{where}: labels must be 0..K-1, found {y.min()}")
    return x, y.astype(np.int64)


def _load_npy(path: Path) -> np.ndarray:
    try:
        return np.load(path, allow_pickle=False)
    except (OSError, ValueError) as e:
        raise TinykitError(f"cannot read {path} as a NumPy array ({e})") from e


def _load_npz(path: Path) -> tuple[np.ndarray, np.ndarray, list[str] | None]:
    try:
        with np.load(path, allow_pickle=False) as z:
            if "x" not in z or "y" not in z:
                raise TinykitError(f"{path} must hold arrays 'x' and 'y', found {sorted(z.files)}")
            labels = [str(v) for v in z["labels"]] if "labels" in z else None
            return z["x"], z["y"], labels
    except (OSError, ValueError) as e:
        raise TinykitError(f"cannot read {path} as .npz ({e})") from e


def _spec_for(train_x: np.ndarray, labels: list[str], resize: tuple[int, int] | None) -> InputSpec:
    """Value scale from dtype; per-channel mean/std measured on the training split."""
    scale = 1 / 255 if train_x.dtype == np.uint8 else 1.0
    xs = train_x.astype(np.float32) * scale
    mean = tuple(round(float(v), 4) for v in xs.mean(axis=(0, 2, 3)))
    std = tuple(max(round(float(v), 4), 1e-3) for v in xs.std(axis=(0, 2, 3)))
    c, h, w = train_x.shape[1:]
    size = resize or (h, w)
    return InputSpec(
        shape=(1, c, *size),
        labels=tuple(labels),
        preprocess=Preprocess(scale=scale, mean=mean, std=std, resize=tuple(size)),
    )


def _label_names(ys: list[np.ndarray], names: list[str] | None, where: str) -> list[str]:
    k = int(max(int(y.max()) for y in ys if len(y))) + 1
    if names is None:
        return [str(i) for i in range(k)]
    if len(names) < k:
        raise TinykitError(f"{where}: {len(names)} label names for labels up to {k - 1}")
    return names


def _read_image_folder(root: Path, classes: list[str], size: tuple[int, int] | None):
    from PIL import Image, UnidentifiedImageError

    exts = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff"}
    xs, ys = [], []
    for label, cls in enumerate(classes):
        files = sorted(p for p in (root / cls).iterdir() if p.suffix.lower() in exts)
        for f in files:
            try:
                with Image.open(f) as im:
                    im = im.convert("RGB")
                    if size is None:
                        size = (im.height, im.width)
                    if (im.height, im.width) != tuple(size):
                        im = im.resize((size[1], size[0]), Image.BILINEAR)
                    xs.append(np.asarray(im, dtype=np.uint8).transpose(2, 0, 1))
                    ys.append(label)
            except (UnidentifiedImageError, OSError) as e:
                raise TinykitError(f"cannot read image {f} ({e})") from e
    if not xs:
        raise TinykitError(f"no images found under {root} (expected {root}/<class>/*.png)")
    return np.stack(xs), np.asarray(ys, dtype=np.int64), size


def _class_dirs(root: Path) -> list[str]:
    return sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))


def load_data(
    path: str | None,
    *,
    seed: int = 0,
    image_size: int | None = None,
    folder_size: tuple[int, int] | None = None,
) -> DataSet:
    """Load ``--data`` (see DATA_HELP) or the embedded digits when ``path`` is None.

    ``folder_size``: the size to read ImageFolder images at when ``image_size`` is not given
    (a checkpoint's own input size, so that images are resized once, as in training)."""
    if path is None:
        return load_digits_data(seed)
    size = (image_size, image_size) if image_size else None
    read_size = size or folder_size
    if "," in path:
        xp, yp = (Path(p) for p in path.split(",", 1))
        for p in (xp, yp):
            if not p.is_file():
                raise TinykitError(f"data file {p} does not exist")
        x, y = _check_xy(_load_npy(xp), _load_npy(yp), str(xp))
        return _finish(xp.stem, *_split3(x, y, seed), None, size)
    root = Path(path)
    if not root.exists():
        raise TinykitError(f"data path {root} does not exist")
    if root.is_file():
        raise TinykitError(f"--data {root} is a file: give a folder or IMAGES.npy,LABELS.npy")
    if (root / "train.npz").is_file():
        if not (root / "test.npz").is_file():
            raise TinykitError(f"{root} has train.npz but no test.npz")
        xtr, ytr, names = _load_npz(root / "train.npz")
        xte, yte, _ = _load_npz(root / "test.npz")
        xtr, ytr = _check_xy(xtr, ytr, str(root / "train.npz"))
        xte, yte = _check_xy(xte, yte, str(root / "test.npz"))
        if xtr.shape[1:] != xte.shape[1:]:
            raise TinykitError(
                f"train images {xtr.shape[1:]} and test images {xte.shape[1:]} differ in shape"
            )
        return _finish(root.name, *_val_from_train(xtr, ytr, seed), Split(xte, yte), names, size)
    if (root / "x.npy").is_file() and (root / "y.npy").is_file():
        x, y = _check_xy(_load_npy(root / "x.npy"), _load_npy(root / "y.npy"), str(root))
        return _finish(root.name, *_split3(x, y, seed), None, size)
    if (root / "train").is_dir() and (root / "test").is_dir():
        classes = _class_dirs(root / "train")
        xtr, ytr, size = _read_image_folder(root / "train", classes, read_size)
        xte, yte, _ = _read_image_folder(root / "test", classes, size)
        return _finish(root.name, *_val_from_train(xtr, ytr, seed), Split(xte, yte), classes, None)
    classes = _class_dirs(root)
    if classes:
        x, y, size = _read_image_folder(root, classes, read_size)
        return _finish(root.name, *_split3(x, y, seed), classes, None)
    raise TinykitError(f"{root} holds no data tinykit can read.\n{DATA_HELP}".split("\n")[0])


def _val_from_train(x: np.ndarray, y: np.ndarray, seed: int) -> tuple[Split, Split]:
    """A given test split stays as it is; validation is a stratified 10% of train."""
    tr, va = _stratified_split(y, (0.9, 0.1), seed)
    return Split(x[tr], y[tr]), Split(x[va], y[va])


def _finish(name, train: Split, val: Split, test: Split, names, size) -> DataSet:
    for s, what in ((train, "train"), (test, "test")):
        if len(s) == 0:
            raise TinykitError(f"data set '{name}' has an empty {what} split")
    labels = _label_names([train.y, val.y, test.y], names, name)
    if len(labels) < 2:
        raise TinykitError(f"data set '{name}' has one class only: a classifier needs two or more")
    missing = sorted(set(range(len(labels))) - set(np.unique(train.y).tolist()))
    if missing:
        import sys

        shown = ", ".join(map(str, missing[:8])) + (" ..." if len(missing) > 8 else "")
        print(
            f"tinykit: warning: data set '{name}': no training images of class(es) {shown} "
            f"(labels are read as 0..{len(labels) - 1})",
            file=sys.stderr,
        )
    spec = _spec_for(train.x, labels, size)

    def f32(s: Split) -> Split:
        return Split(s.x.astype(np.float32), s.y)

    return DataSet(name, f32(train), f32(val), f32(test), spec)

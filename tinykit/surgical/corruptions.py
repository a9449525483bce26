"""Image corruptions in the style of CIFAR-10-C (Hendrycks & Dietterich, 2019), computed here.

Each corruption takes images with values in [0, 1] (N, C, H, W float) and a severity 1-5 and
returns corrupted images in [0, 1]. The severity constants follow the CIFAR-10-C settings for
32x32 images; brightness and contrast act on every channel alike (the benchmark works in HSV
for colour images, which for one channel is the same thing).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from tinykit.errors import TinykitError

Corruption = Callable[[np.ndarray, int, np.random.Generator], np.ndarray]
CORRUPTIONS: dict[str, Corruption] = {}


def register(name: str) -> Callable[[Corruption], Corruption]:
    def deco(fn: Corruption) -> Corruption:
        CORRUPTIONS[name] = fn
        return fn

    return deco


def _clip(x: np.ndarray) -> np.ndarray:
    return np.clip(x, 0.0, 1.0).astype(np.float32)


@register("gaussian_noise")
def gaussian_noise(x, severity, rng):
    sigma = [0.04, 0.06, 0.08, 0.09, 0.10][severity - 1]
    return _clip(x + rng.normal(0.0, sigma, x.shape))


@register("shot_noise")
def shot_noise(x, severity, rng):
    """Poisson photon noise: fewer photons per pixel (lower rate) is noisier."""
    rate = [500, 250, 100, 75, 50][severity - 1]
    return _clip(rng.poisson(np.clip(x, 0, 1) * rate) / rate)


@register("impulse_noise")
def impulse_noise(x, severity, rng):
    """Salt and pepper: a share of pixels set to 0 or 1."""
    amount = [0.01, 0.02, 0.03, 0.05, 0.07][severity - 1]
    out = x.copy()
    u = rng.random(x.shape)
    out[u < amount / 2] = 0.0
    out[(u >= amount / 2) & (u < amount)] = 1.0
    return _clip(out)


def _conv2d_same(x: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """Each channel convolved with ``kernel`` (odd size), edges reflected."""
    kh, kw = kernel.shape
    ph, pw = kh // 2, kw // 2
    pad = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), mode="reflect")
    out = np.zeros_like(x, dtype=np.float64)
    h, w = x.shape[2:]
    for i in range(kh):
        for j in range(kw):
            out += kernel[i, j] * pad[:, :, i : i + h, j : j + w]
    return out


def gaussian_kernel(sigma: float) -> np.ndarray:
    r = max(1, int(np.ceil(3 * sigma)))
    t = np.arange(-r, r + 1)
    g = np.exp(-(t**2) / (2 * sigma**2))
    k = np.outer(g, g)
    return k / k.sum()


def disk_kernel(radius: float, alias_sigma: float) -> np.ndarray:
    """A flat disk (out-of-focus lens), softened by a small Gaussian against aliasing."""
    r = max(1, int(np.ceil(radius)))
    t = np.arange(-r, r + 1)
    yy, xx = np.meshgrid(t, t, indexing="ij")
    disk = (xx**2 + yy**2 <= radius**2).astype(np.float64)
    disk /= disk.sum()
    g = gaussian_kernel(alias_sigma)
    size = disk.shape[0] + g.shape[0] - 1
    k = np.zeros((size, size))
    for i in range(g.shape[0]):
        for j in range(g.shape[1]):
            k[i : i + disk.shape[0], j : j + disk.shape[1]] += g[i, j] * disk
    return k / k.sum()


@register("defocus_blur")
def defocus_blur(x, severity, rng):
    radius, alias = [(0.3, 0.4), (0.4, 0.5), (0.5, 0.6), (1.0, 0.2), (1.5, 0.1)][severity - 1]
    return _clip(_conv2d_same(x, disk_kernel(radius, alias)))


@register("gaussian_blur")
def gaussian_blur(x, severity, rng):
    sigma = [0.4, 0.6, 0.7, 0.8, 1.0][severity - 1]
    return _clip(_conv2d_same(x, gaussian_kernel(sigma)))


def _resize_box(x: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    from PIL import Image

    out = np.empty((*x.shape[:2], *size), dtype=np.float32)
    for n in range(x.shape[0]):
        for c in range(x.shape[1]):
            im = Image.fromarray(x[n, c].astype(np.float32), mode="F")
            out[n, c] = np.asarray(im.resize((size[1], size[0]), Image.BOX))
    return out


@register("pixelate")
def pixelate(x, severity, rng):
    """Shrink with box averaging, then blow up again with nearest neighbours."""
    from PIL import Image

    factor = [0.95, 0.9, 0.85, 0.75, 0.65][severity - 1]
    h, w = x.shape[2:]
    small = _resize_box(x, (max(1, int(h * factor)), max(1, int(w * factor))))
    out = np.empty_like(x, dtype=np.float32)
    for n in range(x.shape[0]):
        for c in range(x.shape[1]):
            im = Image.fromarray(small[n, c], mode="F")
            out[n, c] = np.asarray(im.resize((w, h), Image.NEAREST))
    return _clip(out)


@register("brightness")
def brightness(x, severity, rng):
    return _clip(x + [0.05, 0.1, 0.15, 0.2, 0.3][severity - 1])


@register("contrast")
def contrast(x, severity, rng):
    """Pull every pixel toward its image's mean."""
    c = [0.75, 0.5, 0.4, 0.3, 0.15][severity - 1]
    mean = x.mean(axis=(1, 2, 3), keepdims=True)
    return _clip((x - mean) * c + mean)


@register("jpeg")
def jpeg(x, severity, rng):
    """Encode and decode with JPEG at a low quality (Pillow)."""
    import io

    from PIL import Image

    quality = [80, 65, 58, 50, 40][severity - 1]
    out = np.empty_like(x, dtype=np.float32)
    for n in range(x.shape[0]):
        img = np.round(np.clip(x[n], 0, 1) * 255).astype(np.uint8)
        im = Image.fromarray(img[0] if img.shape[0] == 1 else img.transpose(1, 2, 0))
        buf = io.BytesIO()
        im.save(buf, format="JPEG", quality=quality)
        dec = np.asarray(Image.open(io.BytesIO(buf.getvalue())), dtype=np.float32) / 255
        out[n] = dec[None] if dec.ndim == 2 else dec.transpose(2, 0, 1)
    return out


def check_corruption(name: str, severity: int) -> None:
    if name not in CORRUPTIONS:
        raise TinykitError(f"unknown corruption '{name}': use one of {', '.join(CORRUPTIONS)}")
    if not 1 <= int(severity) <= 5:
        raise TinykitError(f"severity must be 1-5, got {severity}")


def corrupt(x: np.ndarray, name: str, severity: int, *, seed: int = 0) -> np.ndarray:
    """``x`` (N, C, H, W in [0, 1]) with corruption ``name`` at ``severity`` (1-5)."""
    check_corruption(name, severity)
    rng = np.random.default_rng(seed)
    return CORRUPTIONS[name](np.asarray(x, dtype=np.float32), int(severity), rng)

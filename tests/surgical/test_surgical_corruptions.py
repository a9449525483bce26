"""Corruption statistics that follow from their definitions."""

from __future__ import annotations

import numpy as np
import pytest


def _images(seed=0, lo=0.2, hi=0.6):
    return np.random.default_rng(seed).uniform(lo, hi, (16, 1, 32, 32)).astype(np.float32)


@pytest.mark.parametrize("severity,shift", [(1, 0.05), (3, 0.15), (5, 0.3)])
def test_brightness_shifts_the_mean_by_its_constant(severity, shift):
    from tinykit.surgical.corruptions import corrupt

    x = _images()  # max 0.6 + 0.3 < 1: no clipping
    y = corrupt(x, "brightness", severity)
    assert np.isclose((y - x).mean(), shift, atol=1e-6)
    assert np.allclose(y - x, shift, atol=1e-6)


def test_contrast_keeps_each_mean_and_scales_spread():
    from tinykit.surgical.corruptions import corrupt

    x = _images(1)
    y = corrupt(x, "contrast", 2)  # factor 0.5
    assert np.allclose(y.mean(axis=(1, 2, 3)), x.mean(axis=(1, 2, 3)), atol=1e-5)
    assert np.allclose(y.std(axis=(1, 2, 3)), 0.5 * x.std(axis=(1, 2, 3)), rtol=1e-4)


def test_gaussian_noise_has_its_standard_deviation_and_seed():
    from tinykit.surgical.corruptions import corrupt

    x = np.full((64, 1, 32, 32), 0.5, dtype=np.float32)  # far from the clip bounds
    y = corrupt(x, "gaussian_noise", 5, seed=3)
    assert abs((y - x).std() - 0.10) < 0.002
    assert abs((y - x).mean()) < 0.002
    assert np.array_equal(y, corrupt(x, "gaussian_noise", 5, seed=3))
    assert not np.array_equal(y, corrupt(x, "gaussian_noise", 5, seed=4))


def test_shot_noise_is_unbiased_and_impulse_hits_its_share():
    from tinykit.surgical.corruptions import corrupt

    x = np.full((64, 1, 32, 32), 0.5, dtype=np.float32)
    y = corrupt(x, "shot_noise", 5)  # Poisson(25) / 50: std sqrt(25) / 50 = 0.1
    assert abs(y.mean() - 0.5) < 0.003 and abs(y.std() - 0.1) < 0.003
    z = corrupt(x, "impulse_noise", 5)
    hit = (z != 0.5).mean()
    assert abs(hit - 0.07) < 0.005
    assert set(np.unique(z[z != 0.5])) == {0.0, 1.0}


@pytest.mark.parametrize("name", ["defocus_blur", "gaussian_blur", "pixelate", "jpeg"])
def test_flat_images_stay_flat(name):
    from tinykit.surgical.corruptions import corrupt

    x = np.full((2, 1, 32, 32), 0.4, dtype=np.float32)
    y = corrupt(x, name, 5)
    assert y.shape == x.shape
    assert np.allclose(y, 0.4, atol=1 / 255 + 1e-6)


def test_blurs_spread_a_point_and_keep_its_mass():
    from tinykit.surgical.corruptions import corrupt, gaussian_kernel

    x = np.zeros((1, 1, 32, 32), dtype=np.float32)
    x[0, 0, 16, 16] = 1.0
    for name in ("gaussian_blur", "defocus_blur"):
        y = corrupt(x, name, 5)
        assert np.isclose(y.sum(), 1.0, atol=1e-5)
        assert y.max() < 0.5 and (y > 0).sum() > 9
    k = gaussian_kernel(1.0)
    assert np.isclose(k.sum(), 1.0) and k.shape == (7, 7)


def test_unknown_corruption_and_bad_severity_are_named():
    from tinykit.errors import TinykitError
    from tinykit.surgical.corruptions import corrupt

    x = np.zeros((1, 1, 8, 8), dtype=np.float32)
    with pytest.raises(TinykitError, match="unknown corruption 'fog'"):
        corrupt(x, "fog", 1)
    with pytest.raises(TinykitError, match="severity must be 1-5, got 6"):
        corrupt(x, "jpeg", 6)

"""Fourier features, grid aliases and the n_train_post list."""

import numpy as np
import pytest

from tinykit.errors import TinykitError
from tinykit.meta import features as F


def test_features_are_orthonormal_under_uniform_test_distribution():
    x = np.linspace(-1, 1, 2048, endpoint=False)  # exact averages for frequencies < 1024
    phi = F.fourier_features(x, 41)
    np.testing.assert_allclose(phi.T @ phi / x.size, np.eye(41), atol=1e-12)
    assert F.feature_names(5) == ["1", "sin 1", "cos 1", "sin 2", "cos 2"]
    np.testing.assert_allclose(phi[:, 3], np.sqrt(2) * np.sin(2 * np.pi * x))


def test_grid_aliases_are_exactly_the_features_the_grid_mixes_with_s():
    d, n, s = 101, 16, (5, 6, 7, 8, 9, 10)
    phi = F.fourier_features(F.sample_x(n, "grid", np.random.default_rng(0)), d)
    q, _ = np.linalg.qr(phi[:, list(s)])
    zero = [k for k in range(d) if np.linalg.norm(phi[:, k]) < 1e-9]
    assert zero == [k for k in range(d) if F.vanishes_on_grid(k, n)]  # sin 8, sin 16, ...
    touches = [
        k
        for k in range(d)
        if k not in s
        and k not in zero
        and np.linalg.norm(q.T @ phi[:, k]) > 1e-8 * np.linalg.norm(phi[:, k])
    ]
    assert tuple(touches) == F.grid_aliases(s, d, n)
    # by hand: frequency 3 aliases with 13 and 19 on a 16-point grid -> sin 13 is feature 25
    assert 25 in touches and 37 in touches


def test_bad_dimension_and_subset_are_refused():
    with pytest.raises(TinykitError, match="even"):
        F.check_dim(500)
    with pytest.raises(TinykitError, match="outside"):
        F.check_subset([3, 21], 21)
    with pytest.raises(TinykitError, match="not an integer"):
        F.parse_int_list("1,two", "--subset")
    assert F.parse_int_list("5-7, 9", "--subset") == (5, 6, 7, 9)


def test_post_sizes_hold_the_required_points():
    sizes = F.post_sizes(501, 6, 32, 40)
    assert {5, 6, 7, 32} <= set(sizes)
    assert sizes[0] == 1 and sizes[-1] <= 3 * 501 and sizes == sorted(set(sizes))


def test_tasks_have_unit_norm_on_s_only():
    a = F.sample_coefficients((2, 4), 9, 50, np.random.default_rng(1))
    np.testing.assert_allclose(np.linalg.norm(a, axis=0), 1.0)
    assert not a[[0, 1, 3, 5, 6, 7, 8]].any()

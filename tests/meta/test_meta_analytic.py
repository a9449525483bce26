"""The alias problem (4a-c): closed forms against autograd, quadrature and hand numbers."""

import math

import numpy as np
import pytest

from tinykit.errors import TinykitError
from tinykit.meta import analytic


def test_beta_hat_closed_form_equals_general_min_norm_solve():
    for c in [(1.0, 2.0), (-0.3, 0.7), (5.0, 1e-3)]:
        for phi_x in (1.0, 1.414, -0.6):  # (a): beta_hat does not depend on phi(x)
            np.testing.assert_allclose(
                analytic.min_norm_beta(c, phi_x), analytic.beta_hat(c), rtol=1e-12
            )
    # by hand: c = (1, 2), |c|^2 = 5 -> beta = (0.2, 0.4)
    np.testing.assert_allclose(analytic.beta_hat((1, 2)), [0.2, 0.4], rtol=1e-15)


def test_gradient_hand_numbers_formula_and_autograd_agree():
    # by hand at c = (1, 2): s = 5, 4 c0 c1^3 / s^3 = 32/125 = 0.256 -> grad = 0.256 * (-2, 1)
    hand = np.array([-0.512, 0.256])
    np.testing.assert_allclose(analytic.loss_gradient((1, 2)), hand, rtol=1e-14)
    np.testing.assert_allclose(analytic.loss_gradient_autograd((1, 2)), hand, rtol=1e-12)
    rng = np.random.default_rng(0)
    for c in rng.normal(size=(20, 2)) * 2:
        g_formula = analytic.loss_gradient(c)
        np.testing.assert_allclose(
            analytic.loss_gradient_autograd(c, phi_x=1.3), g_formula, rtol=1e-10, atol=1e-14
        )
        assert abs(g_formula @ c) < 1e-12 * (1 + np.abs(g_formula).sum())  # right angles to c


def test_test_loss_matches_quadrature_with_real_alias_features():
    # phi_t = sqrt2 cos(pi x) and phi_a = sqrt2 cos(3 pi x) coincide at the training point x = 0
    # and are orthonormal under U[-1, 1): the expected loss by quadrature must be c1^4/|c|^4.
    x = np.linspace(-1, 1, 4096, endpoint=False)  # exact for these trig polynomials
    phi_t, phi_a = np.sqrt(2) * np.cos(np.pi * x), np.sqrt(2) * np.cos(3 * np.pi * x)
    for c in [(1.0, 2.0), (2.0, -0.5), (0.1, 3.0)]:
        b = analytic.min_norm_beta(c, phi_x=np.sqrt(2))
        quad = np.mean(0.5 * (phi_t - b[0] * c[0] * phi_t - b[1] * c[1] * phi_a) ** 2)
        assert quad == pytest.approx(analytic.test_loss(c), rel=1e-12)
    assert analytic.test_loss((1, 2)) == pytest.approx(16 / 25)  # 2^4 / 5^2


def test_gradient_descent_goes_to_norm_of_start_and_zero():
    tr = analytic.descend((1.0, 2.0), lr=0.05, iterations=300_000)
    r = math.sqrt(5)
    c0, c1 = tr.final
    assert c0 == pytest.approx(r, rel=5e-3)  # the norm is kept up to O(step size)
    assert 0 < c1 < 0.02
    np.testing.assert_allclose(analytic.beta_hat(tr.final), [1 / r, 0], atol=3e-3)
    assert np.all(np.diff(tr.loss) <= 1e-15)  # descent never goes up
    # a negative c_0 keeps its sign: c -> (-|c0|, 0)
    neg = analytic.descend((-1.0, 2.0), lr=0.05, iterations=300_000)
    assert neg.final[0] == pytest.approx(-r, rel=5e-3) and abs(neg.final[1]) < 0.02
    np.testing.assert_allclose(neg.limit(), [-r, 0])


def test_smaller_steps_keep_the_norm_better():
    big = analytic.descend((1.0, 2.0), lr=0.5, iterations=20_000)
    small = analytic.descend((1.0, 2.0), lr=0.05, iterations=200_000)
    drift = [abs(np.linalg.norm(t.final) - math.sqrt(5)) for t in (big, small)]
    assert drift[1] < drift[0] / 5


def test_zero_start_is_refused_and_axis_start_is_stationary():
    with pytest.raises(TinykitError, match="zero vector"):
        analytic.parse_start("0,0")
    with pytest.raises(TinykitError, match="two"):
        analytic.parse_start("1,2,3")
    tr = analytic.descend((0.0, 2.0), lr=0.1, iterations=100)
    np.testing.assert_array_equal(tr.final, [0.0, 2.0])

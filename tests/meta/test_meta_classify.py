"""Classification MAML (4g-h): the logistic learner against scikit-learn, and a small meta-run."""

import numpy as np
import pytest

from tinykit.meta.classify import logistic_fit, run_classification
from tinykit.meta.config import MetaConfig
from tinykit.meta.features import fourier_features, sample_coefficients


def test_logistic_fit_matches_scikit_learn():
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(0)
    d, n, l2 = 11, 40, 1e-2
    phi = fourier_features(rng.uniform(-1, 1, n), d)
    alpha = sample_coefficients((1, 2, 3), d, 3, rng)
    y = np.where(phi @ alpha + 0.3 * rng.normal(size=(n, 3)) >= 0, 1.0, -1.0)
    c = rng.uniform(0.5, 2.0, d)
    w = logistic_fit(phi, y, c, l2=l2, steps=3000)
    for t in range(3):
        # scikit-learn minimises C * sum(loss) + |beta|^2 / 2, i.e. ours with C = 1 / (l2 n)
        ref = LogisticRegression(C=1 / (l2 * n), fit_intercept=False, tol=1e-12, max_iter=10_000)
        ref.fit(phi * c, y[:, t])
        np.testing.assert_allclose(w[:, t], c * ref.coef_[0], rtol=2e-3, atol=2e-4)


def test_small_classification_run_beats_unit_weights():
    cfg = MetaConfig(
        d=51,
        n_inner=16,
        iterations=200,
        learner="gd",
        loss="logistic",
        num_gd_steps=5,
        inner_lr=0.5,
        num_post=8,
        test_tasks=40,
        seed=0,
    )
    res, trace = run_classification(cfg, progress=False)
    meta, ones, oracle = (res["curves"][m] for m in ("meta", "ones", "oracle"))
    at = meta["n_train_post"].index(16)
    assert meta["mean"][at] < 0.5 * ones["mean"][at]
    assert meta["mean"][at] < oracle["mean"][at] + 0.05
    c = np.abs(trace.c)
    assert c[list(cfg.subset)].min() > 2 * np.median(c)  # S is weighted up
    assert res["reference"] == {"chance_error": 0.5}


def test_classification_needs_the_logistic_loss():
    with pytest.raises(ValueError):
        run_classification(MetaConfig(d=11, n_inner=4, iterations=1), progress=False)

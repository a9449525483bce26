import numpy as np
import pytest
import torch
import torch.nn.functional as F

from tinykit.preprocess import bilinear_matrix, preprocess


@pytest.mark.parametrize(("n_in", "n_out"), [(8, 32), (5, 7), (32, 8), (3, 3)])
def test_bilinear_matches_torch_interpolate(n_in, n_out):
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 16, size=(2, 3, n_in, n_in)).astype(np.float32)
    ours = preprocess(x, scale=1.0, mean=[0.0], std=[1.0], resize=(n_out, n_out))
    ref = F.interpolate(
        torch.from_numpy(x), size=(n_out, n_out), mode="bilinear", align_corners=False
    ).numpy()
    np.testing.assert_allclose(ours, ref, atol=1e-5)


def test_bilinear_rows_sum_to_one():
    m = bilinear_matrix(8, 32)
    np.testing.assert_allclose(m.sum(1), 1.0)
    # first output pixel of an 8->32 upsample sits before the first input centre: clamped to it
    assert m[0, 0] == 1.0


def test_normalisation_by_hand():
    raw = np.array([[[[0.0, 16.0], [8.0, 4.0]]]], dtype=np.float32)
    x = preprocess(raw, scale=1 / 16, mean=[0.5], std=[0.5])
    # (v/16 - 0.5) / 0.5 = v/8 - 1
    np.testing.assert_allclose(x[0, 0], [[-1.0, 1.0], [0.0, -0.5]])


def test_per_channel_mean_std():
    raw = np.ones((1, 3, 2, 2), dtype=np.float32) * 255
    x = preprocess(raw, scale=1 / 255, mean=[0.0, 0.5, 1.0], std=[1.0, 0.5, 0.25])
    assert x[0, :, 0, 0].tolist() == [1.0, 1.0, 0.0]

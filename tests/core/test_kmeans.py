import numpy as np
import pytest
import torch
from torch import nn

from tinykit.errors import TinykitError
from tinykit.quant.kmeans import CodebookUpdate, assign, kmeans_1d, quantize_kmeans


def test_kmeans_1d_finds_obvious_clusters():
    v = np.array([0.0, 0.1, 0.9, 1.0, 1.1, 10.0, 10.2])
    c, labels = kmeans_1d(v, 3)
    np.testing.assert_allclose(c, [0.05, 1.0, 10.1], atol=1e-12)
    assert labels.tolist() == [0, 0, 1, 1, 1, 2, 2]
    assert assign(v, c).tolist() == labels.tolist()


def test_kmeans_1d_few_unique_values_are_exact():
    v = np.array([3.0, 3.0, -1.0, 2.0])
    c, labels = kmeans_1d(v, 8)
    np.testing.assert_array_equal(c, [-1.0, 2.0, 3.0])
    assert labels.tolist() == [2, 2, 0, 1]


@pytest.mark.parametrize("bits", [2, 4])
def test_reconstruction_error_close_to_sklearn(bits):
    from sklearn.cluster import KMeans

    w = np.random.default_rng(0).standard_t(df=4, size=20000) * 0.05
    k = 2**bits
    ours, labels = kmeans_1d(w, k)
    assert np.array_equal(labels, assign(w, ours))  # the binned labels are the exact nearest
    err_ours = np.mean((w - ours[labels]) ** 2)
    km = KMeans(n_clusters=k, n_init=1, random_state=0).fit(w.reshape(-1, 1))
    err_sk = np.mean((w - km.cluster_centers_[km.labels_, 0]) ** 2)
    assert err_ours <= err_sk * 1.01


def test_exact_step_on_histogram_equals_a_brute_force_lloyd_step():
    # whole bins contribute their sums, cut bins value by value: the same as labelling every value
    from tinykit.quant.kmeans import _Histogram

    v = (np.random.default_rng(1).standard_normal(50000) * 0.1).astype(np.float32)
    h = _Histogram(v, float(v.min()), float(v.max()), 512)
    c = np.array([-0.2, -0.05, 0.01, 0.13])
    lab = assign(v.astype(np.float64), c)
    brute = np.sort([v[lab == j].astype(np.float64).mean() for j in range(4)])
    np.testing.assert_allclose(h.exact_step(c), brute, rtol=1e-9)
    assert np.array_equal(h.labels(c), lab)


def test_float32_input_as_good_as_float64():
    w = (np.random.default_rng(2).standard_t(df=4, size=30000) * 0.05).astype(np.float32)
    w64 = w.astype(np.float64)
    c64, l64 = kmeans_1d(w64, 16)
    c32, l32 = kmeans_1d(w, 16)
    assert np.array_equal(l32, assign(w64, c32))  # nearest centroid despite float32 binning
    mse32, mse64 = np.mean((w64 - c32[l32]) ** 2), np.mean((w64 - c64[l64]) ** 2)
    assert abs(mse32 / mse64 - 1) < 1e-3


def _tiny():
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 36, 3))


def test_quantize_keeps_zeros_and_uses_at_most_2_pow_bits_values():
    m = _tiny()
    with torch.no_grad():
        m[0].weight[0] = 0.0  # a pruned filter
        m[3].weight[:, :50] = 0.0
    zeros_before = {n: (p == 0) for n, p in m.named_parameters() if n.endswith("weight")}
    books = quantize_kmeans(m, 3)
    for n, p in m.named_parameters():
        if n.endswith("weight"):
            assert torch.equal(p == 0, zeros_before[n])  # sparsity exactly preserved
            assert len(torch.unique(p)) <= 8
    assert books["0"].zero_index == 0 and books["0"].centroids[0] == 0.0


def test_per_channel_codebooks():
    m = _tiny()
    books = quantize_kmeans(m, 2, per_channel=True)
    w = m[0].weight
    assert books["0"].centroids.shape == (4, 4)
    for c in range(4):
        assert len(torch.unique(w[c])) <= 4
        assert set(torch.unique(w[c]).tolist()) <= set(books["0"].centroids[c].tolist())


def test_codebook_update_is_the_mean_of_members_and_keeps_structure():
    m = _tiny()
    with torch.no_grad():
        m[0].weight[0] = 0.0
    books = quantize_kmeans(m, 2)
    labels = books["0"].labels.long().clone()
    with torch.no_grad():  # an optimizer step moves the weights off the codebook
        m[0].weight.add_(torch.randn_like(m[0].weight) * 0.01)
        moved = m[0].weight.detach().clone()
    CodebookUpdate(m, books)()
    w = m[0].weight
    for k in range(1, 4):
        members = labels == k
        if members.any():
            assert w[members].unique().numel() == 1
            assert torch.allclose(w[members][0], moved[members].mean(), atol=1e-6)
    assert torch.all(w[labels == 0] == 0)  # the zero centroid is pinned
    assert torch.equal(books["0"].labels.long(), labels)


def test_bits_out_of_range():
    with pytest.raises(TinykitError, match="1-8"):
        quantize_kmeans(_tiny(), 9)

"""Prediction depth: hand-made probes, a hand-checked k-NN, and agreement with scikit-learn."""

import numpy as np
import pytest
import torch
from torch import nn

from tinykit.earlyexit.difficulty import (
    knn_predict,
    prediction_depth,
    prediction_depth_from_probes,
)
from tinykit.errors import TinykitError


def test_depth_from_hand_made_probes():
    # 3 blocks, 4 examples; final predictions 1, 1, 0, 2
    probes = np.array([[1, 1, 0, 2], [1, 0, 0, 2], [1, 1, 0, 1]])
    final = np.array([1, 1, 0, 2])
    # ex 0: every probe agrees -> 0; ex 1: block 1 disagrees -> 2; ex 2 -> 0;
    # ex 3: the last probe disagrees -> 3 (only the network's head gets it)
    assert prediction_depth_from_probes(probes, final).tolist() == [0, 2, 0, 3]


def test_knn_votes_and_nearest_tie_break():
    train = torch.tensor([[0.0], [1.0], [2.0], [10.0], [11.0]])
    y = np.array([0, 0, 1, 1, 1])
    q = torch.tensor([[0.4], [10.2], [1.6]])
    pred, share = knn_predict(train, y, q, 3, 2)
    # 0.4: neighbours 0, 1, 2 -> labels 0, 0, 1; 10.2: 10, 11, 2 -> 1, 1, 1;
    # 1.6: 2, 1, 0 -> 1, 0, 0
    assert pred.tolist() == [0, 1, 0]
    assert share.tolist() == pytest.approx([2 / 3, 1.0, 2 / 3])
    # k = 2 at 1.6: one vote each (2.0 -> 1, 1.0 -> 0); the nearer neighbour's class wins
    pred, share = knn_predict(train, y, torch.tensor([[1.6], [1.4]]), 2, 2)
    assert pred.tolist() == [1, 0] and share.tolist() == [0.5, 0.5]
    with pytest.raises(TinykitError, match="exceeds"):
        knn_predict(train, y, q, 6, 2)


class _Drop(nn.Module):
    """Zero the first coordinate: the block forgets what separates some classes."""

    def forward(self, x):
        return torch.cat([torch.zeros_like(x[:, :1]), x[:, 1:]], 1)


class _Toy(nn.Module):
    def __init__(self):
        super().__init__()
        self.b0 = nn.Identity()
        self.b1 = _Drop()
        self.b2 = nn.Identity()
        self.head = nn.Linear(2, 2)
        with torch.no_grad():
            self.head.weight.copy_(torch.tensor([[-1.0, -1.0], [1.0, 1.0]]))
            self.head.bias.zero_()

    def forward(self, x):
        return self.head(self.b2(self.b1(self.b0(x))))


def test_prediction_depth_matches_an_independent_knn():
    from sklearn.neighbors import KNeighborsClassifier

    rng = np.random.default_rng(0)
    xtr = rng.normal(size=(200, 2)).astype(np.float32)
    ytr = (xtr[:, 0] + 0.5 * xtr[:, 1] > 0).astype(np.int64)
    x = rng.normal(size=(60, 2)).astype(np.float32)
    y = (x[:, 0] + 0.5 * x[:, 1] > 0).astype(np.int64)
    model = _Toy().eval()
    k = 7  # odd and two classes: no ties, so scikit-learn's rule is the same
    res = prediction_depth(model, ["b0", "b1", "b2"], xtr, ytr, x, y, k=k, progress=False)
    final = (x[:, 1] > 0).astype(np.int64)  # the head sees the second coordinate only
    assert res.final_pred.tolist() == final.tolist()
    reps = [
        lambda a: a,
        lambda a: np.c_[np.zeros(len(a)), a[:, 1]],
        lambda a: np.c_[np.zeros(len(a)), a[:, 1]],
    ]
    probes = np.stack([KNeighborsClassifier(k).fit(f(xtr), ytr).predict(f(x)) for f in reps])
    assert res.probe_pred.tolist() == probes.tolist()
    expected = prediction_depth_from_probes(probes, final)
    assert res.depth.tolist() == expected.tolist()
    assert set(expected.tolist()) >= {0, 3}  # both easy and hard examples occur here
    per = res.per_depth()
    assert sum(d["count"] for d in per) == 60
    assert per[0]["count"] == int((expected == 0).sum())
    # easiest first: depths never decrease along the ranking
    assert np.all(np.diff(res.depth[res.ranking()]) >= 0)


def test_reference_model_depths(reference_model, digits):
    res = prediction_depth(
        reference_model,
        ["stem", "stage3"],
        digits.inputs("train"),
        digits.train.y,
        digits.inputs("test")[:60],
        digits.test.y[:60],
        k=30,
        max_dim=1024,
        progress=False,
    )
    assert res.dims == {"stem": 1024, "stage3": 1024}  # 16x32x32 pooled twice; 64x8x8 once
    # the last block's probe agrees with the network on most digits
    assert (res.probe_pred[1] == res.final_pred).mean() > 0.9
    assert res.depth.min() == 0 and res.depth.max() <= 2

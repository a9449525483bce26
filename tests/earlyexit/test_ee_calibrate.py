"""Exit rule, threshold calibration and MACs per exit."""

import numpy as np
import pytest
import torch

from tinykit.earlyexit.calibrate import (
    ExitOutputs,
    Target,
    agreement_probability,
    calibrate,
    candidate_thresholds,
    evaluate,
    sweep,
)
from tinykit.earlyexit.decide import (
    check_thresholds,
    confidence,
    exit_index,
    exit_predictions,
)
from tinykit.errors import TinykitError


def test_confidence_and_exit_rule_by_hand():
    # softmax of (0, ln 3) is (1/4, 3/4); of (0, 0, 0, 0) is 1/4 each
    assert confidence(np.array([[0.0, np.log(3.0)], [0.0, 0.0]])).tolist() == pytest.approx(
        [0.75, 0.5]
    )
    conf = np.array([[0.9, 0.5, 0.2, 0.85], [0.95, 0.8, 0.3, 0.1]])
    # head 0 at 0.85 (>= counts), head 1 at 0.75
    ex = exit_index(conf, [0.85, 0.75])
    assert ex.tolist() == [0, 1, 2, 0]
    preds = np.array([[1, 2, 3, 4], [5, 6, 7, 8], [9, 10, 11, 12]])
    assert exit_predictions(preds, ex).tolist() == [1, 6, 11, 4]


@pytest.mark.parametrize("bad", [0.0, -0.1, 1.5])
def test_thresholds_outside_zero_one_are_refused(bad):
    with pytest.raises(TinykitError, match=f"threshold {bad:g} of exit 1 is outside"):
        check_thresholds([0.9, bad], 2)
    with pytest.raises(TinykitError, match="2 thresholds given for 3"):
        check_thresholds([0.9, 0.9], 3)
    assert check_thresholds([1.0, 0.5], 2) == [1.0, 0.5]


def test_candidates_are_midpoints():
    assert candidate_thresholds(np.array([0.9, 0.5, 0.5, 0.2])).tolist() == pytest.approx(
        [1.0, 0.7, 0.35, 0.1]
    )


def _synthetic(n=400, seed=0):
    """Two heads whose confidence says how often they agree with a 95%-accurate network."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 10, n)
    final = np.where(rng.random(n) < 0.95, labels, (labels + 1) % 10)
    conf = rng.uniform(0.2, 1.0, (2, n))
    preds = []
    for k in range(2):
        right = rng.random(n) < conf[k] ** (2 - k)  # head 1 more reliable than head 0
        preds.append(np.where(right, final, (final + 3) % 10))
    return ExitOutputs(conf=conf, preds=np.stack([*preds, final]), labels=labels)


def test_calibration_meets_an_accuracy_target_on_its_split():
    out = _synthetic()
    cum = [100, 400, 1000]
    full = evaluate(out, [1.0, 1.0], cum)
    for drop in (0.5, 2.0, 5.0):
        th, path = calibrate(out, cum, Target(max_drop=drop))
        r = evaluate(out, th, cum)
        assert 100 * (r["full_accuracy"] - r["accuracy"]) <= drop + 1e-9
        assert all(0 < t <= 1 for t in th)
        chosen = next(p for p in path if p["thresholds"] == th)
        assert chosen["risk"] <= drop / 100 * len(out) + 1e-9
        # no cheaper point of the path also meets the target
        n = len(out)
        base = int((out.preds[-1] != out.labels).sum())
        feasible = [
            p
            for p in path
            if p["risk"] <= drop / 100 * n + 1e-9 and p["errors"] <= base + int(drop / 100 * n)
        ]
        assert chosen["average_macs"] == min(p["average_macs"] for p in feasible)
        assert r["average_macs"] < full["average_macs"]
    # a looser target never costs more MACs
    macs = [
        evaluate(out, calibrate(out, cum, Target(max_drop=d))[0], cum)["average_macs"]
        for d in (0.5, 2.0, 5.0)
    ]
    assert macs[0] >= macs[1] >= macs[2]


def test_calibration_meets_a_mac_budget_on_its_split():
    out = _synthetic(seed=1)
    cum = [100, 400, 1000]
    for budget in (0.2, 0.5, 0.8):
        th, _ = calibrate(out, cum, Target(mac_budget=budget))
        assert evaluate(out, th, cum)["mac_ratio"] <= budget + 1e-12
    with pytest.raises(TinykitError, match="below what the exits can reach"):
        calibrate(out, cum, Target(mac_budget=0.05))  # the first exit alone costs 0.1


def test_agreement_fit_is_monotone_in_confidence():
    out = _synthetic(n=2000)
    q = agreement_probability(out)
    order = np.argsort(out.conf[0])
    assert np.all(np.diff(q[0][order]) >= -1e-12)
    # the fit tracks the truth: head 0 agrees with probability conf^2 here
    hi = out.conf[0] > 0.9
    assert q[0][hi].mean() == pytest.approx((out.conf[0][hi] ** 2).mean(), abs=0.05)


def test_targets_are_checked():
    with pytest.raises(TinykitError, match="exactly one target"):
        Target()
    with pytest.raises(TinykitError, match="exactly one target"):
        Target(max_drop=1, mac_budget=0.5)
    with pytest.raises(TinykitError, match=r"\(0, 1\]"):
        Target(mac_budget=1.5)


def test_sweep_shares_and_counts():
    out = _synthetic()
    rows = sweep(out, [100, 400, 1000], (0.5, 0.9, 1.0))
    for r in rows:
        assert sum(r["exit_counts"]) == len(out)
        assert sum(r["exit_shares"]) == pytest.approx(1.0)
    assert rows[0]["average_macs"] < rows[1]["average_macs"] < rows[2]["average_macs"]
    assert rows[2]["exit_counts"][:2] == [0, 0]  # uniform(0.2, 1) never reaches 1.0


def test_cumulative_macs_equal_count_macs_of_each_prefix(reference_model):
    from torch import nn

    from tinykit.bench.macs import count_macs
    from tinykit.earlyexit.heads import attach_heads
    from tinykit.earlyexit.macs import exit_macs

    x = torch.zeros(1, 1, 32, 32)
    ee = attach_heads(reference_model, ["stem", "stage1", "stage2"], x, num_classes=10)
    m = exit_macs(ee, x)
    b, h = reference_model, ee.heads

    class Prefix(nn.Module):
        """The backbone up to block k, and every head up to k (each was evaluated)."""

        def __init__(self, k):
            super().__init__()
            self.k = k

        def forward(self, x):
            outs = []
            for j, blk in enumerate([b.stem, b.stage1, b.stage2][: self.k + 1]):
                x = blk(x)
                outs.append(h[j](x))
            return outs

    for k in range(3):
        assert m.cumulative[k] == count_macs(Prefix(k), x).macs
    heads_total = sum(
        count_macs(hd, f).macs
        for hd, f in zip(
            h, [b.stem(x), b.stage1(b.stem(x)), b.stage2(b.stage1(b.stem(x)))], strict=True
        )
    )
    assert m.cumulative[-1] == count_macs(b, x).macs + heads_total == m.full + heads_total
    # by hand: stem 1->16 3x3 at 32x32, and a 16*4*4 -> 10 linear head
    assert m.segments[0] == 16 * 9 * 32 * 32 and m.heads[0] == 16 * 4 * 4 * 10
    assert m.effective_cumulative == m.cumulative  # nothing pruned yet

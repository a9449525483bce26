"""One confidence threshold per head, chosen on the validation split for a target.

Targets: at most X points of accuracy lost against the full network, or an average MAC budget.

A validation split is small, and its errors are rare: the lowest threshold with no validation
error sits right next to the first one, and on new inputs the next errors come just above it.
So the risk of a setting is estimated from every validation input, not only from the errors:
for each head, a logistic fit on the validation split maps its confidence to the probability
that it agrees with the full network (Platt scaling, a smooth curve through all the head's
validation decisions), and the risk of a setting is the expected number of early exits that
disagree with the full network. A setting must keep both that expected count and the counted
validation errors within the target.

The search prices risk in MACs: for each price, from dear to cheap, coordinate descent sets
each head's threshold to minimise MACs + price x risk given the others. The settings found
form a path from "nobody exits early" (every threshold 1) towards "everybody leaves at the
first head"; the target picks its point on that path. Thresholds sit halfway between
neighbouring validation confidences.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from tinykit.earlyexit.decide import average_macs, confidence, exit_index, exit_predictions
from tinykit.errors import TinykitError

SWEEP = (0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.98, 0.99, 0.995, 0.999, 0.9999)


@dataclass
class ExitOutputs:
    """Every exit's logits on one split, reduced to what exit decisions need."""

    conf: np.ndarray  # (H, N) confidence of each head
    preds: np.ndarray  # (H+1, N) top-1 of each exit, final last
    labels: np.ndarray  # (N,)

    @classmethod
    def from_logits(cls, logits: np.ndarray, labels: np.ndarray) -> ExitOutputs:
        """``logits``: (H+1, N, classes), final exit last."""
        return cls(
            conf=np.stack([confidence(z) for z in logits[:-1]]),
            preds=logits.argmax(-1),
            labels=np.asarray(labels),
        )

    @property
    def heads(self) -> int:
        return self.conf.shape[0]

    def __len__(self) -> int:
        return len(self.labels)


def evaluate(
    out: ExitOutputs,
    thresholds: Sequence[float],
    cumulative_macs: Sequence[int],
    full_macs: float | None = None,
) -> dict:
    """Accuracy, average MACs and the share of inputs leaving at each exit. ``mac_ratio`` is
    against ``full_macs``, the network without exits (default: the last exit's MACs)."""
    ex = exit_index(out.conf, thresholds)
    pred = exit_predictions(out.preds, ex)
    n = len(out)
    counts = np.bincount(ex, minlength=out.heads + 1)
    full = float(full_macs if full_macs is not None else cumulative_macs[-1])
    avg = average_macs(ex, cumulative_macs)
    acc_at = []
    for k in range(out.heads + 1):
        sel = ex == k
        acc_at.append(float((pred[sel] == out.labels[sel]).mean()) if sel.any() else None)
    return {
        "thresholds": [float(t) for t in thresholds],
        "accuracy": float((pred == out.labels).mean()) if n else float("nan"),
        "full_accuracy": float((out.preds[-1] == out.labels).mean()) if n else float("nan"),
        "agreement_with_full": float((pred == out.preds[-1]).mean()) if n else float("nan"),
        "average_macs": avg,
        "mac_ratio": avg / full if full else float("nan"),
        "exit_counts": [int(c) for c in counts],
        "exit_shares": [float(c / n) if n else 0.0 for c in counts],
        "accuracy_at_exit": acc_at,
    }


def candidate_thresholds(conf: np.ndarray, limit: int = 200) -> np.ndarray:
    """Descending thresholds, one per distinct number of validation inputs that exit: 1.0
    (nobody, unless fully certain), then midpoints between neighbouring confidences, then
    half the lowest (everybody); thinned evenly to ``limit`` on large splits."""
    v = np.unique(conf)[::-1]  # descending, distinct
    mids = (v[:-1] + v[1:]) / 2
    cands = np.concatenate([[1.0], mids, [v[-1] / 2 if len(v) else 0.5]])
    cands = cands[(cands > 0) & (cands <= 1.0)]
    cands = np.unique(cands)[::-1]
    if len(cands) > limit:
        cands = cands[np.unique(np.linspace(0, len(cands) - 1, limit).round().astype(int))]
    return cands


def agreement_probability(out: ExitOutputs) -> np.ndarray:
    """(H, N): for each head and input, the fitted probability that the head's prediction
    equals the full network's, from a logistic fit of agreement on the logit of confidence.

    A head that agrees (or disagrees) on every input gets the constant (a + 1/2) / (n + 1).
    """
    from sklearn.linear_model import LogisticRegression

    h, n = out.conf.shape
    q = np.empty((h, n))
    for k in range(h):
        agree = (out.preds[k] == out.preds[-1]).astype(np.int64)
        c = np.clip(out.conf[k], 1e-12, 1 - 1e-15)
        s = np.clip(np.log(c) - np.log1p(-c), -30.0, 40.0)[:, None]
        if agree.min() == agree.max():
            q[k] = (agree.sum() + 0.5) / (n + 1)
        else:
            q[k] = LogisticRegression(C=1.0).fit(s, agree).predict_proba(s)[:, 1]
    return q


def _cost(
    out: ExitOutputs, exits: np.ndarray, cum: np.ndarray, q: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(errors, expected disagreements, total MACs) for exit assignments (S, N)."""
    cols = np.arange(exits.shape[1])[None, :]
    pred = out.preds[exits, cols]
    early = exits < out.heads
    risk = np.where(early, 1.0 - q[np.minimum(exits, out.heads - 1), cols], 0.0).sum(1)
    return (pred != out.labels[None, :]).sum(1), risk, cum[exits].sum(1)


def _exits_for(out: ExitOutputs, settings: np.ndarray) -> np.ndarray:
    """Exit of every input under each row of thresholds ``settings`` (S, H) -> (S, N)."""
    ok = out.conf[None, :, :] >= settings[:, :, None]
    return np.where(ok.any(1), ok.argmax(1), out.heads)


def threshold_path(
    out: ExitOutputs,
    cumulative_macs: Sequence[int],
    prices: Sequence[float] = tuple(np.logspace(-3, 5, 81)),
) -> list[dict]:
    """Threshold settings trading MACs for risk, from cautious to eager.

    For each price of risk (MACs as a share of the full network's, per unit of expected
    disagreement rate) the thresholds minimise ``MACs + price * risk`` by coordinate descent
    over each head's candidates, warm-started from the previous, dearer price. Each point has
    thresholds, counted errors, expected disagreements (risk) and average MACs.
    """
    cum = np.asarray(cumulative_macs, dtype=np.float64)
    q = agreement_probability(out)
    h, n = out.conf.shape
    cands = [candidate_thresholds(out.conf[k]) for k in range(h)]
    pos = [0] * h  # every threshold at 1.0: nobody leaves early

    def point() -> dict:
        t = [float(cands[k][pos[k]]) for k in range(h)]
        e, r, m = _cost(out, exit_index(out.conf, t)[None, :], cum, q)
        return {
            "thresholds": t,
            "errors": int(e[0]),
            "risk": float(r[0]),
            "average_macs": float(m[0] / n),
        }

    path = [point()]
    for price in sorted(prices, reverse=True):
        for _ in range(20):  # coordinate descent; a full round without change ends it
            changed = False
            for k in range(h):
                ts = np.repeat(
                    np.array([cands[j][pos[j]] for j in range(h)])[None, :], len(cands[k]), 0
                )
                ts[:, k] = cands[k]
                _, r, m = _cost(out, _exits_for(out, ts), cum, q)
                j = int(np.argmin(m / (n * cum[-1]) + price * r / n))
                if j != pos[k]:
                    pos[k], changed = j, True
            if not changed:
                break
        p = point()
        if p["thresholds"] != path[-1]["thresholds"]:
            path.append(p)
    return path


@dataclass
class Target:
    """What calibration aims at: ``max_drop`` accuracy points lost, or ``mac_budget`` (a
    fraction of the full network's MACs)."""

    max_drop: float | None = None
    mac_budget: float | None = None

    def __post_init__(self) -> None:
        if (self.max_drop is None) == (self.mac_budget is None):
            raise TinykitError("give exactly one target: an accuracy drop or a MAC budget")
        if self.max_drop is not None and self.max_drop < 0:
            raise TinykitError(f"accuracy drop must be >= 0 points, got {self.max_drop}")
        if self.mac_budget is not None and not 0 < self.mac_budget <= 1:
            raise TinykitError(
                f"MAC budget must be a fraction of the full network's MACs in (0, 1], "
                f"got {self.mac_budget}"
            )

    def to_dict(self) -> dict:
        if self.max_drop is not None:
            return {"max_drop_points": self.max_drop}
        return {"mac_budget": self.mac_budget}


def calibrate(
    out: ExitOutputs, cumulative_macs: Sequence[int], target: Target, full_macs: float | None = None
) -> tuple[list[float], list[dict]]:
    """Thresholds meeting ``target`` on ``out`` (the validation split), and the path searched.
    A MAC budget is a fraction of ``full_macs`` (default: the last exit's MACs)."""
    if len(out) == 0:
        raise TinykitError("the validation split is empty: calibration needs validation inputs")
    path = threshold_path(out, cumulative_macs)
    n = len(out)
    full = float(full_macs if full_macs is not None else cumulative_macs[-1])
    if target.max_drop is not None:
        base = int((out.preds[-1] != out.labels).sum())
        allowed = target.max_drop / 100 * n
        ok = [
            p
            for p in path
            if p["risk"] <= allowed + 1e-9 and p["errors"] <= base + int(np.floor(allowed + 1e-9))
        ]
        if not ok:  # even "nobody exits" carries the risk of fully certain heads
            ok = path[:1]
        best = min(ok, key=lambda p: (p["average_macs"], p["risk"]))
    else:
        budget = target.mac_budget * full
        ok = [p for p in path if p["average_macs"] <= budget + 1e-9]
        if not ok:
            cheapest = min(p["average_macs"] for p in path) / full
            raise TinykitError(
                f"MAC budget {target.mac_budget:g} is below what the exits can reach "
                f"({cheapest:.3f} of the full network's MACs, everybody at the first exit)"
            )
        best = min(ok, key=lambda p: (p["risk"], p["errors"], p["average_macs"]))
    return best["thresholds"], path


def sweep(
    out: ExitOutputs,
    cumulative_macs: Sequence[int],
    grid: Sequence[float] = SWEEP,
    full_macs: float | None = None,
) -> list[dict]:
    """One shared threshold for every head, for each value of ``grid``."""
    return [evaluate(out, [t] * out.heads, cumulative_macs, full_macs) for t in grid]

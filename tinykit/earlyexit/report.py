"""Human tables for ``tinykit difficulty`` and ``tinykit earlyexit`` (JSON carries it all)."""

from __future__ import annotations

from typing import Any

from tinykit.report import _fmt_count, format_table


def _pct(v: float | None, digits: int = 1) -> str:
    return "-" if v is None else f"{100 * v:.{digits}f}%"


def render_difficulty(result: dict[str, Any]) -> str:
    rows = [
        [str(d["depth"]), d["after"], str(d["count"]), _pct(d["share"]), _pct(d["accuracy"])]
        for d in result["per_depth"]
    ]
    out = [
        f"prediction depth of {len(result['examples'])} {result['split']} examples "
        f"(k-NN probes, k = {result['k']}); network accuracy "
        f"{_pct(result['network_accuracy'], 2)}",
        format_table(["depth", "reached after", "examples", "share", "accuracy"], rows),
        "",
        format_table(
            ["block", "representation", "probe accuracy", "agrees with network"],
            [
                [
                    b,
                    f"{result['representation_dims'][b]:,} values",
                    _pct(result["probe_accuracy"][b], 2),
                    _pct(result["probe_agreement_with_network"][b], 2),
                ]
                for b in result["blocks"]
            ],
            left=1,
        ),
        f"mean prediction depth {result['mean_depth']:.3f}",
    ]
    return "\n".join(out)


def render_earlyexit(rep: dict[str, Any]) -> str:
    macs = rep["macs"]
    full = macs["full"]
    t = rep["test"]
    names = [*rep["exits"], "final"]
    rows = []
    for k, name in enumerate(names):
        rows.append(
            [
                str(k),
                name,
                _fmt_count(macs["cumulative"][k]),
                _pct(macs["cumulative"][k] / full),
                _pct(rep["exit_accuracy"]["test"][k], 2),
                f"{rep['thresholds'][k]:.4f}" if k < len(rep["thresholds"]) else "-",
                _pct(t["exit_shares"][k]),
                _pct(t["accuracy_at_exit"][k], 2),
            ]
        )
    cal = rep["calibration"]
    how = (
        "fixed thresholds"
        if cal["fixed"]
        else "calibrated on the validation split for "
        + ", ".join(f"{k} {v:g}" for k, v in cal["target"].items())
    )
    out = [
        f"{rep['model']}: {rep['data']}",
        f"exits and thresholds ({how}); test split:",
        format_table(
            [
                "exit",
                "after",
                "cum. MACs",
                "of full",
                "alone acc.",
                "threshold",
                "leave here",
                "their acc.",
            ],
            rows,
        ),
        "",
        f"early exit: test accuracy {_pct(t['accuracy'], 2)} (full network "
        f"{_pct(t['full_accuracy'], 2)}), average MACs {_fmt_count(int(t['average_macs']))} = "
        f"{_pct(t['mac_ratio'])} of the full network ({_pct(1 - t['mac_ratio'])} saved)",
        "",
        "one shared threshold for every head (test split):",
        format_table(
            ["threshold", "accuracy", "avg MACs", *[f"@{n}" for n in names]],
            [
                [
                    f"{s['thresholds'][0]:g}",
                    _pct(s["accuracy"], 2),
                    _pct(s["mac_ratio"]),
                    *[_pct(v) for v in s["exit_shares"]],
                ]
                for s in rep["sweep"]["test"]
            ],
            left=1,
        ),
    ]
    ev = rep["difficulty"]["exit_vs_depth"]
    rho = "n/a" if ev["spearman"] is None else f"{ev['spearman']:.2f}"
    out += ["", f"exit taken vs prediction depth: Spearman {rho} (matrix in earlyexit.json)"]
    if rep.get("verification"):
        rows = []
        keys = [(rt, rt) for rt in rep["verification"]] + [
            (k, k.split("@")[0]) for k in rep.get("latency", {}) if "@" in k
        ]
        for key, rt in keys:
            v = rep["verification"][rt]
            lat = rep.get("latency", {}).get(key)
            row = [key, _pct(v["exit_agreement"], 2), _pct(v["accuracy"], 2)]
            if lat:
                ms = lat["latency_ms"]
                row += [
                    f"{ms['full']['mean']:.3f}",
                    f"{ms['early_exit']['mean']:.3f}",
                    f"{ms['all_stages']['mean']:.3f}",
                    _pct(lat["staging_overhead"]),
                    _pct(lat["latency_saving"]),
                    _pct(lat["mac_saving"]),
                    f"{lat['latency_saving_per_mac_saving']:.2f}"
                    if lat["latency_saving_per_mac_saving"] is not None
                    else "-",
                ]
            else:
                row += ["-"] * 7
            rows.append(row)
        out += [
            "",
            "exported stages on the test split (latency: mean per input, ms, batch 1, "
            "each runtime in its own process; runtime@host: on that board over SSH):",
            format_table(
                [
                    "runtime",
                    "exits = torch",
                    "accuracy",
                    "full",
                    "early exit",
                    "all stages",
                    "stage cost",
                    "lat. saved",
                    "MACs saved",
                    "lat/MAC",
                ],
                rows,
                left=1,
            ),
        ]
    if rep.get("out_dir"):
        out.append(f"report, plots and bundle: {rep['out_dir']}")
    return "\n".join(out)

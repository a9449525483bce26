"""bench.json and the table of ``tinykit bench``: one row per artifact, the machine below."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any


def _is_arm(machine: str) -> bool:
    return machine.lower() in ("aarch64", "arm64") or machine.lower().startswith("armv")


def _int8_note(flags: list[str], machine: str) -> str | None:
    """Say so when the CPU lacks the instructions that make int8 fast."""
    f = set(flags)
    if _is_arm(machine) or "asimd" in f:
        if "asimddp" not in f:
            return (
                "no Arm dot-product (asimddp): int8 runs on widening multiplies and can be "
                "slower than fp32 here"
            )
    elif f and not f & {"avx512_vnni", "avx_vnni", "amx_int8"}:
        return "no VNNI/AMX: int8 gains over fp32 are small on this CPU"
    return None


def short_labels(paths: list[str]) -> list[str]:
    """Each path's file name, with as many parent folders as it takes to tell it from the
    others (c4/model.pt and c8/model.pt, not model.pt twice)."""
    parts = [Path(p).resolve().parts for p in paths]
    out = []
    for i, p in enumerate(parts):
        others = [q for j, q in enumerate(parts) if j != i and q != p]
        n = 1
        while n < len(p) and any(q[-n:] == p[-n:] for q in others):
            n += 1
        out.append("/".join(p[-n:]))
    return out


def bench_report(results: list[tuple[str, dict[str, Any]]], board) -> dict[str, Any]:
    """The JSON record: board, one entry per artifact (kind, size, MACs, latency), points for
    the latency-vs-MACs plot, and the environment of this machine."""
    from tinykit.bench.env import environment
    from tinykit.bench.estimate import count_artifact, uncounted_warning
    from tinykit.bench.latency import artifact_kind

    entries, points = [], []
    labels = short_labels([str(p) for p, _ in results])
    for (path, lat), label in zip(results, labels, strict=True):
        if "macs" in lat:
            macs, eff = lat["macs"], lat["effective_macs"]
        else:
            c = count_artifact(path)
            macs, eff = c.macs, c.effective_macs
            lat = {**lat, "warnings": [*lat.get("warnings", []), *uncounted_warning(c.uncounted)]}
        lat = {k: v for k, v in lat.items() if k not in ("times_ms", "macs", "effective_macs")}
        entries.append(
            {
                "artifact": str(path),
                "label": label,
                "kind": artifact_kind(path),
                "size_bytes": os.path.getsize(path),
                "macs": macs,
                "effective_macs": eff,
                "latency_ms": lat,
            }
        )
        points.append({"stage": label, "runtime": lat["runtime"], "macs": macs, "latency_ms": lat})
    return {
        "tinykit_bench": 1,
        "board": board.to_dict(),
        "results": entries,
        "points": points,
        "environment": environment(),
    }


def _runs_per_process(lat: dict[str, Any]) -> str:
    """'runs x processes': the record's ``runs`` pools every process's timed runs."""
    repeats = lat.get("repeats") or 1
    return f"{lat.get('runs', 0) // repeats} x {repeats}"


def _ms(v) -> str:
    return "-" if v is None else f"{v:.3f}"


def render_bench(report: dict[str, Any]) -> str:
    from tinykit.report import _fmt_count, format_table

    header = [
        "artifact",
        "runs on",
        "MACs",
        "median ms",
        "p90 ms",
        "mean ms",
        "std ms",
        "first ms",
        "peak MiB",
        "runs",
    ]
    rows, notes = [], []
    for r in report["results"]:
        lat = r["latency_ms"]
        est = not lat.get("measured", True)
        where = f"{lat['runtime']} @ {lat['board']}"
        rss = lat.get("peak_rss_kb")
        rows.append(
            [
                r.get("label", Path(r["artifact"]).name),
                where,
                _fmt_count(r["macs"]),
                _ms(lat["median"]) + (" (est.)" if est else ""),
                "-" if est else _ms(lat.get("p90")),
                "-" if est else _ms(lat.get("mean")),
                _ms(lat.get("std")),
                _ms(lat.get("first_ms")),
                "-" if rss is None else f"{rss / 1024:.1f}",
                "-" if est else _runs_per_process(lat),
            ]
        )
        for w in lat.get("warnings", []):
            notes.append(f"warning: {r.get('label', Path(r['artifact']).name)}: {w}")
    first = report["results"][0]["latency_ms"]
    b = report["board"]
    foot = []
    if first.get("measured", True):
        flags = first.get("cpu_flags", [])
        foot.append(
            f"measured on {b['title']}: {first.get('cpu')} "
            f"({first.get('cpu_count') or b['cores']} cores), "
            f"int8-relevant ISA: {', '.join(flags) or 'none'}"
        )
        note = _int8_note(flags, first.get("machine", ""))
        if note:
            foot.append(f"note: {note}")
        arm_profile = "asimd" in b.get("isa", [])
        machine = first.get("machine", "")
        if b.get("connect") != "local" and machine and arm_profile != _is_arm(machine):
            foot.append(
                f"warning: the device is {machine}, but profile '{b['name']}' describes "
                f"{b.get('cpu_model', 'another CPU')}: check --host, or pass a profile of "
                "this device with --board FILE.toml"
            )
        versions = sorted(
            {
                f"{r['latency_ms']['runtime']} {r['latency_ms'].get('runtime_version')}"
                for r in report["results"]
            }
        )
        foot.append(
            f"runtimes: {', '.join(versions)}; batch 1, {first.get('threads')} "
            "thread(s), the same fixed input every run, each artifact in fresh "
            "process(es); 'first' is the first inference, not in the statistics"
        )
    else:
        peaks = sorted(
            {
                f"{rl.get('peak_gmacs', 0):.1f} G{rl.get('precision')} MAC/s"
                for rl in (r["latency_ms"].get("roofline", {}) for r in report["results"])
            }
        )
        how = (
            "drop --estimate to measure on this machine"
            if b.get("connect") == "local"
            else "pass --host (without --estimate) to measure on the board"
        )
        foot.append(
            f"ESTIMATE, not a measurement: roofline of MACs and bytes moved against "
            f"{b['title']}'s peaks ({', '.join(peaks)} on {first.get('threads')} core(s), "
            f"{b['bandwidth_gbs']} GB/s); {how}"
        )
        note = _int8_note(b.get("isa", []), "aarch64" if "asimd" in b.get("isa", []) else "")
        if note:
            foot.append(f"note: {note}")
    out = [format_table(header, rows), "", *foot, *notes]
    if report.get("out_dir"):
        out.append(
            f"bench.json{' and latency_vs_macs.png' if len(rows) > 1 else ''}: {report['out_dir']}"
        )
    return "\n".join(out)

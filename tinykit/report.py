"""Report: the figures of every stage and artifact, as an aligned table or report.json."""

from __future__ import annotations

from typing import Any

SIZE_NOTE = (
    "size_bytes is the artifact file on disk. A k-means ONNX file stores each layer's indices "
    "packed at n bits plus its fp32 codebook (decoded by onnxruntime when the session loads); "
    "a TFLite file stores decoded fp32 weights, so its size_gzip_bytes (gzip -9 of the file) "
    "shows what the codebook structure saves. baseline.size_bytes is the fp32 ONNX export."
)


def _fmt_size(n: int | None) -> str:
    if n is None:
        return "-"
    return f"{n / 1024:,.1f} KiB"


def _fmt_count(n: int | None) -> str:
    if n is None:
        return "-"
    if n >= 1e9:
        return f"{n / 1e9:.2f} G"
    if n >= 1e6:
        return f"{n / 1e6:.2f} M"
    if n >= 1e3:
        return f"{n / 1e3:.1f} k"
    return str(n)


def _fmt_latency(lat: dict[str, Any] | None) -> str:
    if not lat:
        return "-"
    mark = "" if lat.get("measured", True) else " (est.)"
    return f"{lat['median']:.3f}{mark}"


def _fmt_pct(v: float | None) -> str:
    return "-" if v is None else f"{100 * v:.2f}%"


def table_rows(report: dict[str, Any]) -> list[list[str]]:
    rows = []
    for st in report["stages"]:
        rows.append(
            [
                st["stage"],
                "pytorch",
                _fmt_pct(st.get("accuracy")),
                "-",
                _fmt_size(st.get("size_bytes")),
                _fmt_count(st.get("nonzero_params")),
                _fmt_count(st.get("macs")),
                _fmt_count(st.get("effective_macs")),
                _fmt_latency(st.get("latency_ms")),
            ]
        )
    for a in report["artifacts"]:
        rows.append(
            [
                a["path"].split("/")[-1],
                f"{a['format']} {a['precision']}",
                _fmt_pct(a.get("accuracy")),
                _fmt_pct(a.get("agreement")),
                _fmt_size(a.get("size_bytes")),
                _fmt_count(a.get("nonzero_params")),
                _fmt_count(a.get("macs")),
                _fmt_count(a.get("effective_macs")),
                _fmt_latency(a.get("latency_ms")),
            ]
        )
    board = report.get("recipe", {}).get("board", "host")
    if board != "host":  # one more column: the same files on the target board
        for row, item in zip(rows, [*report["stages"], *report["artifacts"]], strict=True):
            row.append(_fmt_latency(item.get("board_latency_ms")))
    return rows


HEADER = [
    "stage / artifact",
    "runs on",
    "accuracy",
    "agreement",
    "size",
    "nonzero params",
    "MACs",
    "eff. MACs",
    "latency ms",
]


def format_table(
    header: list[str], rows: list[list[str]], *, left: int = 2, text: tuple[int, ...] = ()
) -> str:
    """Columns aligned: the first ``left`` (names) and the ``text`` ones to the left, the
    figures to the right."""
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]

    def line(cells: list[str]) -> str:
        out = []
        for i, c in enumerate(cells):
            out.append(c.ljust(widths[i]) if i < left or i in text else c.rjust(widths[i]))
        return "  ".join(out).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(header), rule, *(line(r) for r in rows)])


def render(report: dict[str, Any]) -> str:
    lat = next((s["latency_ms"] for s in report["stages"] if s.get("latency_ms")), None)
    foot = []
    if lat:
        foot.append(
            f"latency: median of {lat['runs']} runs, batch 1, {lat['threads']} thread(s), "
            f"{lat['runtime']} for PyTorch stages (their ONNX export), each file's own runtime "
            "for artifacts; measured on this CPU"
        )
    foot.append("accuracy: top-1 on the test split; agreement: artifact top-1 == PyTorch top-1")
    header = list(HEADER)
    board = report.get("recipe", {}).get("board", "host")
    if board != "host":
        header.append(f"{board} ms")
        foot.append(
            f"{board} ms: the same files on {board}; (est.) marks a roofline estimate "
            "from the board profile, not a measurement"
        )
    out = [format_table(header, table_rows(report)), "", *foot]
    if report.get("out_dir"):
        out.append(f"report, bundle and plots: {report['out_dir']}")
    return "\n".join(out)

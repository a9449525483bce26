"""Parse what LiteRT's (TFLite's) ``benchmark_model`` prints.

Its output changed over the years and reaches us with log prefixes (``INFO: ``, logcat's
``I tflite  : ``). What is read:

- the statistics lines ``count=N first=.. curr=.. min=.. max=.. avg=.. std=..`` (newer builds
  add ``p5=.. median=.. p95=..``; numbers may be in scientific notation). The tool prints one
  for the warm-up and one for the timed runs; the last one is the timed runs. ``count`` is the
  number of runs actually done: ``--num_runs`` is a minimum, bounded by ``--min_secs`` and
  ``--max_secs``, so it is never assumed;
- the summary ``Inference timings in us: Init: .., First inference: .., Warmup (avg): ..,
  Inference (avg): ..`` or, from older builds, ``Average inference timings in us: Warmup: ..,
  Init: .., Inference: ..`` (even older: ``no stats: ..``);
- the memory lines ``Peak memory footprint (MB): init=.. overall=..``, ``Memory footprint delta
  from the start of the tool (MB): init=.. overall=..`` and ``Overall peak memory footprint
  (MB) via periodic monitoring: ..``.

Operator-profiling tables (``Timings (microseconds): count=..``) are not the timed runs and are
skipped.
"""

from __future__ import annotations

import re
from typing import Any

_NUM = r"[-+]?\d+(?:\.\d*)?(?:[eE][-+]?\d+)?"
_PREFIX = re.compile(
    r"^(?:.*?\s[VDIWEF]\s+tflite\s*:\s*|(?:INFO|VERBOSE|WARNING|ERROR):\s*"
    r"(?:\[[^\]]*\]\s*)?)?"
)
_STAT = re.compile(rf"^count=(\d+)((?:\s+\w+={_NUM})*)\s*$")
_PAIR = re.compile(rf"(\w+)=({_NUM})")
_NEW = re.compile(
    rf"Inference timings in us: Init: ({_NUM}), First inference: ({_NUM}), "
    rf"Warmup \(avg\): ({_NUM}), Inference \(avg\): ({_NUM})"
)
_OLD = re.compile(
    rf"Average inference timings in us: Warmup: ({_NUM}), Init: ({_NUM}), "
    rf"(?:Inference|no stats): ({_NUM})"
)
_MEM = re.compile(
    rf"(Peak memory footprint|Memory footprint delta from the start of the tool) "
    rf"\(MB\): init=({_NUM}) overall=({_NUM})"
)
_PEAK = re.compile(rf"Overall peak memory footprint \(MB\) via periodic monitoring: ({_NUM})")


class BenchmarkOutputError(ValueError):
    pass


def _strip(line: str) -> str:
    return _PREFIX.sub("", line.rstrip("\r\n")).strip()


def parse_benchmark_model(text: str) -> dict[str, Any]:
    """Latency (ms) and memory (MB) figures from one ``benchmark_model`` run's output.

    Returns:
        ``runs`` (the tool's own count), ``median`` (None when the build prints none), ``mean``,
        ``std``, ``min``, ``max``, ``p5``/``p95`` when printed, ``first_ms``, ``init_ms``,
        ``warmup_mean_ms``, ``warmup_runs`` and ``memory_mb`` (what the build reports).

    Raises:
        BenchmarkOutputError: the text holds no timed-run statistics (the tool failed).
    """
    stats: list[dict[str, float]] = []
    summary: dict[str, float] = {}
    memory: dict[str, float] = {}
    for raw in text.splitlines():
        line = _strip(raw)
        m = _STAT.match(line)
        if m:
            fields = {k: float(v) for k, v in _PAIR.findall(m.group(2))}
            fields["count"] = float(m.group(1))
            stats.append(fields)
            continue
        if m := _NEW.search(line):
            init, first, warm, inf = (float(g) for g in m.groups())
            summary = {"init": init, "first": first, "warmup": warm, "inference": inf}
        elif m := _OLD.search(line):
            warm, init, inf = (float(g) for g in m.groups())
            summary = {"init": init, "warmup": warm, "inference": inf}
        elif m := _MEM.search(line):
            key = "peak" if m.group(1).startswith("Peak") else "delta"
            memory[f"{key}_init"] = float(m.group(2))
            memory[f"{key}_overall"] = float(m.group(3))
        elif m := _PEAK.search(line):
            memory["peak_periodic"] = float(m.group(1))
    if not stats and "inference" not in summary:
        raise BenchmarkOutputError("benchmark_model printed no timing statistics")
    if not stats:  # only the summary survived (e.g. a log cut to its last lines)
        stats = [{"avg": summary["inference"]}]
    timed = stats[-1]
    warm = stats[-2] if len(stats) > 1 else None
    ms = 1e-3

    def get(d, k):
        return d[k] * ms if d is not None and k in d else None

    mean = get(timed, "avg")
    if summary.get("inference") is not None and mean is None:
        mean = summary["inference"] * ms
    return {
        "runs": int(timed["count"]) if "count" in timed else None,
        "median": get(timed, "median"),
        "mean": mean,
        "std": get(timed, "std"),
        "min": get(timed, "min"),
        "max": get(timed, "max"),
        "p5": get(timed, "p5"),
        "p95": get(timed, "p95"),
        "first_ms": summary["first"] * ms if "first" in summary else None,
        "init_ms": summary["init"] * ms if "init" in summary else None,
        "warmup_mean_ms": summary["warmup"] * ms if "warmup" in summary else get(warm, "avg"),
        "warmup_runs": int(warm["count"]) if warm is not None else None,
        "memory_mb": memory,
    }

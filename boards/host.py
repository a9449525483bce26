"""The host board: this machine's facts read at run time, its peaks measured.

A virtual machine's share of a server CPU has no data sheet, so the two peaks a roofline needs
are measured: fp32 multiply-accumulates per cycle from a single-thread matrix product, and
memory bandwidth from a copy much larger than the caches. Both take well under a second.
"""

from __future__ import annotations

import functools
import os
import time

from tinykit.boards import BoardProfile


def _clock_ghz() -> float:
    """Maximum clock (cpufreq), else the current 'cpu MHz' of /proc/cpuinfo."""
    try:
        with open("/sys/devices/system/cpu/cpu0/cpufreq/cpuinfo_max_freq") as f:
            return int(f.read()) / 1e6
    except (OSError, ValueError):
        pass
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("cpu MHz"):
                    return float(line.split(":")[1]) / 1e3
    except (OSError, ValueError):
        pass
    return 0.0


def measure_fp32_macs_per_s(n: int = 384, seconds: float = 0.3) -> float:
    """Single-thread fp32 matrix-product throughput (MAC/s), best of repeated products."""
    import numpy as np
    from threadpoolctl import threadpool_limits

    rng = np.random.default_rng(0)
    a = rng.standard_normal((n, n)).astype(np.float32)
    b = rng.standard_normal((n, n)).astype(np.float32)
    best = float("inf")
    with threadpool_limits(limits=1):
        a @ b
        end = time.perf_counter() + seconds
        while time.perf_counter() < end:
            t = time.perf_counter()
            a @ b
            best = min(best, time.perf_counter() - t)
    return n**3 / best


def measure_bandwidth_bytes_per_s(mib: int = 128, repeats: int = 5) -> float:
    """Copy bandwidth (bytes read + written per second), best of ``repeats`` copies."""
    import numpy as np

    src = np.ones(mib * (1 << 20) // 8, dtype=np.float64)
    dst = np.empty_like(src)
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        np.copyto(dst, src)
        best = min(best, time.perf_counter() - t)
    return 2 * src.nbytes / best


@functools.lru_cache(maxsize=2)
def host_profile(measure: bool = True) -> BoardProfile:
    """This machine as a board; ``measure=False`` skips the two throughput measurements."""
    from tinykit.bench.runner import cpu_info

    info = cpu_info()
    clock = _clock_ghz()
    fp32 = bw = int8 = 0.0
    if measure:
        fp32 = measure_fp32_macs_per_s() / (clock * 1e9) if clock else 0.0
        bw = measure_bandwidth_bytes_per_s() / 1e9
        flags = set(info["cpu_flags"])
        # int8 lanes: VNNI's VPDPBUSD does 4 int8 products per 32-bit lane where an fp32 FMA
        # does 1 (Intel Intrinsics Guide); AVX2's VPMADDUBSW + VPMADDWD pair does 4 per lane
        # in two instructions -> 2x fp32
        int8 = fp32 * (4 if flags & {"avx512_vnni", "avx_vnni", "asimddp"} else 2)
    return BoardProfile(
        name="host",
        title="this machine",
        connect="local",
        cpu_model=info["cpu"],
        cores=os.cpu_count() or 1,
        clock_ghz=round(clock, 3),
        isa=info["cpu_flags"],
        bandwidth_gbs=round(bw, 2),
        fp32_macs_per_cycle=round(fp32, 2),
        int8_macs_per_cycle=round(int8, 2),
        runtimes=["onnxruntime", "ai-edge-litert", "pytorch"],
        source="read at run time",
        peaks_measured=measure,
    )

"""PyTorch eager latency of a tinykit checkpoint, in a process of its own.

    python -m tinykit.bench.torch_runner CKPT [--threads N] [--runs N] [--warmup N] [--raw]

Same JSON as the standalone runner (runtime "pytorch"), so a checkpoint and its exported
artifacts are compared like for like. Run as a fresh process: torch's thread pool next to
another runtime's in one process distorts both figures.
"""

from __future__ import annotations

import argparse
import json
import sys


def measure_checkpoint(path: str, *, threads: int = 1, runs: int = 100, warmup: int = 10) -> dict:
    import torch

    from tinykit.bench.runner import _peak_rss_kb, cpu_info, fixed_input, time_calls
    from tinykit.checkpoint import load_checkpoint

    torch.set_num_threads(threads)
    ckpt = load_checkpoint(path, can_trust=False)
    model = ckpt.build().eval()
    import numpy as np

    x = torch.from_numpy(fixed_input(list(ckpt.spec.shape), np.float32))

    def run():
        with torch.inference_mode():
            model(x)

    result = time_calls(run, runs=runs, warmup=warmup)
    result.update(
        warmup=warmup,
        threads=threads,
        runtime="pytorch",
        runtime_version=torch.__version__,
        peak_rss_kb=_peak_rss_kb(),
        measured=True,
        **cpu_info(),
    )
    return result


def main(argv: list[str] | None = None) -> int:
    from tinykit.errors import TinykitError

    ap = argparse.ArgumentParser(description="Time PyTorch eager inference of a checkpoint.")
    ap.add_argument("checkpoint")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--runs", type=int, default=100)
    ap.add_argument("--warmup", type=int, default=10)
    ap.add_argument("--raw", action="store_true")
    a = ap.parse_args(argv)
    try:
        result = measure_checkpoint(a.checkpoint, threads=a.threads, runs=a.runs, warmup=a.warmup)
    except TinykitError as e:
        print(f"runner: error: {str(e).splitlines()[0]}", file=sys.stderr)
        return 2
    if not a.raw:
        result.pop("times_ms")
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""tinykit bench: latency, MACs and memory of artifacts, here or on a board."""

from __future__ import annotations

import json

import click

DELEGATE_CHOICES = ["xnnpack", "cpu", "gpu", "nnapi"]


@click.command()
@click.argument("artifacts", nargs=-1, required=True, metavar="ARTIFACT...")
@click.option(
    "--board",
    default="host",
    show_default=True,
    metavar="NAME|TOML",
    help="Where to measure: host, rpi4, rpi5, android-midrange (see 'tinykit boards'), "
    "or a path to your own board.toml.",
)
@click.option(
    "--host",
    "host",
    metavar="USER@HOST|SERIAL",
    help="Reach the board: user@host for an SSH board (Raspberry Pi); the phone's "
    "serial (or 'usb' for the only phone) for an adb board. Without it a remote "
    "board gives a roofline estimate, labelled as such.",
)
@click.option(
    "--threads", type=click.IntRange(min=1), default=1, show_default=True, help="Inference threads."
)
@click.option(
    "--runs",
    type=click.IntRange(min=1),
    default=100,
    show_default=True,
    help="Timed runs per process (benchmark_model may do more: it also runs >= 1 s).",
)
@click.option(
    "--warmup",
    type=click.IntRange(min=0),
    default=10,
    show_default=True,
    help="Untimed runs after the first inference (which is reported apart).",
)
@click.option(
    "--repeats",
    type=click.IntRange(min=1),
    default=2,
    show_default=True,
    help="Fresh processes run back to back; their runs are pooled and their medians "
    "compared (a spread over 5% on a >= 1 ms model prints a warning).",
)
@click.option(
    "--estimate",
    "estimate_only",
    is_flag=True,
    help="Roofline estimate from the board profile only, even where it can be reached.",
)
@click.option(
    "--timeout",
    type=click.FloatRange(min=1),
    default=600.0,
    show_default=True,
    help="Seconds one measurement may take (remote: also the runner's own deadline).",
)
@click.option("--port", type=click.IntRange(1, 65535), help="SSH: port of the board.")
@click.option(
    "--identity", type=click.Path(dir_okay=False), metavar="KEY", help="SSH: private key file."
)
@click.option(
    "--ssh-opt",
    "ssh_options",
    multiple=True,
    metavar="OPTION",
    help="SSH: an extra -o option, e.g. StrictHostKeyChecking=accept-new (repeatable).",
)
@click.option("--remote-python", metavar="PATH", help="SSH: Python on the board (default python3).")
@click.option(
    "--benchmark-model",
    metavar="PATH",
    help="adb: benchmark_model on the phone, or a local binary to push "
    "(default: look in /data/local/tmp and PATH).",
)
@click.option(
    "--delegate",
    type=click.Choice(DELEGATE_CHOICES),
    default="xnnpack",
    show_default=True,
    help="adb: benchmark_model's delegate.",
)
@click.option(
    "--taskset",
    metavar="MASK",
    help="adb: CPU affinity mask, e.g. f0 (default: the board's big cores).",
)
@click.option(
    "--signature",
    metavar="NAME",
    help="adb: the signature to run (--signature_to_run_for) of a multi-signature file.",
)
@click.option(
    "--out",
    type=click.Path(file_okay=False),
    metavar="DIR",
    help="Output folder for bench.json (and latency_vs_macs.png for several "
    "artifacts); must not exist or be empty. Default: ./tinykit-out/bench-NNN/.",
)
@click.option("--json", "as_json", is_flag=True, help="Print bench.json instead of the table.")
@click.option("--quiet", is_flag=True, help="No progress on stderr.")
def bench(
    artifacts,
    board,
    host,
    threads,
    runs,
    warmup,
    repeats,
    estimate_only,
    timeout,
    port,
    identity,
    ssh_options,
    remote_python,
    benchmark_model,
    delegate,
    taskset,
    signature,
    out,
    as_json,
    quiet,
) -> None:
    """Measure ARTIFACT(s): .onnx (onnxruntime), .tflite (ai-edge-litert, XNNPACK) or a tinykit
    checkpoint (.pt, PyTorch eager), each in a fresh process, batch 1, one fixed input.

    Reports median, p90, mean and standard deviation of the timed runs, the first inference
    apart, peak memory of the runner process, MACs, the CPU and the instruction-set features
    that decide int8 speed, and the runtime versions. On a Raspberry Pi (--board rpi5 --host
    user@pi) the standalone runner is copied and run over SSH; on a phone (--board
    android-midrange --host SERIAL) LiteRT's benchmark_model runs over adb. A remote board
    without --host gives a roofline estimate, marked "est." and "measured": false.
    """
    from tinykit.bench.board import bench_on_board, check_host, resolve_board
    from tinykit.bench.latency import artifact_kind
    from tinykit.bench.report import bench_report, render_bench
    from tinykit.errors import TinykitError
    from tinykit.fileio import check_out_dir, new_run_dir, staged_dir, write_json
    from tinykit.progress import progress_bar

    kinds = [artifact_kind(a) for a in artifacts]  # every input checked before anything runs
    b = resolve_board(board)
    check_host(b, host)
    if host and not estimate_only:
        wanted = {"adb": ("tflite",), "ssh": ("tflite", "onnx")}.get(b.connect)
        for a, kind in zip(artifacts, kinds, strict=True):
            if wanted and kind not in wanted:
                raise TinykitError(
                    f"{a}: board '{b.name}' runs only {' or '.join('.' + w for w in wanted)} "
                    "files: pass the bundle's file instead (tinykit compress writes them)"
                )
    if threads > b.cores:
        click.echo(
            f"tinykit: warning: --threads {threads} on {b.cores} core(s) of '{b.name}': the "
            "threads share cores, so the latency is not what that many cores would give",
            err=True,
        )
    out_dir = check_out_dir(out) if out else new_run_dir("tinykit-out", "bench")
    opts = dict(
        port=port,
        identity=identity,
        ssh_options=list(ssh_options),
        remote_python=remote_python,
        benchmark_model=benchmark_model,
        delegate=delegate,
        taskset=taskset,
        signature=signature,
    )
    results = []
    for a in progress_bar(artifacts, desc=f"bench on {b.name}", enabled=not quiet):
        lat = bench_on_board(
            a,
            b,
            host,
            threads=threads,
            runs=runs,
            warmup=warmup,
            repeats=repeats,
            timeout=timeout,
            estimate_only=estimate_only,
            **opts,
        )
        results.append((a, lat))
    report = bench_report(results, b)
    with staged_dir(out_dir) as tmp:
        if len(results) > 1:
            from tinykit.bench.plot import latency_vs_macs_plot

            latency_vs_macs_plot(
                report["points"],
                tmp / "latency_vs_macs.png",
                title=f"Latency against MACs on {b.title}",
            )
        report["out_dir"] = str(out_dir)
        write_json(tmp / "bench.json", report)
    if as_json:
        click.echo(json.dumps(report, indent=2))
    else:
        click.echo(render_bench(report))

"""tinykit boards: the board profiles latency figures and estimates rest on."""

from __future__ import annotations

import json

import click


def _as_json(p) -> dict:
    """A profile for scripts: the host's peaks are null until measured, not a false 0.0."""
    d = p.to_dict()
    if p.name == "host" and not p.peaks_measured:
        for key in ("bandwidth_gbs", "fp32_macs_per_cycle", "int8_macs_per_cycle"):
            d[key] = None
    return d


@click.command()
@click.argument("name", required=False, metavar="[NAME|TOML]")
@click.option(
    "--measure-host",
    is_flag=True,
    help="Also measure this machine's peaks (fp32 matrix product, memory copy; ~1 s).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the profiles as JSON.")
def boards(name, measure_host, as_json) -> None:
    """List the board profiles (or show one: a shipped NAME or a path to a board.toml).

    Each shipped profile (boards/*.toml) cites the public source of every fact in a comment;
    'host' is this machine, read at run time. Use one with 'tinykit bench --board NAME'; add
    your own with '--board path/to/board.toml' (same fields as rpi5.toml).
    """
    from tinykit.boards import list_boards, load_board
    from tinykit.report import format_table

    if name:
        if name == "host":
            from tinykit.boards.host import host_profile

            profiles = [host_profile(measure=measure_host)]
        else:
            profiles = [load_board(name)]
    else:
        profiles = list_boards(measure_host=measure_host)
    if as_json:
        click.echo(json.dumps([_as_json(p) for p in profiles], indent=2))
        return
    header = [
        "board",
        "CPU",
        "connect",
        "cores",
        "GHz",
        "GB/s",
        "fp32 MAC/cyc",
        "int8 MAC/cyc",
        "int8 ISA",
    ]
    rows = []
    for p in profiles:
        peaks = p.name != "host" or p.peaks_measured
        rows.append(
            [
                p.name,
                p.cpu_model,
                p.connect,
                str(p.cores),
                f"{p.clock_ghz:g}",
                f"{p.bandwidth_gbs:g}" if peaks else "-",
                f"{p.fp32_macs_per_cycle:g}" if peaks else "-",
                f"{p.int8_macs_per_cycle:g}" if peaks else "-",
                ", ".join(f for f in p.isa if f not in ("fma", "amx_tile")) or "-",
            ]
        )
    click.echo(format_table(header, rows, text=(2, 8)))  # connect, ISA
    click.echo(
        "\nper-core peaks; sources in each boards/*.toml. host: read at run time; its GB/s "
        "and fp32 peak are measured with --measure-host ('-' until then), its int8 peak is "
        "derived from the fp32 one (x4 with VNNI or dot-product instructions, else x2). Remote "
        "boards: 'tinykit bench X --board NAME --host ...' measures, without --host estimates."
    )

"""Board profiles: shipped ones, a user's file, the host read at run time, bad files."""

from __future__ import annotations

from pathlib import Path

import pytest

from tinykit.boards import list_boards, load_board
from tinykit.errors import TinykitError


def test_shipped_profiles_and_their_peaks():
    pi4, pi5 = load_board("rpi4"), load_board("rpi5")
    assert pi4.cores == 4 and "asimddp" not in pi4.isa and "asimddp" in pi5.isa
    # 4 cores x 1.8 GHz x 4 fp32 MACs/cycle = 28.8 GMAC/s; one thread = a quarter
    assert pi4.peak_macs_per_s("fp32", threads=4) == pytest.approx(28.8e9)
    assert pi4.peak_macs_per_s("fp32", threads=8) == pytest.approx(28.8e9)  # no more cores
    assert pi4.peak_macs_per_s("int8", 1) / pi4.peak_macs_per_s("fp32", 1) == 2
    assert pi5.peak_macs_per_s("int8", 1) / pi5.peak_macs_per_s("fp32", 1) == 4
    phone = load_board("android-midrange")
    assert phone.connect == "adb" and phone.big_cores_mask == "f0"


def test_every_shipped_fact_has_a_source_comment():
    from importlib import resources

    for f in resources.files("tinykit.boards").iterdir():
        if not f.name.endswith(".toml") or f.name == "host.toml":
            continue
        lines = f.read_text().splitlines()
        for i, ln in enumerate(lines):
            if (
                "=" in ln
                and not ln.startswith(("#", "[", "name", "title", "connect"))
                and ln.split("=")[0].strip() != "runtimes"
            ):
                above = [x for x in lines[max(0, i - 6) : i] if x.startswith("#")]
                assert above, f"{f.name}: '{ln}' has no source comment"


def test_users_own_board(tmp_path):
    p = tmp_path / "jetson.toml"
    p.write_text("""name = "jetson"
connect = "ssh"
[cpu]
model = "6x Cortex-A78AE"
cores = 6
clock_ghz = 1.5
isa = ["asimd", "asimddp"]
[memory]
bandwidth_gbs = 102.4
[peak]
fp32_macs_per_cycle = 8
int8_macs_per_cycle = 32
""")
    b = load_board(p)
    assert b.name == "jetson" and b.peak_macs_per_s("int8", 6) == pytest.approx(6 * 1.5e9 * 32)


def test_bad_board_files(tmp_path):
    with pytest.raises(TinykitError, match="unknown board 'rpi3'.*android-midrange"):
        load_board("rpi3")
    with pytest.raises(TinykitError, match="does not exist"):
        load_board(tmp_path / "none.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("name = \n")
    with pytest.raises(TinykitError, match="not valid TOML"):
        load_board(bad)
    bad.write_text('name = "x"\n[cpu]\nmodel = "y"\n')
    with pytest.raises(TinykitError, match="missing 'cpu.cores'"):
        load_board(bad)
    bad.write_text(
        'name = "x"\nconnect = "bluetooth"\n[cpu]\nmodel = "y"\ncores = 1\n'
        "clock_ghz = 1\n[memory]\nbandwidth_gbs = 1\n[peak]\n"
        "fp32_macs_per_cycle = 1\nint8_macs_per_cycle = 1\n"
    )
    with pytest.raises(TinykitError, match="connect must be one of"):
        load_board(bad)
    good = (Path(__file__).parents[2] / "boards" / "rpi5.toml").read_text()
    bad.write_text(good.replace("bandwidth_gbs = 17.1", "bandwidth_gbs = -5"))
    with pytest.raises(TinykitError, match="bandwidth_gbs cannot be negative"):
        load_board(bad)
    bad.write_text(good.replace("cores = 4", 'cores = "four"'))
    with pytest.raises(TinykitError, match="'cpu.cores' must be a whole number"):
        load_board(bad)


def test_host_is_read_and_measured_at_run_time():
    import os

    from tinykit.boards.host import host_profile

    h = host_profile(measure=True)
    assert h.cores == os.cpu_count() and h.peaks_measured
    assert 1 <= h.fp32_macs_per_cycle <= 128  # any x86/Arm core: 1..128 fp32 MACs a cycle
    assert 0.5 <= h.bandwidth_gbs <= 1000
    assert [b.name for b in list_boards()] == ["android-midrange", "host", "rpi4", "rpi5"]

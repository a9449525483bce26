# ruff: noqa: E501  (the samples are verbatim tool output: their lines stay as printed)
"""The benchmark_model parser on real output of LiteRT's / TFLite's tool, as published.

Each sample is copied from the public place named above it (the lines that matter, verbatim).
"""

from __future__ import annotations

import pytest

from tinykit.bench.benchmark_model_output import BenchmarkOutputError, parse_benchmark_model

# github.com/google/XNNPACK issue #999, a Raspberry Pi (pi@raspberrypi), int8 YOLO, 4 threads,
# with --enable_op_profiling=true (the profile's own "Timings" line must be ignored)
XNNPACK_999_RPI = """\
INFO: Created TensorFlow Lite XNNPACK delegate for CPU.
The input model file size (MB): 3.67827
Initialized session in 18.777ms.
Running benchmark for at least 1 iterations and at least 0.5 seconds but terminate if exceeding 150 seconds.
count=9 first=64791 curr=56295 min=54873 max=65831 avg=57758.2 std=4065

Running benchmark for at least 50 iterations and at least 1 seconds but terminate if exceeding 150 seconds.
count=50 first=58154 curr=53809 min=53077 max=60727 avg=55043.2 std=1562

Inference timings in us: Init: 18777, First inference: 64791, Warmup (avg): 57758.2, Inference (avg): 55043.2
Note: as the benchmark tool itself affects memory footprint, the following is only APPROXIMATE to the actual memory footprint of the model at runtime. Take the information at your discretion.
Memory footprint delta from the start of the tool (MB): init=8.97656 overall=18.7227
Profiling Info for Benchmark Initialization:
Timings (microseconds): count=1 curr=1356
"""

# github.com/tensorflow/tensorflow issue #73862 (2024): "INFO: " prefixes; 74 timed runs
# although --num_runs defaulted to 50 (the tool runs for at least 1 s)
TF_73862_INFO = """\
INFO: Created TensorFlow Lite XNNPACK delegate for CPU.
INFO: The input model file size (MB): 16.9008
INFO: Initialized session in 12.75ms.
INFO: Running benchmark for at least 1 iterations and at least 0.5 seconds but terminate if exceeding 150 seconds.
INFO: count=37 first=14744 curr=15520 min=13164 max=18295 avg=13764.3 std=967

INFO: Running benchmark for at least 50 iterations and at least 1 seconds but terminate if exceeding 150 seconds.
INFO: count=74 first=14850 curr=13315 min=13105 max=15765 avg=13520.2 std=470

INFO: Inference timings in us: Init: 12750, First inference: 14744, Warmup (avg): 13764.3, Inference (avg): 13520.2
"""

# github.com/NobuoTsukamoto/meta-tensorflow-lite, doc/tensorflow-lite-benchmark.md (qemu
# riscv64): scientific notation, op profiling tables after the summary
META_TFLITE_RISCV = """\
Initialized session in 17.187ms.
Running benchmark for at least 1 iterations and at least 0.5 seconds but terminate if exceeding 150 seconds.
count=1 curr=3512391

Running benchmark for at least 50 iterations and at least 1 seconds but terminate if exceeding 150 seconds.
count=50 first=2990275 curr=2913402 min=2727568 max=3189954 avg=2.95034e+06 std=109798

Inference timings in us: Init: 17187, First inference: 3512391, Warmup (avg): 3.51239e+06, Inference (avg): 2.95034e+06
Note: as the benchmark tool itself affects memory footprint, the following is only APPROXIMATE to the actual memory footprint of the model at runtime. Take the information at your discretion.
Memory footprint delta from the start of the tool (MB): init=4.21094 overall=46.0859
Profiling Info for Benchmark Initialization:
Timings (microseconds): count=1 curr=1356
Memory (bytes): count=0
1 nodes observed
Operator-wise Profiling Info for Regular Benchmark Runs:
Timings (microseconds): count=50 first=2989660 curr=2912978 min=2727203 max=3189476 avg=2.9499e+06 std=109770
Memory (bytes): count=0
31 nodes observed
"""

# github.com/lp6m/yolov5s_android, benchmark/benchmark.md: TF 2.4.0 build on a Xiaomi Mi11,
# "Peak memory footprint" wording
YOLOV5S_ANDROID_MI11 = """\
count=50 first=249042 curr=250889 min=247067 max=254474 avg=249684 std=1442
Inference timings in us: Init: 16242, First inference: 360262, Warmup (avg): 304586, Inference (avg): 249684
Note: as the benchmark tool itself affects memory footprint, the following is only APPROXIMATE to the actual memory footprint of the model at runtime. Take the information at your discretion.
Peak memory footprint (MB): init=4.92969 overall=138.809
"""

# github.com/tensorflow/tensorflow issue #40183 (TF 2.2): the older "Average inference timings"
# line; 9 timed runs for --num_runs 50 (each run takes 16.9 s)
TF_40183_OLD = """\
Running benchmark for at least 1 iterations and at least 0.5 seconds but terminate if exceeding 150 seconds.
count=1 curr=15908626

Running benchmark for at least 50 iterations and at least 1 seconds but terminate if exceeding 150 seconds.
count=9 first=16856867 curr=16865810 min=16767506 max=17015249 avg=1.68505e+07 std=69772

Average inference timings in us: Warmup: 1.59086e+07, Init: 48019, Inference: 1.68505e+07
"""

# github.com/yuenshome/yuenshome.github.io issue #77 (Android arm64, 2019): "no stats" wording
YUENSHOME_77_NO_STATS = """\
Initialized session in 9.933ms
Running benchmark for at least 4 iterations and at least 0.5 seconds
count=7 first=127425 curr=66709 min=66709 max=127425 avg=76605.9 std=20944

Running benchmark for at least 10 iterations and at least 1 seconds
count=15 first=66753 curr=66800 min=66699 max=66838 avg=66767.6 std=39

Average inference timings in us: Warmup: 76605.9, Init: 9933, no stats: 66767.6
"""

# github.com/tensorflow/tensorflow, tensorflow/lite/tools/benchmark/README.md (op profiling
# example): only the profile's "Timings" line and the older summary survive
TF_README_PROFILE = """\
Timings (microseconds): count=50 first=79449 curr=81350 min=77385 max=88213 avg=79732 std=1929
Memory (bytes): count=0
31 nodes observed


Average inference timings in us: Warmup: 83235, Init: 38467, Inference: 79760.9
"""

# A newer build with p5/median/p95, from the README of a public Docker image for testing
# TFLite on a Qualcomm RB1 board (qrb2210-rb1-core-kit); found with the code search, which
# did not name its repository
QUALCOMM_RB1_MEDIAN = """\
INFO: Created TensorFlow Lite XNNPACK delegate for CPU.
INFO: The input model file size (MB): 4.2761
INFO: Initialized session in 87.639ms.
INFO: Running benchmark for at least 1 iterations and at least 0.5 seconds but terminate if exceeding 150 seconds.
INFO: count=5 first=106436 curr=105929 min=105929 max=106436 avg=106065 std=193 p5=105929 median=105948 p95=106436

INFO: Running benchmark for at least 50 iterations and at least 1 seconds but terminate if exceeding 150 seconds.
INFO: count=50 first=106022 curr=105780 min=105416 max=106528 avg=105784 std=260 p5=105485 median=105718 p95=106281

INFO: Inference timings in us: Init: 87639, First inference: 106436, Warmup (avg): 106065, Inference (avg): 105784
INFO: Note: as the benchmark tool itself affects memory footprint, the following is only APPROXIMATE to the actual memory footprint of the model at runtime. Take the information at your discretion.
INFO: Memory footprint delta from the start of the tool (MB): init=14.4414 overall=14.8164
"""

# Android's logcat view of the benchmark APK (logcat prefix), from a public Markdown guide to
# reading benchmark_model logs; found with the code search, which did not name its repository
LOGCAT_MEDIAN = """\
07-14 13:14:56.520 22838 22838 I tflite  : count=25 first=187533 curr=140990 min=140071 max=195121 avg=145528 std=13583 p5=140545 median=141253 p95=187533
07-14 13:14:56.521 22838 22838 I tflite  : Inference timings in us: Init: 92318, First inference: 187533, Warmup (avg): 211669, Inference (avg): 145528
07-14 13:14:56.521 22838 22838 I tflite  : Memory footprint delta from the start of the tool (MB): init=54.2852 overall=73.4102
"""


def test_raspberry_pi_sample_ignores_profile_timings():
    r = parse_benchmark_model(XNNPACK_999_RPI)
    assert r["runs"] == 50 and r["warmup_runs"] == 9
    assert r["mean"] == pytest.approx(55.0432) and r["std"] == pytest.approx(1.562)
    assert r["min"] == pytest.approx(53.077) and r["max"] == pytest.approx(60.727)
    assert r["median"] is None  # this build prints no median: never invented
    assert r["first_ms"] == pytest.approx(64.791) and r["init_ms"] == pytest.approx(18.777)
    assert r["memory_mb"] == {"delta_init": 8.97656, "delta_overall": 18.7227}


def test_info_prefix_and_run_count_not_fixed_by_num_runs():
    r = parse_benchmark_model(TF_73862_INFO)
    assert r["runs"] == 74  # not the 50 asked for
    assert r["mean"] == pytest.approx(13.5202) and r["warmup_mean_ms"] == pytest.approx(13.7643)
    assert r["first_ms"] == pytest.approx(14.744)


def test_scientific_notation_and_profile_tables():
    r = parse_benchmark_model(META_TFLITE_RISCV)
    assert r["runs"] == 50 and r["warmup_runs"] == 1
    assert r["mean"] == pytest.approx(2950.34)  # avg=2.95034e+06 us, not the profile's 2.9499e+06
    assert r["first_ms"] == pytest.approx(3512.391)
    assert r["memory_mb"]["delta_overall"] == pytest.approx(46.0859)


def test_peak_memory_wording():
    r = parse_benchmark_model(YOLOV5S_ANDROID_MI11)
    assert r["runs"] == 50 and r["mean"] == pytest.approx(249.684)
    assert r["memory_mb"] == {"peak_init": 4.92969, "peak_overall": 138.809}


def test_older_average_inference_line():
    r = parse_benchmark_model(TF_40183_OLD)
    assert r["runs"] == 9 and r["mean"] == pytest.approx(16850.5)
    assert r["init_ms"] == pytest.approx(48.019) and r["warmup_mean_ms"] == pytest.approx(15908.6)
    assert r["first_ms"] is None  # the older summary has no first-inference figure


def test_no_stats_wording():
    r = parse_benchmark_model(YUENSHOME_77_NO_STATS)
    assert r["runs"] == 15 and r["mean"] == pytest.approx(66.7676)
    assert r["warmup_runs"] == 7 and r["init_ms"] == pytest.approx(9.933)


def test_summary_only_when_the_stats_lines_are_missing():
    r = parse_benchmark_model(TF_README_PROFILE)
    assert r["mean"] == pytest.approx(79.7609) and r["runs"] is None


def test_median_and_percentiles_of_newer_builds():
    r = parse_benchmark_model(QUALCOMM_RB1_MEDIAN)
    assert r["runs"] == 50 and r["median"] == pytest.approx(105.718)
    assert r["p5"] == pytest.approx(105.485) and r["p95"] == pytest.approx(106.281)
    assert r["memory_mb"]["delta_overall"] == pytest.approx(14.8164)


def test_logcat_prefix():
    r = parse_benchmark_model(LOGCAT_MEDIAN)
    assert r["runs"] == 25 and r["median"] == pytest.approx(141.253)
    assert r["first_ms"] == pytest.approx(187.533)
    assert r["memory_mb"]["delta_init"] == pytest.approx(54.2852)


def test_failed_run_has_no_figures():
    # github.com/lp6m/yolov5s_android, benchmark/benchmark.md: the NNAPI qti-dsp run that failed
    failed = (
        "ERROR: NN API returned error ANEURALNETWORKS_OP_FAILED\n"
        "Failed to apply NNAPI delegate.\nBenchmarking failed.\n"
    )
    with pytest.raises(BenchmarkOutputError):
        parse_benchmark_model(failed)

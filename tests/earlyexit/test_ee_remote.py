"""The staged runner on a board over SSH, against a real OpenSSH server on 127.0.0.1 (the
"board" is this machine, its Python this worktree's .venv): same decisions as locally, and no
remote folder left behind."""

from __future__ import annotations

import glob
import sys
import time

import numpy as np
import pytest
import torch

from tests.bench.conftest import sshd  # noqa: F401  (the real sshd fixture)
from tinykit.errors import TinykitError

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    """Untrained ResNet-8 with heads after stem and stage2, ONNX and TFLite stages."""
    from tinykit.earlyexit.bundle import write_early_exit_bundle
    from tinykit.earlyexit.heads import attach_heads
    from tinykit.earlyexit.macs import exit_macs
    from tinykit.models import build_model
    from tinykit.spec import InputSpec

    torch.manual_seed(0)
    spec = InputSpec(shape=(1, 1, 32, 32), labels=tuple(map(str, range(10))))
    model = attach_heads(
        build_model("resnet8", num_classes=10, in_channels=1).eval(),
        ["stem", "stage2"],
        torch.zeros(spec.shape),
        num_classes=10,
    )
    from tinykit.earlyexit.decide import confidence
    from tinykit.earlyexit.train import exit_logits

    d = tmp_path_factory.mktemp("remote")
    x = np.random.default_rng(0).normal(size=(24, 1, 32, 32)).astype(np.float32)
    conf = [confidence(z) for z in exit_logits(model, x)[:2]]
    th = [float(np.median(c)) for c in conf]  # half leave at each head
    b, _ = write_early_exit_bundle(
        model,
        spec,
        th,
        exit_macs(model, torch.zeros(spec.shape)),
        d / "b",
        name="r",
        formats=("onnx", "tflite"),
        progress=False,
    )
    np.savez(d / "inputs.npz", x=x, y=np.arange(24) % 10)
    return b, d / "inputs.npz"


def _target(sshd, **kw):  # noqa: F811
    from tinykit.bench.ssh import SshTarget

    args = dict(
        host=sshd.host,
        port=sshd.port,
        identity=str(sshd.key),
        options=sshd.options,
        python=sys.executable,
        connect_timeout=5,
    )
    args.update(kw)
    return SshTarget(**args)


def _no_leftovers():
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and glob.glob("/tmp/tinykit-staged.*"):
        time.sleep(0.1)
    return glob.glob("/tmp/tinykit-staged.*") == []


def test_stages_over_ssh_match_the_local_run(sshd, bundle):  # noqa: F811
    from tinykit.bench import staged_runner
    from tinykit.earlyexit.remote import ssh_bench_stages

    b, inputs = bundle
    for rt in ("onnxruntime", "tflite"):
        local = staged_runner.measure(str(b), str(inputs), runtime=rt, passes=1)
        r = ssh_bench_stages(b, inputs, _target(sshd), runtime=rt, passes=1)
        assert r["host"] == sshd.host and r["measured"] is True and r["runtime"] == rt
        assert r["exit_counts"] == local["exit_counts"]
        assert r["inputs"] == 24 and r["latency_ms"]["full"]["mean"] > 0
        assert 0 < sum(r["exit_counts"][:2]) < 24  # some inputs leave early, some do not
    assert _no_leftovers()


def test_ssh_errors_are_one_line_and_clean(sshd, bundle):  # noqa: F811
    from tinykit.earlyexit.remote import ssh_bench_stages

    b, inputs = bundle
    with pytest.raises(TinykitError, match="no Python at '/nonexistent/python3'"):
        ssh_bench_stages(
            b, inputs, _target(sshd, python="/nonexistent/python3"), runtime="onnxruntime", passes=1
        )
    with pytest.raises(TinykitError, match="authentication to .* failed"):
        ssh_bench_stages(
            b, inputs, _target(sshd, identity=str(sshd.other_key)), runtime="onnxruntime", passes=1
        )
    with pytest.raises(TinykitError, match="did not finish within 2 s"):
        ssh_bench_stages(b, inputs, _target(sshd), runtime="onnxruntime", passes=100000, timeout=2)
    assert _no_leftovers()

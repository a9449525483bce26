"""Early exit with compression (pruned, k-means, int8 heads) and on torchvision's ResNet-18:
the exported stages still decide exactly as the PyTorch early-exit model."""

import numpy as np
import pytest
import torch

from tinykit.earlyexit.calibrate import ExitOutputs, Target, calibrate
from tinykit.earlyexit.decide import exit_index, exit_predictions
from tinykit.earlyexit.heads import HeadConfig, attach_heads
from tinykit.earlyexit.macs import exit_macs
from tinykit.earlyexit.train import HeadTrainConfig, exit_logits, train_heads

pytestmark = pytest.mark.slow


def _bundle(model, spec, thresholds, macs, out, comp, formats=("onnx",)):
    from tinykit.earlyexit.bundle import write_early_exit_bundle

    bundle, entries = write_early_exit_bundle(
        model,
        spec,
        thresholds,
        macs,
        out,
        name="t",
        formats=formats,
        compression=comp,
        progress=False,
    )
    return bundle, entries


def test_pruned_kmeans_int8_heads_stages_match_pytorch(reference_ckpt, digits, tmp_path):
    from tinykit.earlyexit.compress import compress_early_exit
    from tinykit.earlyexit.measure import verify_stages

    model = attach_heads(
        reference_ckpt.build(),
        ["stem", "stage1", "stage2"],
        torch.zeros(1, 1, 32, 32),
        num_classes=10,
    )
    train_heads(model, digits, HeadTrainConfig(epochs=10), progress=False)
    comp = compress_early_exit(
        model,
        digits,
        sparsity=0.5,
        finetune_epochs=1,
        kmeans_bits=4,
        kmeans_epochs=0,
        int8=True,
        progress=False,
    )
    assert comp.precision == "kmeans4+int8-heads"
    # pruning holds through the fine-tune and k-means: half of every conv/linear weight is 0
    conv = model.backbone.stage1.conv1.weight
    assert (conv == 0).float().mean().item() == pytest.approx(0.5, abs=1e-3)
    assert len(torch.unique(conv)) <= 16  # 4-bit codebook, zero included
    macs = exit_macs(model, torch.zeros(1, 1, 32, 32))
    assert macs.effective_cumulative[-1] < 0.6 * macs.cumulative[-1]
    x, y = digits.inputs("test"), digits.test.y
    logits = exit_logits(model, x)
    val = ExitOutputs.from_logits(exit_logits(model, digits.inputs("val")), digits.val.y)
    th, _ = calibrate(val, macs.cumulative, Target(max_drop=1.0), macs.full)
    out = ExitOutputs.from_logits(logits, y)
    ex = exit_index(out.conf, th)
    bundle, entries = _bundle(model, digits.spec, th, macs, tmp_path / "b", comp)
    v = verify_stages(
        bundle, x, y, ex, exit_predictions(out.preds, ex), runtime="onnxruntime", progress=False
    )
    assert v["exit_agreement"] == 1.0 and v["prediction_agreement"] == 1.0
    # stage files store 4-bit indices: far below the fp32 weights they encode
    sizes = {e["role"]: e["size_bytes"] for e in entries}
    fp32_stage2 = 4 * sum(p.numel() for p in model.backbone.stage2.parameters())
    assert sizes["stage2"] < 0.4 * fp32_stage2


def test_int8_head_file_logits_equal_the_fake_quant_head(reference_ckpt, digits, tmp_path):
    import onnxruntime as ort

    from tinykit.earlyexit.compress import compress_early_exit
    from tinykit.earlyexit.export import export_stages_onnx

    model = attach_heads(
        reference_ckpt.build(),
        ["stage1"],
        torch.zeros(1, 1, 32, 32),
        num_classes=10,
        config=HeadConfig(kind="max", hidden=16),
    )
    train_heads(model, digits, HeadTrainConfig(epochs=5), progress=False)
    comp = compress_early_exit(model, digits, int8=True, progress=False)
    paths = export_stages_onnx(model, digits.spec, tmp_path, int8_heads=comp.int8_graphs)
    sess = ort.InferenceSession(str(paths[0]))
    import onnx

    ops = [n.op_type for n in onnx.load(str(paths[0])).graph.node]
    # pooling in float, then both linear layers of the head as int8 kernels
    assert ops.count("QGemm") == 2 and "MaxPool" in ops and "Gemm" not in ops
    x = digits.inputs("test")[:40]
    ref = exit_logits(model, x)[0]
    got = np.concatenate([sess.run(["logits"], {"input": x[i : i + 1]})[0] for i in range(40)])
    np.testing.assert_allclose(got, ref, atol=1e-5)


def test_torchvision_resnet18_stages(tmp_path):
    import torchvision

    from tinykit.bench import staged_runner as sr
    from tinykit.earlyexit.compress import Compression
    from tinykit.spec import InputSpec

    torch.manual_seed(0)
    m = torchvision.models.resnet18(num_classes=10).eval()
    spec = InputSpec(shape=(1, 3, 32, 32), labels=tuple(map(str, range(10))))
    model = attach_heads(m, ["layer1", "layer2", "layer3"], torch.zeros(spec.shape), num_classes=10)
    macs = exit_macs(model, torch.zeros(spec.shape))
    assert macs.cumulative[0] < macs.cumulative[1] < macs.cumulative[2] < macs.cumulative[3]
    x = torch.randn(12, *spec.shape[1:]).numpy()
    ref = exit_logits(model, x)
    conf = ExitOutputs.from_logits(ref, np.zeros(12, dtype=np.int64)).conf
    # half leave at the first head, half of the rest at the second, the others go to the end
    th = [float(np.median(conf[0])), float(np.median(conf[1])), 1.0]
    want = exit_index(conf, th)
    assert set(want.tolist()) >= {0, 3}
    bundle, _ = _bundle(model, spec, th, macs, tmp_path / "b", Compression())
    man = sr._read_manifest(str(bundle))
    calls, _, _ = sr.load_stages(str(bundle), man, "onnxruntime", 1)
    for i in range(12):
        k, logits = sr.run_early_exit(calls, th, x[i : i + 1])
        assert k == want[i]
        np.testing.assert_allclose(logits[0], ref[k, i], rtol=1e-3, atol=1e-4)

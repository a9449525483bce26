"""Exported files run on their real runtimes and agree with PyTorch on real inputs."""

import numpy as np
import pytest
import torch

from tinykit.exporters.onnx import export_onnx
from tinykit.exporters.onnx_kmeans import pack_indices, unpack_indices
from tinykit.quant.kmeans import quantize_kmeans
from tinykit.transforms import fold_batchnorm


@pytest.mark.parametrize("bits", range(1, 9))
def test_pack_unpack_round_trip(bits):
    lab = np.random.default_rng(bits).integers(0, 2**bits, size=1003)
    packed = pack_indices(lab, bits)
    assert packed.size == (1003 * bits + 7) // 8 + 1  # n bits each, one pad byte
    assert np.array_equal(unpack_indices(packed, lab.size, bits), lab)


def test_pack_by_hand():
    # 2-bit indices [1, 2, 3, 0] -> bits (LSB first) 10 01 11 00 -> 0b00111001 = 57
    assert pack_indices(np.array([1, 2, 3, 0]), 2).tolist() == [57, 0]


@pytest.mark.parametrize(
    ("bits", "per_channel", "fold"), [(4, False, False), (3, False, True), (2, True, False)]
)
def test_kmeans_onnx_matches_torch_and_is_n_bit_small(
    tmp_path, reference_ckpt, digits, bits, per_channel, fold
):
    import onnx
    import onnxruntime as ort

    m = reference_ckpt.build()
    if fold:
        fold_batchnorm(m)
    fp32 = export_onnx(m, digits.spec, tmp_path / "fp32.onnx")
    books = quantize_kmeans(m, bits, per_channel=per_channel)
    art = export_onnx(m, digits.spec, tmp_path / "k.onnx", precision="kmeans", encoding=books)
    x = digits.inputs("test")[:64]
    ref = m(torch.from_numpy(x)).detach().numpy()
    np.testing.assert_allclose(art(x), ref, atol=1e-4)
    # no fp32 weight tensor of a conv/linear layer is left in the file
    proto = onnx.load(str(art.path))
    big_float = [
        i.name for i in proto.graph.initializer if i.data_type == 1 and np.prod(i.dims) > 64 * 10
    ]
    assert big_float == []
    n_weights = sum(b.labels.numel() for b in books.values())
    n_cent = sum(b.centroids.numel() for b in books.values())
    n_chan = sum(b.labels.shape[0] for b in books.values())  # folded batch-norm factors
    payload = n_weights * bits / 8 + n_cent * 4 + n_chan * 4
    # packed indices + codebooks + channel factors; then biases, the graph and the decode
    # function (about 12 kB here) are all the rest
    assert payload < art.size_bytes < payload + 14_000
    assert art.size_bytes < fp32.size_bytes * (bits / 32 + 0.05 + (0.1 if per_channel else 0))
    # onnxruntime folds the decode at load: the optimized graph has only the model's own ops
    so = ort.SessionOptions()
    so.optimized_model_filepath = str(tmp_path / "opt.onnx")
    so.log_severity_level = 3
    ort.InferenceSession(str(art.path), so, providers=["CPUExecutionProvider"])
    ops = {n.op_type for n in onnx.load(so.optimized_model_filepath).graph.node}
    assert not ops & {"Gather", "BitShift", "Range", "KMeansDecode"}


def test_pruned_kmeans_layers_store_a_mask_and_nonzero_indices(tmp_path, reference_ckpt, digits):
    import onnx

    from tinykit.exporters.onnx_kmeans import encode_layer
    from tinykit.prune.fine import prune_fine

    m = reference_ckpt.build()
    prune_fine(m, {"stage3.conv2": 0.75, "stage3.conv1": 0.1})
    dense_file = export_onnx(m, digits.spec, tmp_path / "fp32.onnx")
    books = quantize_kmeans(m, 4)
    fn, arrays = encode_layer(books["stage3.conv2"])
    n = 64 * 64 * 9
    assert fn == "KMeansDecodeSparse"  # 1 + 0.25 * 4 = 2 bits per weight instead of 4
    assert arrays["mask"].size == n // 8 + 1 and arrays["packed"].size == n // 4 * 4 // 8 + 1
    assert encode_layer(books["stage3.conv1"])[0] == "KMeansDecode"  # 10%: the mask would cost
    art = export_onnx(m, digits.spec, tmp_path / "k.onnx", precision="kmeans", encoding=books)
    x = digits.inputs("test")[:64]
    np.testing.assert_allclose(art(x), m(torch.from_numpy(x)).detach().numpy(), atol=1e-4)
    ops = {n.op_type for n in onnx.load(str(art.path)).graph.node}
    assert {"KMeansDecode", "KMeansDecodeSparse"} <= ops
    assert art.size_bytes < 0.15 * dense_file.size_bytes  # 4-bit, one layer at 2 bits per weight
    # the decoded weights are computed, not stored: their zeros still skip work in the count
    from tinykit.bench.macs import count_macs
    from tinykit.bench.onnx_macs import count_onnx_macs

    torch_count = count_macs(m, torch.from_numpy(x[:1]))
    onnx_count = count_onnx_macs(art.path)
    assert onnx_count.macs == torch_count.macs
    assert onnx_count.effective_macs == torch_count.effective_macs < torch_count.macs


def test_tflite_agrees_with_torch(tmp_path, reference_model, digits):
    from tinykit.exporters.tflite import export_tflite

    art = export_tflite(reference_model, digits.spec, tmp_path / "m.tflite")
    x = digits.inputs("test")[:32]
    ref = reference_model(torch.from_numpy(x)).detach().numpy()
    np.testing.assert_allclose(art(x), ref, atol=1e-4)

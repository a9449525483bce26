import pytest
import torch

from tinykit.checkpoint import Checkpoint, load_checkpoint, save_checkpoint
from tinykit.errors import TinykitError
from tinykit.models import build_model
from tinykit.transforms import fold_batchnorm


def _trained_like_resnet8():
    torch.manual_seed(0)
    m = build_model("resnet8", num_classes=10, in_channels=1)
    for mod in m.modules():  # non-trivial batch-norm statistics
        if isinstance(mod, torch.nn.BatchNorm2d):
            mod.running_mean.uniform_(-0.5, 0.5)
            mod.running_var.uniform_(0.5, 2.0)
            mod.weight.data.uniform_(0.5, 1.5)
            mod.bias.data.uniform_(-0.2, 0.2)
    return m.eval()


def test_fold_batchnorm_preserves_outputs_and_zeros():
    m = _trained_like_resnet8()
    with torch.no_grad():
        m.stage1.conv1.weight[0] = 0.0
    x = torch.randn(4, 1, 32, 32)
    ref = m(x)
    pairs = fold_batchnorm(m)
    assert len(pairs) == 9  # every conv of ResNet-8 has its own batch norm
    assert not any(isinstance(x, torch.nn.BatchNorm2d) for x in m.modules())
    torch.testing.assert_close(m(x), ref, atol=1e-5, rtol=1e-5)
    assert torch.all(m.stage1.conv1.weight[0] == 0)


def test_checkpoint_round_trip_replays_fold_and_channel_pruning(tmp_path, digits):
    from tinykit.prune.channel import prune_channels

    m = _trained_like_resnet8()
    prune_channels(m, torch.zeros(1, 1, 32, 32), 0.5)
    fold_batchnorm(m)
    x = torch.randn(2, 1, 32, 32)
    ref = m(x)
    path = save_checkpoint(tmp_path / "m.pt", m, Checkpoint("resnet8", digits.spec, {}))
    ck = load_checkpoint(path)  # weights_only=True inside
    back = ck.build()
    assert back.stage1.conv1.out_channels == 8
    torch.testing.assert_close(back(x), ref)
    assert ck.spec == digits.spec


def test_foreign_pickle_refused_unless_trusted(tmp_path):
    import argparse

    p = tmp_path / "evil.pt"  # a class outside torch's weights_only allowlist
    torch.save({"format": "tinykit-checkpoint", "obj": argparse.Namespace()}, p)
    with pytest.raises(TinykitError, match="--trust-pickle"):
        load_checkpoint(p)
    with pytest.raises(TinykitError, match="not a tinykit checkpoint: export it") as e:
        load_checkpoint(p, can_trust=False)  # bench has no --trust-pickle: no advice to use it
    assert "--trust-pickle" not in str(e.value)


def test_plain_state_dict_is_not_a_checkpoint(tmp_path):
    p = tmp_path / "sd.pt"
    torch.save(build_model("resnet8", num_classes=10, in_channels=1).state_dict(), p)
    with pytest.raises(TinykitError, match="--weights"):
        load_checkpoint(p)


def test_garbage_file(tmp_path):
    p = tmp_path / "x.pt"
    for junk in (b"not a checkpoint at all", b"hi\n"):  # "h" is a pickle opcode: a KeyError
        p.write_bytes(junk)
        with pytest.raises(TinykitError, match="cannot read checkpoint .*not a PyTorch file"):
            load_checkpoint(p)


def test_untrained_architecture_is_the_same_on_every_run(tmp_path):
    """Without --weights the random init is seeded, so two runs compress the same model, and the
    caller's global RNG is left as it was."""
    import numpy as np

    from tinykit.sources import load_source

    x = np.random.default_rng(0).integers(0, 255, size=(30, 3, 32, 32)).astype(np.uint8)
    y = np.arange(30) % 3
    np.savez(tmp_path / "train.npz", x=x, y=y)
    np.savez(tmp_path / "test.npz", x=x[:12], y=y[:12])
    torch.manual_seed(123)
    before = torch.rand(1)
    torch.manual_seed(123)
    a, _ = load_source("resnet18", data=str(tmp_path), num_classes=3, progress=False)
    b, _ = load_source("resnet18", data=str(tmp_path), num_classes=3, progress=False)
    c, _ = load_source("resnet18", data=str(tmp_path), num_classes=3, seed=1, progress=False)
    assert torch.rand(1) == before
    wa, wb, wc = (s.model.conv1.weight for s in (a, b, c))
    assert torch.equal(wa, wb)
    assert not torch.equal(wa, wc)


def test_data_prepared_otherwise_than_the_checkpoint_is_pointed_out(capsys):
    from tinykit.sources import _warn_if_prepared_otherwise
    from tinykit.spec import InputSpec, Preprocess

    def spec(scale, size):
        return InputSpec(
            shape=(1, 1, *size), labels=("a", "b"), preprocess=Preprocess(scale=scale, resize=size)
        )

    _warn_if_prepared_otherwise(spec(1 / 255, (12, 12)), spec(1 / 255, (12, 12)), "m.pt")
    assert capsys.readouterr().err == ""
    _warn_if_prepared_otherwise(spec(1.0, (8, 8)), spec(1 / 255, (12, 12)), "m.pt")
    err = capsys.readouterr().err
    assert "holds float values (used as they are) but m.pt was trained on uint8 pixels" in err
    assert "images are 8x8 but m.pt takes 12x12" in err

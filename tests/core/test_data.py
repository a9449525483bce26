import numpy as np
import pytest

from tinykit.data import load_data, load_digits_data
from tinykit.errors import TinykitError


def test_digits_split_is_deterministic_disjoint_and_stratified(digits):
    again = load_digits_data(seed=0)
    assert (len(digits.train), len(digits.val), len(digits.test)) == (1258, 180, 359)
    assert np.array_equal(again.test.y, digits.test.y)
    assert np.array_equal(again.test.x, digits.test.x)
    # every digit class appears in every split, in proportion (about 20% in test)
    counts = np.bincount(digits.test.y, minlength=10)
    assert counts.min() >= 34 and counts.max() <= 38
    # raw values are the data set's 0..16 pixel counts
    assert digits.train.x.max() == 16.0 and digits.train.x.min() == 0.0
    assert digits.spec.shape == (1, 1, 32, 32)


def test_digits_inputs_are_normalised(digits):
    x = digits.inputs("test")
    assert x.shape == (359, 1, 32, 32)
    assert x.min() >= -1.0 and x.max() <= 1.0


def test_npz_folder(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, size=(100, 3, 8, 8), dtype=np.uint8)
    y = np.arange(100) % 4
    np.savez(tmp_path / "train.npz", x=x, y=y)
    np.savez(tmp_path / "test.npz", x=x[:20], y=y[:20])
    ds = load_data(str(tmp_path))
    assert len(ds.train) + len(ds.val) == 100 and len(ds.test) == 20
    assert ds.spec.shape == (1, 3, 8, 8)
    assert ds.spec.preprocess.scale == pytest.approx(1 / 255)
    # mean measured on the training split, after scaling
    expect = (ds.train.x / 255).mean(axis=(0, 2, 3))
    np.testing.assert_allclose(ds.spec.preprocess.mean, expect, atol=1e-4)
    assert ds.spec.labels == ("0", "1", "2", "3")


def test_npy_pair_and_hw_images(tmp_path):
    x = np.random.default_rng(1).random((50, 6, 6)).astype(np.float32)
    y = np.arange(50) % 2
    np.save(tmp_path / "img.npy", x)
    np.save(tmp_path / "lab.npy", y)
    ds = load_data(f"{tmp_path / 'img.npy'},{tmp_path / 'lab.npy'}")
    assert ds.spec.shape == (1, 1, 6, 6)
    assert len(ds.train) + len(ds.val) + len(ds.test) == 50


def test_image_folder(tmp_path):
    from PIL import Image

    for split in ("train", "test"):
        for cls, val in (("cat", 30), ("dog", 200)):
            d = tmp_path / split / cls
            d.mkdir(parents=True)
            for i in range(5):
                Image.new("RGB", (10, 12), (val, val, val)).save(d / f"{i}.png")
    ds = load_data(str(tmp_path), image_size=8)
    assert ds.spec.labels == ("cat", "dog")
    assert ds.spec.shape == (1, 3, 8, 8)
    assert set(np.unique(ds.test.x)) == {30.0, 200.0}
    assert load_data(str(tmp_path)).spec.shape == (1, 3, 12, 10)  # the images' own size
    # read at a checkpoint's size (resized once, as in training) unless --image-size says
    assert load_data(str(tmp_path), folder_size=(6, 5)).spec.shape == (1, 3, 6, 5)
    assert load_data(str(tmp_path), image_size=8, folder_size=(6, 5)).spec.shape == (1, 3, 8, 8)


@pytest.mark.parametrize(
    ("make", "needle"),
    [
        (lambda p: None, "does not exist"),
        (
            lambda p: (
                p.mkdir(),
                np.savez(p / "train.npz", x=np.zeros((3, 2, 2))),
                np.savez(p / "test.npz", x=np.zeros((3, 2, 2))),
            ),
            "'x' and 'y'",
        ),
        (
            lambda p: (p.mkdir(), np.savez(p / "train.npz", x=np.zeros((3, 2, 2)), y=np.arange(3))),
            "no test.npz",
        ),
        (
            lambda p: (
                p.mkdir(),
                np.save(p / "x.npy", np.zeros((4, 2, 2))),
                np.save(p / "y.npy", np.array([0.5, 1, 2, 3])),
            ),
            "integers",
        ),
        (
            lambda p: (
                p.mkdir(),
                np.save(p / "x.npy", np.zeros((4, 8, 8, 3))),
                np.save(p / "y.npy", np.arange(4)),
            ),
            "channels-last",
        ),
        (
            lambda p: (
                p.mkdir(),
                np.savez(p / "train.npz", x=np.zeros((0, 1, 8, 8)), y=np.zeros(0, int)),
                np.savez(p / "test.npz", x=np.zeros((0, 1, 8, 8)), y=np.zeros(0, int)),
            ),
            "train.npz holds no images",
        ),
        (
            lambda p: (
                p.mkdir(),
                np.save(
                    p / "x.npy", np.where(np.arange(40 * 64) == 7, np.nan, 1.0).reshape(40, 8, 8)
                ),
                np.save(p / "y.npy", np.arange(40) % 2),
            ),
            "1 image.s. hold NaN or infinite values",
        ),
        (
            lambda p: (
                p.mkdir(),
                np.save(p / "x.npy", np.zeros((40, 8, 8))),
                np.save(p / "y.npy", np.zeros(40, int)),
            ),
            "one class only",
        ),
    ],
)
def test_bad_data_is_one_clear_error(tmp_path, make, needle):
    p = tmp_path / "d"
    make(p)
    with pytest.raises(TinykitError, match=needle):
        load_data(str(p))


def test_classes_without_training_images_are_pointed_out(tmp_path, capsys):
    y = np.array([0, 1, 2, 7] * 20)
    np.save(tmp_path / "x.npy", np.random.default_rng(0).random((80, 8, 8)))
    np.save(tmp_path / "y.npy", y)
    ds = load_data(str(tmp_path))
    assert ds.spec.num_classes == 8
    assert "no training images of class(es) 3, 4, 5, 6" in capsys.readouterr().err

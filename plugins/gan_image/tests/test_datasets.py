"""Datasets: embedded digits, IDX (MNIST layouts), CIFAR-10 (safe unpickling, binary), image folders."""

from __future__ import annotations

import gzip
import os
import pickle
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from gan import GanError
from gan_image.datasets import (DataConfig, ImageData, make_cifar10, make_digits, make_fashion_mnist,
                                make_image_folder, make_mnist, read_idx, resize_uint8, shape_data)


class Cfg:
    """A recipe config stand-in: factories only read its ``data`` group."""

    def __init__(self, **data):
        self.data = DataConfig(**data)


# --- embedded digits -----------------------------------------------------------------------------
def test_digits_are_deterministic_labelled_and_shaped():
    a = make_digits(None, Cfg(embedded_size=500, embedded_seed=3))
    b = make_digits(None, Cfg(embedded_size=500, embedded_seed=3))
    c = make_digits(None, Cfg(embedded_size=500, embedded_seed=4))
    assert a.images.shape == (500, 1, 28, 28) and a.images.dtype == torch.uint8
    assert torch.equal(a.images, b.images) and torch.equal(a.labels, b.labels)
    assert not torch.equal(a.images, c.images)
    assert torch.bincount(a.labels, minlength=10).min() >= 40  # every class present, roughly balanced
    assert a.test_images is not None and len(a.test_images) == 200
    # strokes on a black background, like MNIST: mostly dark, some full ink
    assert 0.05 < a.images.float().mean() / 255 < 0.3 and a.images.max() == 255


def test_digit_classes_are_visually_distinct():
    """Nearest class-mean on pixels already separates most digits: labels carry the shape."""
    d = make_digits(None, Cfg(embedded_size=2000))
    x, y = d.images.flatten(1).float(), d.labels
    means = torch.stack([x[y == k].mean(0) for k in range(10)])
    tx = d.test_images.flatten(1).float()
    pred = torch.cdist(tx, means).argmin(1)
    assert (pred == d.test_labels).float().mean() > 0.6


def test_digits_resize_and_channels():
    d = make_digits(None, Cfg(embedded_size=50, image_size=32, channels=3))
    assert d.images.shape == (50, 3, 32, 32) and d.test_images.shape[1:] == (3, 32, 32)
    assert torch.equal(d.images[:, 0], d.images[:, 2])


# --- IDX files -----------------------------------------------------------------------------------
def idx_bytes(a: np.ndarray) -> bytes:
    header = bytes([0, 0, 0x08, a.ndim]) + b"".join(int(s).to_bytes(4, "big") for s in a.shape)
    return header + a.astype(np.uint8).tobytes()


def write_mnist(folder: Path, n: int = 30, gz: bool = True, test: bool = True, seed: int = 0) -> tuple:
    rng = np.random.default_rng(seed)
    x, y = rng.integers(0, 256, (n, 28, 28)), rng.integers(0, 10, n)
    folder.mkdir(parents=True, exist_ok=True)
    files = {"train-images-idx3-ubyte": x, "train-labels-idx1-ubyte": y}
    if test:
        files.update({"t10k-images-idx3-ubyte": x[:10], "t10k-labels-idx1-ubyte": y[:10]})
    for name, arr in files.items():
        data = idx_bytes(arr)
        (folder / (name + ".gz" if gz else name)).write_bytes(gzip.compress(data) if gz else data)
    return x, y


def test_mnist_from_a_folder_of_gz_files(tmp_path):
    x, y = write_mnist(tmp_path)
    d = make_mnist(tmp_path, Cfg())
    assert d.images.shape == (30, 1, 28, 28) and torch.equal(d.images[:, 0], torch.from_numpy(x).to(torch.uint8))
    assert torch.equal(d.labels, torch.from_numpy(y)) and d.test_images.shape == (10, 1, 28, 28)


def test_mnist_in_torchvision_layout_uncompressed(tmp_path):
    write_mnist(tmp_path / "MNIST" / "raw", gz=False)
    assert len(make_mnist(tmp_path, Cfg())) == 30
    write_mnist(tmp_path / "FashionMNIST" / "raw", n=12, seed=1)
    f = make_fashion_mnist(tmp_path, Cfg())
    assert len(f) == 12 and f.classes[0] == "T-shirt/top" and f.name == "fashion-mnist"


def test_mnist_without_test_split_and_limit(tmp_path):
    write_mnist(tmp_path, test=False)
    d = make_mnist(tmp_path, Cfg(limit=7))
    assert len(d) == 7 and d.test_images is None


def test_missing_mnist_names_files_and_places(tmp_path):
    with pytest.raises(GanError) as e:
        make_mnist(tmp_path, Cfg())
    msg = str(e.value)
    assert "train-images-idx3-ubyte" in msg and "MNIST/raw" in msg and str(tmp_path) in msg
    assert "\n" not in msg
    with pytest.raises(GanError, match="needs --data-root"):
        make_mnist(None, Cfg())


def test_truncated_idx_file_is_named(tmp_path):
    write_mnist(tmp_path, gz=False)
    p = tmp_path / "train-images-idx3-ubyte"
    p.write_bytes(p.read_bytes()[:-100])
    with pytest.raises(GanError, match="train-images-idx3-ubyte: IDX file is truncated"):
        make_mnist(tmp_path, Cfg())
    (tmp_path / "x.gz").write_bytes(b"not gzip")
    with pytest.raises(GanError, match="x.gz: cannot read IDX"):
        read_idx(tmp_path / "x.gz")


# --- CIFAR-10 ------------------------------------------------------------------------------------
def cifar_arrays(n: int, seed: int) -> tuple[np.ndarray, list[int]]:
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (n, 3072), dtype=np.uint8), [int(v) for v in rng.integers(0, 10, n)]


def test_cifar_python_batches_are_unpickled_safely(tmp_path):
    d = tmp_path / "cifar-10-batches-py"
    d.mkdir()
    first = None
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        x, y = cifar_arrays(4, hash(name) % 1000)
        first = first if first is not None else x
        with open(d / name, "wb") as f:
            pickle.dump({b"batch_label": b"x", b"data": x, b"labels": y}, f, protocol=2)
    data = make_cifar10(tmp_path, Cfg())
    assert data.images.shape == (20, 3, 32, 32) and data.test_images.shape == (4, 3, 32, 32)
    # row layout: 1024 red values, then green, then blue, each row-major
    assert data.images[0, 1, 0, 5] == int(first[0, 1024 + 5])


class Exploit:
    def __reduce__(self):
        return (os.system, ("echo pwned",))


def test_cifar_pickle_with_code_is_refused(tmp_path):
    for i in range(1, 6):
        with open(tmp_path / f"data_batch_{i}", "wb") as f:
            pickle.dump({"data": Exploit(), "labels": [0]}, f)
    with pytest.raises(GanError, match="refusing to load global"):
        make_cifar10(tmp_path, Cfg())


def test_cifar_binary_release(tmp_path):
    d = tmp_path / "cifar-10-batches-bin"
    d.mkdir()
    for name in [f"data_batch_{i}.bin" for i in range(1, 6)]:
        x, y = cifar_arrays(3, 7)
        np.concatenate([np.array(y, dtype=np.uint8)[:, None], x], 1).tofile(d / name)
    data = make_cifar10(tmp_path, Cfg(image_size=16))
    assert data.images.shape == (15, 3, 16, 16) and data.test_images is None
    assert torch.equal(data.labels[:3], torch.tensor(y))
    with pytest.raises(GanError, match="CIFAR-10 not found"):
        make_cifar10(tmp_path / "nothing", Cfg())


# --- image folders -------------------------------------------------------------------------------
def make_folder(root: Path) -> None:
    (root / "cats").mkdir(parents=True)
    (root / "dogs" / "deeper").mkdir(parents=True)
    Image.new("RGB", (40, 24), (255, 0, 0)).save(root / "cats" / "red.png")
    Image.new("L", (20, 20), 128).save(root / "cats" / "gray.jpg")
    Image.fromarray(np.full((16, 16), 65535, dtype=np.uint16)).save(root / "dogs" / "white16.png")
    Image.new("RGB", (30, 30), (0, 0, 255)).save(root / "dogs" / "deeper" / "blue.bmp")


def test_folder_with_class_subfolders_rgb_gray_16bit_rectangular(tmp_path):
    make_folder(tmp_path)
    d = make_image_folder(tmp_path, Cfg(image_size=8))
    assert d.images.shape == (4, 3, 8, 8) and d.classes == ["cats", "dogs"]
    assert d.labels.tolist() == [0, 0, 1, 1]
    gray, red, blue, white = d.images  # sorted paths: cats/gray, cats/red, dogs/deeper/blue, dogs/white16
    assert red[0].min() == 255 and red[1:].max() == 0
    assert abs(int(gray.float().mean()) - 128) <= 1
    assert white.min() == 255  # 16-bit full scale maps to 255
    assert blue[2].min() == 255


def test_flat_folder_is_unlabelled_and_grayscale_option(tmp_path):
    make_folder(tmp_path)
    flat = tmp_path / "flat"
    flat.mkdir()
    for p in list((tmp_path / "cats").iterdir()):
        p.rename(flat / p.name)
    d = make_image_folder(flat, Cfg(image_size=8, channels=1))
    assert d.labels is None and d.num_classes == 0 and d.images.shape == (2, 1, 8, 8)


def test_corrupt_image_is_named_or_skipped_with_a_count(tmp_path):
    make_folder(tmp_path)
    bad = tmp_path / "dogs" / "broken.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    with pytest.raises(GanError, match="broken.png"):
        make_image_folder(tmp_path, Cfg(image_size=8))
    with pytest.warns(UserWarning, match="skipped 1 unreadable"):
        d = make_image_folder(tmp_path, Cfg(image_size=8, skip_bad=True))
    assert d.skipped == 1 and len(d) == 4


def test_empty_or_missing_folder(tmp_path):
    with pytest.raises(GanError, match="no image files"):
        make_image_folder(tmp_path, Cfg())
    with pytest.raises(GanError, match="folder not found"):
        make_image_folder(tmp_path / "absent", Cfg())


def test_resize_crop_keeps_the_centre_stretch_keeps_everything():
    img = torch.zeros(1, 1, 10, 30, dtype=torch.uint8)
    img[..., :10] = 255  # left third white
    crop = resize_uint8(img, 10, "crop")
    stretch = resize_uint8(img, 10, "stretch")
    assert crop.max() == 0  # the white third is cut away
    assert stretch[..., :3].float().mean() > 200 and stretch[..., -3:].max() == 0


def test_shape_data_rejects_bad_values():
    d = ImageData(torch.zeros(4, 1, 8, 8, dtype=torch.uint8), None, [], "x")
    with pytest.raises(GanError, match="data.limit"):
        shape_data(d, DataConfig(limit=0))
    with pytest.raises(GanError, match="data.channels"):
        shape_data(d, DataConfig(channels=2))


def test_plugin_registers_the_datasets_as_image_data():
    from gan.testing import fresh_manager
    pm = fresh_manager(("image", "gan_image.plugin"))
    reg = pm.registry("dataset")
    for name in ("digits", "mnist", "fashion-mnist", "cifar10", "folder"):
        assert reg.entry(name).meta["kind"] == "image" and reg.entry(name).plugin == "image"


def test_folder_holds_out_a_fixed_part_for_evaluation(tmp_path):
    for i in range(30):
        sub = tmp_path / ("a" if i % 2 else "b")
        sub.mkdir(exist_ok=True)
        Image.new("L", (8, 8), 5 * i).save(sub / f"{i:02d}.png")
    d = make_image_folder(tmp_path, Cfg(image_size=8))
    assert len(d) == 27 and d.test_images.shape == (3, 3, 8, 8) and d.test_labels.shape == (3,)
    assert "held-out 10%" in d.test_name
    train_px = {int(x[0, 0, 0]) for x in d.images}
    test_px = {int(x[0, 0, 0]) for x in d.test_images}
    assert not train_px & test_px and len(train_px | test_px) == 30  # disjoint, nothing lost
    again = make_image_folder(tmp_path, Cfg(image_size=8))
    assert torch.equal(again.test_images, d.test_images)  # the same split every time
    whole = make_image_folder(tmp_path, Cfg(image_size=8, held_out=0.0))
    assert len(whole) == 30 and whole.test_images is None
    with pytest.raises(GanError, match=r"data.held_out=1.0: expected a fraction in \[0, 1\)"):
        make_image_folder(tmp_path, Cfg(image_size=8, held_out=1.0))

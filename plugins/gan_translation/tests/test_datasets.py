"""Embedded toy data and the on-disk layouts (pix2pix aligned, CycleGAN, CelebA, one folder per domain)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from gan.errors import GanError, GanWarning
from gan.testing import make_recipe, run_recipe
from gan_translation import datasets as d
from gan_translation.cyclegan import CycleGAN
from gan_translation.pix2pix import Pix2Pix
from gan_translation.stargan import StarGAN


@dataclass
class Cfg:
    """Stands in for a recipe config: the factories read its ``data.<key>`` settings."""

    image_size: int = 16
    load_size: int = 20
    channels: int = 0
    direction: str = "AtoB"
    resize_mode: str = "square"
    attrs: tuple = ()
    center_crop: int = 0
    embedded_size: int = 40
    embedded_seed: int = 0

    @property
    def data(self) -> "Cfg":
        return self


@dataclass
class SkipCfg(Cfg):
    skip_bad: bool = True


def _save(path: Path, array: np.ndarray) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).save(path)
    return path


def _rgb(h: int, w: int, colour: tuple[int, int, int]) -> np.ndarray:
    a = np.zeros((h, w, 3), np.uint8)
    a[:] = colour
    return a


# --- embedded ----------------------------------------------------------------------------------------

def test_embedded_data_is_deterministic_from_the_seed():
    a, b = d.make_outline2fill(None, Cfg()), d.make_outline2fill(None, Cfg())
    assert torch.equal(a.train[0], b.train[0]) and torch.equal(a.test[1], b.test[1])
    c = d.make_outline2fill(None, Cfg(embedded_seed=1))
    assert not torch.equal(a.train[0], c.train[0])
    u1, u2 = d.make_day2night(None, Cfg()), d.make_day2night(None, Cfg())
    assert torch.equal(u1.train_b, u2.train_b)
    assert not torch.equal(u1.train_a, u1.train_b)


def test_embedded_splits_have_load_and_image_sizes():
    p = d.make_outline2fill(None, Cfg(embedded_size=40))
    assert p.train[0].shape == (40, 3, 20, 20) and p.test[0].shape == (16, 3, 16, 16)
    u = d.make_day2night(None, Cfg())
    assert u.train_a.shape[-1] == 20 and u.test_b.shape[-1] == 16
    s = d.make_shape_attributes(None, Cfg())
    assert s.train[0].shape == (40, 3, 20, 20) and s.train[1].shape == (40, 7)


def test_outline2fill_fill_covers_the_outline_and_direction_swaps():
    p = d.make_outline2fill(None, Cfg(image_size=32, load_size=32))
    outline, filled = d.as_float(p.train[0]), d.as_float(p.train[1])
    on_outline = outline.max(1).values > 0.5
    assert (filled.max(1).values[on_outline] > 0).float().mean() > 0.8
    assert (filled > -0.9).float().sum() > 1.5 * (outline > -0.9).float().sum()  # interiors filled
    q = d.make_outline2fill(None, Cfg(image_size=32, load_size=32, direction="BtoA"))
    assert torch.equal(q.train[0], p.train[1]) and torch.equal(q.train[1], p.train[0])


def test_shape_attribute_labels_match_the_pixels():
    s = d.make_shape_attributes(None, Cfg(image_size=32, load_size=32, embedded_size=200))
    x, y = d.as_float(s.train[0]), s.train[1]
    assert s.attr_names == ["red", "green", "blue", "circle", "square", "triangle", "large"]
    assert s.groups == [[0, 1, 2], [3, 4, 5]]
    assert torch.equal(y[:, :3].sum(1), torch.ones(200)) and torch.equal(y[:, 3:6].sum(1), torch.ones(200))
    fg = x.max(1).values > 0  # shapes are bright on a dark background
    colour_sum = (x.clamp(min=0) * fg[:, None]).sum(dim=(2, 3))
    assert torch.equal(colour_sum.argmax(1), y[:, :3].argmax(1))
    area = fg.float().sum(dim=(1, 2))
    assert area[y[:, 6] == 1].min() > area[y[:, 6] == 0].max()


def test_attribute_selection_and_errors():
    s = d.make_shape_attributes(None, Cfg(attrs=("blue", "red", "large")))
    assert s.attr_names == ["blue", "red", "large"] and s.groups == [[0, 1]]
    assert s.train[1].shape[1] == 3
    with pytest.raises(GanError, match="unknown attribute.*purple.*choose from"):
        d.make_shape_attributes(None, Cfg(attrs=("purple",)))


# --- pix2pix aligned ---------------------------------------------------------------------------------

def _aligned(root: Path, n: int = 4, h: int = 12, w: int = 30, gray: bool = False) -> Path:
    for split in ("train", "test"):
        for i in range(n):
            a = np.concatenate([_rgb(h, w // 2, (200, 0, 0)), _rgb(h, w // 2, (0, 0, 200 - i))], 1)
            if gray:
                _save(root / split / f"{i}.png", a.mean(2).astype(np.uint8))
            else:
                _save(root / split / f"{i}.jpg" if i % 2 else root / split / f"{i}.png", a)
    return root


def test_aligned_layout_splits_halves_and_resizes(tmp_path):
    root = _aligned(tmp_path / "facades")
    p = d.make_aligned(root, Cfg())
    assert p.channels == (3, 3) and len(p.train) == 4 and len(p.test) == 4
    a, b = p.train[0]
    assert a.shape == (3, 20, 20) and b.shape == (3, 20, 20)
    assert a[0].mean() > 0.3 and a[2].mean() < -0.9  # left half red
    assert b[2].mean() > 0.3 and b[0].mean() < -0.9  # right half blue
    ta, tb = p.test[0]
    assert ta.shape == (3, 16, 16)
    rev = d.make_aligned(root, Cfg(direction="BtoA"))
    ra, rb = rev.train[0]
    assert torch.equal(ra, b) and torch.equal(rb, a)


def test_aligned_grayscale_is_detected(tmp_path):
    p = d.make_aligned(_aligned(tmp_path / "g", gray=True), Cfg())
    assert p.channels == (1, 1) and p.train[0][0].shape == (1, 20, 20)
    forced = d.make_aligned(tmp_path / "g", Cfg(channels=3))
    assert forced.channels == (3, 3)


def test_pix2pix_trains_on_aligned_files(tmp_path):
    root = _aligned(tmp_path / "facades", n=4, h=20, w=44)
    cfg_data = d.make_aligned(root, Cfg(image_size=16, load_size=18))
    r = make_recipe(Pix2Pix, data=cfg_data)
    run_recipe(r, steps=2)
    assert r.evaluate()["protocol"]["pairs"] == 4


@pytest.mark.parametrize("make,layout", [(d.make_aligned, "pix2pix aligned layout"),
                                         (d.make_unaligned, "CycleGAN layout"),
                                         (d.make_celeba, "CelebA layout"),
                                         (d.make_domain_folders, "one folder of images per domain")])
def test_wrong_layout_names_the_path_and_the_layout_expected(tmp_path, make, layout):
    (tmp_path / "stuff").mkdir()
    _save(tmp_path / "stuff" / "x.png", _rgb(4, 4, (1, 2, 3)))
    with pytest.raises(GanError) as err:
        make(tmp_path, Cfg())
    msg = str(err.value)
    assert str(tmp_path) in msg and layout in msg and "\n" not in msg
    with pytest.raises(GanError, match="--data-root"):
        make(None, Cfg())


def test_unreadable_files_are_named(tmp_path):
    root = _aligned(tmp_path / "bad", n=2)
    (root / "train" / "broken.png").write_bytes(b"this is not a png")
    with pytest.raises(GanError, match="broken.png"):  # found when the dataset is opened
        d.make_aligned(root, Cfg())
    with pytest.warns(GanWarning, match=r"skipped 1 unreadable image"):
        p = d.make_aligned(root, SkipCfg())
    assert len(p.train) == 2
    p.train.files[0].write_bytes(b"damaged after opening")  # still named when read mid-run
    with pytest.raises(GanError, match=p.train.files[0].name):
        p.train[0]
    p.train.files[0].unlink()
    (root / "train" / "broken.png").unlink()
    (root / "train" / "empty.png").write_bytes(b"")
    with pytest.raises(GanError, match="empty.png"):
        d.make_aligned(root, Cfg())


def test_resize_modes():
    img = torch.linspace(-1, 1, 40)[None, None, :].expand(1, 20, 40).clone()
    sq = d.resize_image(img, 10, "square")
    assert sq.shape == (1, 10, 10) and sq[0, 0, 0] < -0.8 and sq[0, 0, -1] > 0.8  # whole width kept
    sh = d.resize_image(img, 10, "shorter")
    assert sh.shape == (1, 10, 10) and sh[0, 0, 0] > -0.6 and sh[0, 0, -1] < 0.6  # central square
    cc = d.resize_image(img, 10, "square", center_crop=20)
    assert cc.shape == (1, 10, 10) and -0.6 < cc[0, 0, 0] < -0.4


# --- CycleGAN unaligned -----------------------------------------------------------------------------------

def test_unaligned_layout_with_mixed_sizes_and_channels(tmp_path):
    for i in range(3):
        _save(tmp_path / "trainA" / f"a{i}.png", np.full((10 + i, 14, 1), 50 * i, np.uint8)[:, :, 0])
        _save(tmp_path / "trainB" / f"b{i}.png", _rgb(20, 9 + i, (0, 100, 200)))
    u = d.make_unaligned(tmp_path, Cfg())
    assert u.channels == (1, 3) and not u.held_out
    assert u.train_a[2].shape == (1, 20, 20) and u.train_b[0].shape == (3, 20, 20)
    assert u.test_b[0].shape == (3, 16, 16)
    r = make_recipe(CycleGAN, data=u)
    assert r.identity_weight == 0.0  # identity loss needs equal channel counts
    assert r.models["G_AB"](torch.zeros(1, 1, 16, 16)).shape == (1, 3, 16, 16)
    run_recipe(r, steps=2)
    for split in ("testA", "testB"):
        _save(tmp_path / split / "t.png", _rgb(16, 16, (9, 9, 9)))
    assert d.make_unaligned(tmp_path, Cfg()).held_out


# --- CelebA ----------------------------------------------------------------------------------------------

NAMES = ["Black_Hair", "Blond_Hair", "Brown_Hair", "Eyeglasses", "Male", "Young"]


def _celeba(root: Path, n: int = 12, partition: bool = False) -> Path:
    lines = [str(n), " ".join(NAMES)]
    for i in range(n):
        hair = [1 if i % 3 == k else -1 for k in range(3)]
        vals = hair + [-1, 1 if i % 2 else -1, 1]
        lines.append(f"{i:06d}.jpg " + " ".join(f"{v:2d}" for v in vals))
        _save(root / "images" / f"{i:06d}.jpg", _rgb(22, 18, (20 * i, 100, 50)))
    (root / "list_attr_celeba.txt").write_text("\n".join(lines) + "\n")
    if partition:
        (root / "list_eval_partition.txt").write_text(
            "\n".join(f"{i:06d}.jpg {2 if i >= n - 3 else 0}" for i in range(n)) + "\n")
    return root


def test_celeba_reads_attributes_and_groups_hair_colours(tmp_path):
    a = d.make_celeba(_celeba(tmp_path), Cfg())
    assert a.attr_names == ["Black_Hair", "Blond_Hair", "Brown_Hair", "Male", "Young"]  # paper's five
    assert a.groups == [[0, 1, 2]] and a.mode == "multi"
    img, lab = a.train[0]
    assert img.shape == (3, 20, 20) and set(lab.tolist()) <= {0.0, 1.0}
    assert len(a.train) + len(a.test) == 12
    sel = d.make_celeba(tmp_path, Cfg(attrs=("Male", "Eyeglasses")))
    assert sel.attr_names == ["Male", "Eyeglasses"] and sel.groups == []
    files = [p.name for p in sel.train.images.files]
    i = files.index("000001.jpg")
    assert sel.train[i][1].tolist() == [1.0, 0.0]


def test_celeba_partition_file_sets_the_test_split(tmp_path):
    a = d.make_celeba(_celeba(tmp_path, partition=True), Cfg())
    assert sorted(p.name for p in a.test.images.files) == ["000009.jpg", "000010.jpg", "000011.jpg"]


def test_celeba_errors_name_file_and_line(tmp_path):
    root = _celeba(tmp_path)
    with pytest.raises(GanError, match="unknown attribute.*Purple_Hair.*choose from: Black_Hair"):
        d.make_celeba(root, Cfg(attrs=("Purple_Hair",)))
    text = (root / "list_attr_celeba.txt").read_text().splitlines()
    text[4] = text[4] + " 1"
    (root / "list_attr_celeba.txt").write_text("\n".join(text))
    with pytest.raises(GanError, match=r"list_attr_celeba.txt:5: expected a file name and 6 values"):
        d.make_celeba(root, Cfg())
    _celeba(root)
    (root / "images" / "000003.jpg").unlink()
    with pytest.raises(GanError, match="missing from .*images.*000003.jpg"):
        d.make_celeba(root, Cfg())


# --- one folder per domain ---------------------------------------------------------------------------------

def test_domain_folders_give_one_hot_labels_and_train_stargan(tmp_path):
    colours = {"angry": (200, 0, 0), "happy": (0, 200, 0), "sad": (0, 0, 200)}
    for name, col in colours.items():
        for i in range(5):
            _save(tmp_path / name / f"{i}.png", _rgb(18 + i, 16, col))
    a = d.make_domain_folders(tmp_path, Cfg())
    assert a.attr_names == ["angry", "happy", "sad"] and a.mode == "single" and a.groups == [[0, 1, 2]]
    assert len(a.test) == 3 and len(a.train) == 12
    img, lab = a.train[0]
    assert lab.sum() == 1 and img.shape == (3, 20, 20)
    assert int(lab.argmax()) == ["angry", "happy", "sad"].index(a.train.images.files[0].parent.name)
    r = make_recipe(StarGAN, data=a)
    assert r.labels.mode == "single" and [dom.name for dom in r.labels.domains] == ["angry", "happy", "sad"]
    run_recipe(r, steps=2)
    sub = d.make_domain_folders(tmp_path, Cfg(attrs=("sad", "angry")))
    assert sub.attr_names == ["sad", "angry"] and len(sub.train) + len(sub.test) == 10
    with pytest.raises(GanError, match="found 1 domain folder"):
        d.make_domain_folders(tmp_path, Cfg(attrs=("sad",)))


def test_domain_folders_with_train_and_test_splits(tmp_path):
    for split, n in (("train", 4), ("test", 2)):
        for name in ("x", "y"):
            for i in range(n):
                _save(tmp_path / split / name / f"{i}.png", _rgb(8, 8, (5, 5, 5)))
    a = d.make_domain_folders(tmp_path, Cfg())
    assert a.attr_names == ["x", "y"] and len(a.train) == 8 and len(a.test) == 4


def test_plugin_registers_the_datasets_with_their_kinds(gan_pm):
    from gan.testing import fresh_manager
    pm = fresh_manager(("translation", "gan_translation.plugin"))
    kinds = {e.name: e.meta["kind"] for e in pm.registry("dataset").entries()}
    assert kinds == {"outline2fill": "paired", "aligned": "paired", "day2night": "unpaired",
                     "unaligned": "unpaired", "shape-attributes": "attributes", "celeba": "attributes",
                     "domain-folders": "attributes"}
    assert pm.registry("model").names() == ["cyclegan", "pix2pix", "stargan"]


def test_channel_detection_by_file_mode(tmp_path):
    rgb = _save(tmp_path / "rgb.png", _rgb(4, 4, (10, 200, 30)))
    gray = _save(tmp_path / "gray.png", np.full((4, 4), 90, np.uint8))
    Image.fromarray(_rgb(4, 4, (10, 200, 30))).convert("P").save(tmp_path / "pal.png")
    Image.fromarray(np.full((4, 4), 90, np.uint8)).convert("P").save(tmp_path / "palgray.png")
    assert d.detect_channels(rgb) == 3 and d.detect_channels(gray) == 1
    assert d.detect_channels(tmp_path / "pal.png") == 3 and d.detect_channels(tmp_path / "palgray.png") == 1


def test_unreadable_file_is_named_when_loaded_by_worker_processes(tmp_path):
    from gan.config import RunConfig
    root = _aligned(tmp_path / "w", n=3, h=20, w=40)
    data = d.make_aligned(root, Cfg(image_size=16, load_size=18))
    for i, name in ((1, "x1.png"), (2, "x2.png")):  # damaged after the dataset was opened (and verified)
        data.train.files[i].unlink()
        (root / "train" / name).write_bytes(b"garbage")
        data.train.files[i] = root / "train" / name
    run = RunConfig(seed=0, device="cpu", num_workers=2, progress=False, tensorboard=False)
    r = make_recipe(Pix2Pix, data=data, run=run)
    stage = r.stages()[0]
    with pytest.raises(GanError, match=r"x[12]\.png: cannot decode image"):
        r.next_batch(stage, r.phases(stage)[0])

"""Embedded scenes and image folders: splits, sizes, determinism and one-line errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from gan.errors import GanError
from gan.testing import make_recipe
from gan_superres.datasets import make_sr_folder, make_sr_textures, procedural_scenes
from gan_superres.srresnet import SRResNet


def _cfg(**kw):
    return make_recipe(SRResNet, **kw).config


def test_scenes_are_deterministic_and_varied():
    a, b = procedural_scenes(4, 32, seed=3), procedural_scenes(4, 32, seed=3)
    assert a.dtype == torch.uint8 and a.shape == (4, 3, 32, 32)
    assert torch.equal(a, b) and not torch.equal(a, procedural_scenes(4, 32, seed=4))
    assert a.float().std() > 20  # not flat


def test_embedded_split():
    data = make_sr_textures(None, _cfg())
    assert data.train.shape == (9, 3, 24, 24) and len(data.test) == 1
    assert data.test[0].shape == (3, 24, 24) and data.test[0].min() >= -1


def _write(path: Path, h: int, w: int, seed: int = 0, gray: bool = False) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    Image.fromarray(rng.integers(0, 255, (h, w) if gray else (h, w, 3), dtype=np.uint8)).save(path)


def test_flat_folder_holds_out_every_tenth_and_skips_small_images(tmp_path):
    for i in range(11):
        _write(tmp_path / f"img{i:02d}.png", 30 + i, 41, seed=i, gray=i == 3)
    _write(tmp_path / "tiny.png", 10, 10)
    data = make_sr_folder(tmp_path, _cfg())
    assert len(data.test) == 1 and data.test[0].shape == (3, 36, 40)  # img09 (39×41), mod-cropped
    assert all(t.shape[-2] % 4 == 0 and t.shape[-1] % 4 == 0 for t in data.test)
    item = data.train[0]
    assert item.shape == (3, 20, 20)  # image_size 16 + a quarter for random crops
    assert "10 train images" in data.source and "1 too small skipped" in data.source


def test_train_test_layout(tmp_path):
    _write(tmp_path / "train" / "a.png", 64, 80)
    _write(tmp_path / "val" / "b.jpg", 30, 27)
    data = make_sr_folder(tmp_path, _cfg())
    assert len(data.test) == 1 and data.test[0].shape == (3, 28, 24)
    assert len(data.train) > 1


@pytest.mark.parametrize("layout,message", [
    ({}, "folder not found"),
    ({"train/a.png": (64, 64)}, "no test/ or val/"),
    ({"a.png": (12, 12), "b.png": (12, 12)}, "at least 20 px"),
    ({"train/a.png": (64, 64), "test/b.png": (12, 12)}, "expected at least"),
])
def test_bad_folders_are_one_line_errors(tmp_path, layout, message):
    root = tmp_path / "root"
    for rel, (h, w) in layout.items():
        _write(root / rel, h, w)
    with pytest.raises(GanError, match=message):
        make_sr_folder(root, _cfg())
    with pytest.raises(GanError, match="needs --data-root"):
        make_sr_folder(None, _cfg())
    with pytest.raises(GanError, match="reads no files"):
        make_sr_textures(root, _cfg())

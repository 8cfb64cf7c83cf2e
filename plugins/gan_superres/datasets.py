"""Training and held-out high-resolution (HR) images for ×4 super-resolution.

A super-resolution dataset is just HR images: the low-resolution (LR) inputs are made from them by
bicubic down-sampling, as in SRGAN (Ledig et al. 2017, §3: "we obtained the LR images by
down-sampling the HR images using bicubic kernel with down-sampling factor r = 4"), so any folder of
photos is a dataset. Two are registered:

* ``sr-textures`` (embedded, no files): procedurally drawn RGB scenes — smooth two-colour gradients
  under anti-aliased discs, rotated rectangles, triangles, stripe patches and thin lines — whose
  sharp edges are exactly what bicubic interpolation blurs, so a trained model has something
  measurable to beat. Deterministic from ``data.embedded_seed``.
* ``sr-folder`` — ``--data-root ROOT``: ``ROOT/train/`` + ``ROOT/test/`` (or ``ROOT/val/``), or one
  folder of images of which every 10th file (sorted by path) is held out. Any sizes, RGB or
  grayscale; training images smaller than a crop region are skipped (counted in ``source``).

Training items are uint8/float HR patches a little larger than the crop (the recipe takes a random
``data.image_size`` crop of each through the seeded global RNG, so a resumed run sees the same crops);
file-backed items are regions on a grid over every image, so DataLoader workers need no randomness.
Held-out images are kept whole (cropped to a multiple of the scale, the literature's "mod crop").
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch.utils.data import Dataset

from gan.errors import GanError


@dataclass
class SRData:
    """HR images for super-resolution: a training set of patches and whole held-out images."""

    train: Any  # uint8 tensor (N, C, S, S) or a Dataset of (C, S, S) float patches in [-1, 1]
    test: list[torch.Tensor]  # whole held-out HR images (C, H, W), float in [-1, 1], mod-cropped
    channels: int
    source: str
    kind: str = "superres"


def as_float(x: torch.Tensor) -> torch.Tensor:
    """uint8 ``[0, 255]`` → float ``[-1, 1]``; float tensors pass through."""
    return x.float() / 127.5 - 1.0 if x.dtype == torch.uint8 else x.float()


def mod_crop(image: torch.Tensor, scale: int) -> torch.Tensor:
    """Crop the bottom/right so both sides are multiples of ``scale`` (so LR × scale == HR exactly)."""
    h, w = image.shape[-2:]
    return image[..., :h - h % scale, :w - w % scale]


# ---------------------------------------------------------------------------------------------------
# embedded procedural scenes


def _scene(side: int, g: torch.Generator) -> torch.Tensor:
    """One ``(3, side, side)`` float image in [0, 1]: gradient background + anti-aliased shapes."""
    def r(*shape: int) -> torch.Tensor:
        return torch.rand(*shape, generator=g)

    yy, xx = torch.meshgrid(torch.arange(side) + 0.5, torch.arange(side) + 0.5, indexing="ij")
    angle = r(1) * 2 * math.pi
    ramp = ((xx * torch.cos(angle) + yy * torch.sin(angle)) / (side * 1.5) + 0.5).clamp(0, 1)
    c0, c1 = r(3, 1, 1), r(3, 1, 1)
    img = c0 * (1 - ramp) + c1 * ramp
    for _ in range(int(torch.randint(8, 20, (1,), generator=g))):
        cx, cy = r(1) * side, r(1) * side
        size = (0.04 + 0.2 * r(1)) * side
        colour = r(3, 1, 1)
        kind = int(torch.randint(0, 5, (1,), generator=g))
        th = r(1) * math.pi
        u = (xx - cx) * torch.cos(th) + (yy - cy) * torch.sin(th)
        v = -(xx - cx) * torch.sin(th) + (yy - cy) * torch.cos(th)
        if kind == 0:  # disc
            sdf = torch.sqrt((xx - cx) ** 2 + (yy - cy) ** 2) - size
        elif kind == 1:  # rotated rectangle
            sdf = torch.maximum(u.abs() - size, v.abs() - size * (0.3 + 0.7 * r(1)))
        elif kind == 2:  # triangle: intersection of three half-planes
            sdf = torch.full_like(xx, -1e9)
            for k in range(3):
                a = th + k * 2 * math.pi / 3
                sdf = torch.maximum(sdf, (xx - cx) * torch.cos(a) + (yy - cy) * torch.sin(a) - size * 0.5)
        elif kind == 3:  # stripe patch inside a square
            period = 12 + 12 * r(1)  # above the LR Nyquist period (2 LR = 8 HR pixels): recoverable
            inside = torch.maximum(u.abs(), v.abs()) - size
            stripes = torch.sin(2 * math.pi * u / period)
            sdf = torch.maximum(inside, -stripes * period / (2 * math.pi))
        else:  # thin line
            sdf = torch.maximum(v.abs() - (0.6 + 1.5 * r(1)), u.abs() - size * 1.5)
        cover = (0.5 - sdf).clamp(0, 1)  # one-pixel anti-aliased edge
        img = img * (1 - cover) + colour * cover
    return img.clamp(0, 1)


def procedural_scenes(count: int, side: int, seed: int) -> torch.Tensor:
    """``count`` scenes as a uint8 ``(count, 3, side, side)`` tensor, deterministic from ``seed``."""
    g = torch.Generator().manual_seed(int(seed))
    out = torch.empty(count, 3, side, side, dtype=torch.uint8)
    for i in range(count):
        out[i] = (_scene(side, g) * 255).round().to(torch.uint8)
    return out


def make_sr_textures(root: Path | None, cfg: Any) -> SRData:
    """Embedded ×4 super-resolution scenes: gradients, shapes, stripes and lines; needs no files."""
    if root is not None:
        raise GanError(f"--data-root {root}: dataset 'sr-textures' is generated in code and reads no files")
    need = cfg.data.image_size + cfg.data.image_size // 4
    if cfg.data.embedded_side < need:
        raise GanError(f"--set data.embedded_side={cfg.data.embedded_side}: expected at least data.image_size + data.image_size/4 = {need}")
    images = procedural_scenes(cfg.data.embedded_size, cfg.data.embedded_side, cfg.data.embedded_seed)
    held = max(1, cfg.data.embedded_size // 8)
    if cfg.data.embedded_size - held < 1:
        raise GanError(f"--set data.embedded_size={cfg.data.embedded_size}: expected at least 2 (1 held out)")
    test = [mod_crop(as_float(im), cfg.scale) for im in images[:held]]
    train = images[held:]
    if cfg.data.channels == 1:
        train = images[held:].float().mean(1, keepdim=True).round().to(torch.uint8)
        test = [t.mean(0, keepdim=True) for t in test]
    return SRData(train, test, cfg.data.channels,
                  f"sr-textures (embedded, {len(train)} train / {held} held-out, {cfg.data.embedded_side} px, "
                  f"seed {cfg.data.embedded_seed})")


# ---------------------------------------------------------------------------------------------------
# image folders


class HRRegions(Dataset):
    """Square regions of side ``region`` on a grid (stride ``region // 2``) over every image."""

    def __init__(self, files: list[Path], sizes: list[tuple[int, int]], region: int, channels: int) -> None:
        self.files, self.region, self.channels = files, region, channels
        self.items: list[tuple[int, int, int]] = []
        stride = max(1, region // 2)
        for i, (w, h) in enumerate(sizes):
            tops = sorted(set(range(0, h - region + 1, stride)) | {h - region})
            lefts = sorted(set(range(0, w - region + 1, stride)) | {w - region})
            self.items += [(i, t, left) for t in tops for left in lefts]

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int) -> torch.Tensor:
        from gan.images import read_image
        i, t, left = self.items[index]
        image = read_image(self.files[i], self.channels)
        return image[:, t:t + self.region, left:left + self.region]


def _split_files(root: Path) -> tuple[list[Path], list[Path]]:
    from gan.images import list_images
    if not root.is_dir():
        raise GanError(f"--data-root {root}: folder not found (expected a folder of HR images, or "
                       f"train/ and test/ folders of them)")
    if (root / "train").is_dir():
        held = next((root / d for d in ("test", "val") if (root / d).is_dir()), None)
        if held is None:
            raise GanError(f"--data-root {root}: has train/ but no test/ or val/ folder of held-out images")
        return list_images(root / "train", what="HR training images"), list_images(held, what="held-out HR images")
    files = list_images(root, what="HR images")
    if len(files) < 2:
        raise GanError(f"--data-root {root}: found {len(files)} image; need at least 2 (every 10th is held out)")
    test = files[9::10] or files[-1:]
    return [f for f in files if f not in set(test)], test


def make_sr_folder(root: Path | None, cfg: Any) -> SRData:
    """HR photos under ``--data-root`` (``train/`` + ``test/``, or one folder, every 10th held out)."""
    from PIL import Image

    from gan.images import read_image
    if root is None:
        raise GanError("dataset 'sr-folder' needs --data-root (a folder of HR images)")
    train_files, test_files = _split_files(root)
    region = cfg.data.image_size + cfg.data.image_size // 4
    kept, sizes, small = [], [], 0
    for f in train_files:
        try:
            with Image.open(f) as img:
                size = img.size
        except (OSError, ValueError, SyntaxError) as e:
            raise GanError(f"{f}: cannot decode image ({type(e).__name__}: {e})") from None
        if min(size) < region:
            small += 1
            continue
        kept.append(f)
        sizes.append(size)
    if not kept:
        raise GanError(f"--data-root {root}: no training image is at least {region} px on its shorter side "
                       f"(image_size {cfg.data.image_size} + a margin for random crops)")
    min_side = 2 * cfg.scale + 11 + 1  # the border shave plus one SSIM window must fit
    test = []
    for f in test_files:
        image = mod_crop(read_image(f, cfg.data.channels), cfg.scale)
        if min(image.shape[-2:]) < min_side:
            raise GanError(f"{f}: held-out image is {tuple(image.shape[-2:])}; expected at least {min_side} px")
        test.append(image)
    train = HRRegions(kept, sizes, region, cfg.data.channels)
    return SRData(train, test, cfg.data.channels,
                  f"sr-folder {root} ({len(kept)} train images, {len(train)} regions of {region} px, "
                  f"{small} too small skipped; {len(test)} held-out)")


__all__ = ["SRData", "as_float", "mod_crop", "procedural_scenes", "make_sr_textures", "make_sr_folder",
           "HRRegions"]

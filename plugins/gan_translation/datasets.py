"""Datasets for image-to-image translation: embedded toy tasks and the layouts users already have.

Embedded (generated in code, deterministic from ``data.embedded_seed``, so every model runs on a fresh
machine; shapes are rendered from signed distance functions, hence at any resolution):

* ``outline2fill`` (paired) — a coloured shape outline → the same shape filled with that colour.
* ``day2night`` (unpaired) — warm shapes on a light background ↔ cool shapes on a dark one.
* ``shape-attributes`` (attributes) — colour {red, green, blue} × shape {circle, square, triangle}
  × size {small, large}, as seven binary attributes with two mutually exclusive groups.

On disk (never downloaded; a wrong layout is one :class:`gan.GanError` naming the path and the
layout expected):

* ``aligned`` — pix2pix: ``ROOT/train/`` (+ ``ROOT/test/`` or ``ROOT/val/``) of side-by-side ``A|B``
  images; ``--set data.direction=BtoA`` swaps input and target.
* ``unaligned`` — CycleGAN: ``ROOT/trainA/ trainB/`` (+ ``testA/ testB/``).
* ``celeba`` — ``ROOT/list_attr_celeba.txt`` + ``ROOT/images/`` (or ``img_align_celeba/``), optional
  ``list_eval_partition.txt``; ``--set data.attrs=Black_Hair,Blond_Hair,Male``.
* ``domain-folders`` — one folder per domain (RaFD style): ``ROOT/<domain>/`` or
  ``ROOT/train/<domain>/`` + ``ROOT/test/<domain>/``.

Every dataset object holds a training split whose images have side ``load_size`` (random crops to
``image_size`` and flips are applied per batch by the recipe, through the seeded global RNG, so a
resumed run sees identical augmentations) and a held-out split at ``image_size``. Images are float
tensors in ``[-1, 1]`` (embedded ones are stored as uint8 and converted by :func:`as_float`).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch.utils.data import Dataset

from gan.errors import GanError
from gan.images import ImageScan

# ---------------------------------------------------------------------------------------------------
# dataset objects


@dataclass
class PairedData:
    """Aligned pairs ``(input, target)`` for pix2pix (direction already applied)."""

    train: Any  # (inputs, targets) tensors or a Dataset of (input, target)
    test: Any
    channels: tuple[int, int]  # (input, target)
    source: str
    kind: str = "paired"


@dataclass
class UnpairedData:
    """Two unaligned image collections (CycleGAN)."""

    train_a: Any  # tensor (N, C, H, W) or a Dataset of images
    train_b: Any
    test_a: Any
    test_b: Any
    channels: tuple[int, int]
    source: str
    domains: tuple[str, str] = ("A", "B")
    held_out: bool = True  # False: the "test" splits are the training images (no test folders)
    kind: str = "unpaired"


@dataclass
class AttributeData:
    """Images with binary attribute vectors (StarGAN).

    ``groups`` lists mutually exclusive attribute indices (hair colours, a domain set); ``mode`` is
    ``"multi"`` (independent binary attributes, BCE) or ``"single"`` (exactly one domain, softmax).
    """

    train: Any  # (images, labels) tensors or a Dataset of (image, label float vector)
    test: Any
    attr_names: list[str]
    channels: int
    source: str
    groups: list[list[int]] = field(default_factory=list)
    mode: str = "multi"
    kind: str = "attributes"


# ---------------------------------------------------------------------------------------------------
# helpers shared by the recipes


def as_float(x: torch.Tensor) -> torch.Tensor:
    """uint8 ``[0, 255]`` → float ``[-1, 1]``; float tensors pass through."""
    if x.dtype == torch.uint8:
        return x.float() / 127.5 - 1.0
    return x.float() if not x.is_floating_point() else x


def _to_uint8(x: torch.Tensor) -> torch.Tensor:
    return ((x.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)


def num_items(ds: Any) -> int:
    if isinstance(ds, torch.Tensor):
        return ds.shape[0]
    if isinstance(ds, (tuple, list)) and ds and isinstance(ds[0], torch.Tensor):
        return ds[0].shape[0]
    return len(ds)


def get_items(ds: Any, idx: Sequence[int]) -> Any:
    """Items ``idx`` of a tensor / tuple of tensors / map-style dataset as one batch."""
    idx = list(idx)
    if isinstance(ds, torch.Tensor):
        return ds[idx]
    if isinstance(ds, (tuple, list)) and ds and isinstance(ds[0], torch.Tensor):
        t = torch.as_tensor(idx, dtype=torch.long)
        return tuple(x[t] for x in ds)
    return torch.utils.data.default_collate([ds[i] for i in idx])


def iter_batches(ds: Any, batch_size: int, limit: int | None = None) -> Iterator[Any]:
    n = num_items(ds) if limit is None else min(limit, num_items(ds))
    for start in range(0, n, batch_size):
        yield get_items(ds, range(start, min(n, start + batch_size)))


def _opt(config: Any, name: str, default: Any) -> Any:
    """Setting ``data.<name>`` of a recipe config (``None`` or absent: ``default``)."""
    data = getattr(config, "data", None) if config is not None else None
    value = getattr(data, name, default) if data is not None else default
    return default if value is None else value


def sizes(config: Any) -> tuple[int, int]:
    """``(load_size, image_size)`` from a recipe config (``load_size`` 0 = no crop jitter)."""
    image = int(_opt(config, "image_size", 32))
    load = int(_opt(config, "load_size", 0)) or image
    if image < 4:
        raise GanError(f"--set data.image_size={image}: expected at least 4 pixels")
    if load < image:
        raise GanError(f"--set data.load_size={load}: expected >= data.image_size ({image}); images are "
                       f"resized to load_size and randomly cropped to image_size")
    return load, image


# ---------------------------------------------------------------------------------------------------
# embedded toy data

SHAPES = ("circle", "square", "triangle")


def _hsv_to_rgb(h: torch.Tensor, s: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """Vectorised HSV → RGB in [0, 1]; inputs (N,), output (N, 3)."""
    k = torch.stack([(5 + h * 6) % 6, (3 + h * 6) % 6, (1 + h * 6) % 6], 1)
    return v[:, None] - v[:, None] * s[:, None] * (torch.minimum(k, 4 - k).clamp(0, 1))


def _sdf(kind: torch.Tensor, cx: torch.Tensor, cy: torch.Tensor, r: torch.Tensor,
         size: int) -> torch.Tensor:
    """Signed distance (pixels) of each pixel to each shape: (N, size, size), negative inside."""
    coords = torch.arange(size, dtype=torch.float32) + 0.5
    dy = coords[None, :, None] - cy[:, None, None]
    dx = coords[None, None, :] - cx[:, None, None]
    r = r[:, None, None]
    circle = torch.sqrt(dx ** 2 + dy ** 2) - r
    square = torch.maximum(dx.abs(), dy.abs()) - 0.8 * r  # similar area to the circle
    c, s = math.sqrt(3) / 2, 0.5
    # upward equilateral triangle with circumradius 1.25 r: three half-planes at inradius 0.625 r
    tri = torch.maximum(torch.maximum(dy, c * dx - s * dy), -c * dx - s * dy) - 0.625 * r
    kind = kind[:, None, None]
    return torch.where(kind == 0, circle, torch.where(kind == 1, square, tri))


def _coverage(sdf: torch.Tensor) -> torch.Tensor:
    """Anti-aliased fill coverage in [0, 1]."""
    return (0.5 - sdf).clamp(0, 1)


def _outline(sdf: torch.Tensor, width: float) -> torch.Tensor:
    """Anti-aliased band of ``width`` pixels just inside the boundary (so the fill covers it)."""
    return (0.5 - sdf).clamp(0, 1) * (0.5 + width + sdf).clamp(0, 1)


def _compose(background: torch.Tensor, colour: torch.Tensor, alpha: torch.Tensor) -> torch.Tensor:
    """background (N,3), colour (N,3) in [0,1], alpha (N,H,W) → images (N,3,H,W) in [-1,1]."""
    a = alpha[:, None]
    img = background[:, :, None, None] * (1 - a) + colour[:, :, None, None] * a
    return img * 2 - 1


def _shape_params(n: int, size: int, g: torch.Generator, radius: tuple[float, float],
                  kinds: torch.Tensor | None = None) -> tuple[torch.Tensor, ...]:
    if kinds is None:
        kinds = torch.randint(0, len(SHAPES), (n,), generator=g)
    r = (radius[0] + (radius[1] - radius[0]) * torch.rand(n, generator=g)) * size
    margin = 1.35 * r + 1
    cx = margin + (size - 2 * margin).clamp(min=0) * torch.rand(n, generator=g)
    cy = margin + (size - 2 * margin).clamp(min=0) * torch.rand(n, generator=g)
    return kinds, cx, cy, r


def _render_chunks(n: int, fn: Any, chunk: int = 256) -> torch.Tensor:
    return torch.cat([fn(start, min(n, start + chunk)) for start in range(0, n, chunk)])


def render_outline2fill(n: int, size: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``n`` pairs (outline, filled) as uint8 (n, 3, size, size)."""
    g = torch.Generator().manual_seed(seed)
    kinds, cx, cy, r = _shape_params(n, size, g, (0.22, 0.36))
    hue = torch.rand(n, generator=g)
    colour = _hsv_to_rgb(hue, torch.full((n,), 0.85), torch.ones(n))
    black = torch.zeros(n, 3)
    width = max(1.0, size / 16)

    def outline(a: int, b: int) -> torch.Tensor:
        sdf = _sdf(kinds[a:b], cx[a:b], cy[a:b], r[a:b], size)
        return _to_uint8(_compose(black[a:b], colour[a:b], _outline(sdf, width)))

    def filled(a: int, b: int) -> torch.Tensor:
        sdf = _sdf(kinds[a:b], cx[a:b], cy[a:b], r[a:b], size)
        return _to_uint8(_compose(black[a:b], colour[a:b], _coverage(sdf)))

    return _render_chunks(n, outline), _render_chunks(n, filled)


def render_day_night(n: int, size: int, seed: int, night: bool) -> torch.Tensor:
    """``n`` images of one domain of ``day2night`` as uint8 (n, 3, size, size)."""
    g = torch.Generator().manual_seed(seed)
    kinds, cx, cy, r = _shape_params(n, size, g, (0.18, 0.36))
    if night:  # cool hues (cyan → violet) on a dark blue background
        hue = 0.5 + 0.2 * torch.rand(n, generator=g)
        colour = _hsv_to_rgb(hue, torch.full((n,), 0.8), torch.full((n,), 0.8))
        bg = torch.tensor([0.05, 0.05, 0.2]) + 0.05 * torch.rand(n, 3, generator=g)
    else:  # warm hues (red → yellow) on a light background
        hue = 0.15 * torch.rand(n, generator=g)
        colour = _hsv_to_rgb(hue, torch.full((n,), 0.9), torch.ones(n))
        bg = torch.tensor([0.8, 0.85, 0.9]) + 0.05 * torch.rand(n, 3, generator=g)

    def draw(a: int, b: int) -> torch.Tensor:
        sdf = _sdf(kinds[a:b], cx[a:b], cy[a:b], r[a:b], size)
        return _to_uint8(_compose(bg[a:b], colour[a:b], _coverage(sdf)))

    return _render_chunks(n, draw)


ATTRIBUTE_NAMES = ["red", "green", "blue", "circle", "square", "triangle", "large"]
ATTRIBUTE_GROUPS = [[0, 1, 2], [3, 4, 5]]


def render_attributes(n: int, size: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``n`` images of ``shape-attributes`` (uint8) and their 7-dim binary labels (float)."""
    g = torch.Generator().manual_seed(seed)
    colour_idx = torch.randint(0, 3, (n,), generator=g)
    kinds = torch.randint(0, 3, (n,), generator=g)
    large = torch.randint(0, 2, (n,), generator=g)
    _, cx, cy, _ = _shape_params(n, size, g, (0.34, 0.34), kinds)
    r = torch.where(large.bool(), 0.34, 0.2) * size * (0.95 + 0.1 * torch.rand(n, generator=g))
    colour = torch.eye(3)[colour_idx] * 0.9 + 0.05
    bg = torch.full((n, 3), 0.1)

    def draw(a: int, b: int) -> torch.Tensor:
        sdf = _sdf(kinds[a:b], cx[a:b], cy[a:b], r[a:b], size)
        return _to_uint8(_compose(bg[a:b], colour[a:b], _coverage(sdf)))

    labels = torch.cat([torch.eye(3)[colour_idx], torch.eye(3)[kinds], large[:, None].float()], 1)
    return _render_chunks(n, draw), labels


def _toy_counts(config: Any) -> tuple[int, int]:
    n = int(_opt(config, "embedded_size", 2000))
    if n < 2:
        raise GanError(f"--set data.embedded_size={n}: expected at least 2 images")
    return n, max(16, n // 8)


def make_outline2fill(root: Path | None, config: Any) -> PairedData:
    """Embedded paired task: coloured shape outline → filled shape (deterministic from data.embedded_seed)."""
    load, image = sizes(config)
    n_train, n_test = _toy_counts(config)
    seed = int(_opt(config, "embedded_seed", 0))
    train = render_outline2fill(n_train, load, seed)
    test = render_outline2fill(n_test, image, seed + 1_000_003)
    if _opt(config, "direction", "AtoB") == "BtoA":
        train, test = train[::-1], test[::-1]
    return PairedData(tuple(train), tuple(test), (3, 3), f"embedded outline2fill (seed {seed})")


def make_day2night(root: Path | None, config: Any) -> UnpairedData:
    """Embedded unpaired task: warm shapes on light backgrounds (A) ↔ cool shapes on dark (B)."""
    load, image = sizes(config)
    n_train, n_test = _toy_counts(config)
    seed = int(_opt(config, "embedded_seed", 0))
    return UnpairedData(
        render_day_night(n_train, load, seed, night=False),
        render_day_night(n_train, load, seed + 1, night=True),  # different shapes: unpaired
        render_day_night(n_test, image, seed + 1_000_003, night=False),
        render_day_night(n_test, image, seed + 1_000_004, night=True),
        (3, 3), f"embedded day2night (seed {seed})", domains=("day", "night"))


def make_shape_attributes(root: Path | None, config: Any) -> AttributeData:
    """Embedded multi-attribute set: colour × shape × size of one shape per image."""
    load, image = sizes(config)
    n_train, n_test = _toy_counts(config)
    seed = int(_opt(config, "embedded_seed", 0))
    names, groups = list(ATTRIBUTE_NAMES), [list(g) for g in ATTRIBUTE_GROUPS]
    train = render_attributes(n_train, load, seed)
    test = render_attributes(n_test, image, seed + 1_000_003)
    wanted = tuple(_opt(config, "attrs", ()) or ())
    if wanted:
        idx = _select(wanted, names, "shape-attributes")
        names = [names[i] for i in idx]
        groups = _regroup(groups, idx)
        train = (train[0], train[1][:, idx])
        test = (test[0], test[1][:, idx])
    return AttributeData(train, test, names, 3, f"embedded shape-attributes (seed {seed})", groups)


def _select(wanted: Sequence[str], names: Sequence[str], what: str) -> list[int]:
    unknown = [a for a in wanted if a not in names]
    if unknown:
        raise GanError(f"--set data.attrs: unknown attribute(s) {', '.join(unknown)} for {what}; "
                       f"choose from: {', '.join(names)}")
    if len(set(wanted)) != len(wanted):
        raise GanError(f"--set data.attrs={','.join(wanted)}: an attribute is listed twice")
    return [list(names).index(a) for a in wanted]


def _regroup(groups: list[list[int]], idx: list[int]) -> list[list[int]]:
    """Groups re-indexed to the selected attributes; groups left with one member are dropped."""
    pos = {old: new for new, old in enumerate(idx)}
    out = [sorted(pos[i] for i in g if i in pos) for g in groups]
    return [g for g in out if len(g) > 1]


# ---------------------------------------------------------------------------------------------------
# image files

def detect_channels(path: Path) -> int:
    """1 for a grayscale file (including palettes of grays), 3 otherwise; the file is decoded
    completely, so a corrupt one is a GanError naming it."""
    from gan.images import verify_image
    return verify_image(path)


def _verified(files: Sequence[Path], config: Any, what: str) -> ImageScan:
    """Every file of a split decoded once when the dataset is opened (``skip_bad=true`` skips and
    counts unreadable ones instead of stopping at the first, named)."""
    from gan.images import verify_images
    return verify_images(files, skip_bad=bool(_opt(config, "skip_bad", False)), what=what)


def _channels(config: Any, scans: Sequence[ImageScan], what: str) -> int:
    """``channels`` (RGB by default, as the reference implementations read every image), or with
    ``channels=0`` the majority of the files, the others named in a warning — never the first file."""
    from gan.images import majority_channels
    c = int(_opt(config, "channels", 3))
    if c not in (0, 1, 3):
        raise GanError(f"--set data.channels={c}: expected 3 (RGB), 1 (grayscale) or 0 (the majority of the files)")
    if c:
        return c
    merged = ImageScan([f for s in scans for f in s.files], [ch for s in scans for ch in s.channels])
    return majority_channels(merged, what)


def resize_image(img: torch.Tensor, size: int, mode: str = "square", center_crop: int = 0) -> torch.Tensor:
    """``(C, H, W)`` → ``(C, size, size)``.

    ``mode="square"`` stretches to a square (pix2pix/CycleGAN default); ``"shorter"`` scales the
    shorter side to ``size`` and takes the central square. ``center_crop`` first takes the central
    ``center_crop``² region (StarGAN's CelebA preprocessing).
    """
    if center_crop:
        h, w = img.shape[-2:]
        ch, cw = min(center_crop, h), min(center_crop, w)
        top, left = (h - ch) // 2, (w - cw) // 2
        img = img[:, top:top + ch, left:left + cw]
    h, w = img.shape[-2:]
    if mode == "shorter":
        scale = size / min(h, w)
        nh, nw = max(size, round(h * scale)), max(size, round(w * scale))
    elif mode == "square":
        nh, nw = size, size
    else:
        raise GanError(f"--set data.resize_mode={mode!r}: expected 'square' or 'shorter'")
    if (nh, nw) != (h, w):
        img = F.interpolate(img[None], size=(nh, nw), mode="bilinear", align_corners=False,
                            antialias=nh < h or nw < w)[0]
    if mode == "shorter":
        top, left = (nh - size) // 2, (nw - size) // 2
        img = img[:, top:top + size, left:left + size]
    return img.clamp(-1, 1)


def _read(path: Path, channels: int) -> torch.Tensor:
    from gan.images import read_image
    return read_image(path, channels)


class ImageFiles(Dataset):
    """Single images from files, resized to a square of side ``size``."""

    def __init__(self, files: Sequence[Path], size: int, channels: int, mode: str = "square",
                 center_crop: int = 0) -> None:
        self.files, self.size, self.channels = list(files), size, channels
        self.mode, self.center_crop = mode, center_crop

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, i: int) -> torch.Tensor:
        return resize_image(_read(self.files[i], self.channels), self.size, self.mode, self.center_crop)


class AlignedPairs(Dataset):
    """pix2pix side-by-side files: the left half is A, the right half B."""

    def __init__(self, files: Sequence[Path], size: int, channels: int, mode: str = "square",
                 reverse: bool = False) -> None:
        self.files, self.size, self.channels, self.mode, self.reverse = list(files), size, channels, mode, reverse

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        img = _read(self.files[i], self.channels)
        w = img.shape[-1]
        if w < 2:
            raise GanError(f"{self.files[i]}: {w} pixel(s) wide; expected side-by-side A|B halves")
        a = resize_image(img[:, :, : w // 2], self.size, self.mode)
        b = resize_image(img[:, :, w // 2: 2 * (w // 2)], self.size, self.mode)
        return (b, a) if self.reverse else (a, b)


class LabelledFiles(Dataset):
    """Image files with attribute vectors."""

    def __init__(self, files: Sequence[Path], labels: torch.Tensor, size: int, channels: int,
                 mode: str = "square", center_crop: int = 0) -> None:
        self.images = ImageFiles(files, size, channels, mode, center_crop)
        self.labels = labels.float()

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        return self.images[i], self.labels[i]


def _list(directory: Path, layout: str) -> list[Path]:
    from gan.images import IMAGE_EXTENSIONS
    if not directory.is_dir():
        raise GanError(f"{directory}: folder not found; expected {layout}")
    files = sorted(p for p in directory.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS)
    if not files:
        raise GanError(f"{directory}: no image files (.png, .jpg, ...); expected {layout}")
    return files


def _need_root(root: Path | None, name: str, layout: str) -> Path:
    if root is None:
        raise GanError(f"dataset {name!r} reads local files: pass --data-root DIR with {layout}")
    root = Path(root).expanduser()
    if not root.is_dir():
        raise GanError(f"--data-root {root}: folder not found; expected {layout}")
    return root


ALIGNED_LAYOUT = ("the pix2pix aligned layout: train/ (and test/ or val/) folders of side-by-side "
                  "A|B images")
UNALIGNED_LAYOUT = "the CycleGAN layout: trainA/ and trainB/ image folders (and testA/ testB/)"
CELEBA_LAYOUT = "the CelebA layout: list_attr_celeba.txt and images/ (or img_align_celeba/)"
DOMAIN_LAYOUT = ("one folder of images per domain: ROOT/<domain>/ (at least two), or "
                 "ROOT/train/<domain>/ and ROOT/test/<domain>/")


def make_aligned(root: Path | None, config: Any) -> PairedData:
    """pix2pix aligned A|B folders train/, val/, test/ (``--set data.direction=AtoB|BtoA``)."""
    root = _need_root(root, "aligned", ALIGNED_LAYOUT)
    direction = _opt(config, "direction", "AtoB")
    if direction not in ("AtoB", "BtoA"):
        raise GanError(f"--set data.direction={direction!r}: expected AtoB or BtoA")
    load, image = sizes(config)
    train_scan = _verified(_list(root / "train", ALIGNED_LAYOUT), config, f"images under {root / 'train'}")
    held = next((root / s for s in ("test", "val") if (root / s).is_dir()), None)
    test_scan = _verified(_list(held, ALIGNED_LAYOUT), config, f"images under {held}") if held is not None else None
    train_files, test_files = train_scan.files, test_scan.files if test_scan is not None else None
    c = _channels(config, [train_scan] + ([test_scan] if test_scan else []), f"{root}")
    mode = _opt(config, "resize_mode", "square")
    rev = direction == "BtoA"
    train = AlignedPairs(train_files, load, c, mode, rev)
    test = AlignedPairs(test_files if test_files else train_files, image, c, mode, rev)
    return PairedData(train, test, (c, c), str(root))


def make_unaligned(root: Path | None, config: Any) -> UnpairedData:
    """CycleGAN folders trainA/ trainB/ (+ testA/ testB/), any sizes, grayscale or RGB."""
    root = _need_root(root, "unaligned", UNALIGNED_LAYOUT)
    load, image = sizes(config)
    has_test = (root / "testA").is_dir() and (root / "testB").is_dir()
    scans = {}
    for split in ("trainA", "trainB") + (("testA", "testB") if has_test else ()):
        scans[split] = _verified(_list(root / split, UNALIGNED_LAYOUT), config, f"images under {root / split}")
    ta, tb = scans["trainA"].files, scans["trainB"].files
    ea = scans["testA"].files if has_test else ta
    eb = scans["testB"].files if has_test else tb
    mode = _opt(config, "resize_mode", "square")
    # each domain on its own: a grayscale domain next to an RGB one is a legitimate dataset
    ca = _channels(config, [scans[s] for s in scans if s.endswith("A")], f"domain A ({root})")
    cb = _channels(config, [scans[s] for s in scans if s.endswith("B")], f"domain B ({root})")
    return UnpairedData(ImageFiles(ta, load, ca, mode), ImageFiles(tb, load, cb, mode),
                        ImageFiles(ea, image, ca, mode), ImageFiles(eb, image, cb, mode),
                        (ca, cb), str(root), held_out=has_test)


CELEBA_DEFAULT_ATTRS = ("Black_Hair", "Blond_Hair", "Brown_Hair", "Male", "Young")  # StarGAN paper
HAIR_COLOURS = ("Black_Hair", "Blond_Hair", "Brown_Hair", "Gray_Hair")


def read_celeba_attributes(path: Path) -> tuple[list[str], list[str], torch.Tensor]:
    """Parse ``list_attr_celeba.txt`` → (attribute names, file names, ±1 values as {0, 1})."""
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError as e:
        raise GanError(f"{path}: cannot read ({e})") from None
    if len(lines) < 3:
        raise GanError(f"{path}: expected a count line, a line of attribute names and one line per image")
    names = lines[1].split()
    files, rows = [], []
    for lineno, line in enumerate(lines[2:], start=3):
        parts = line.split()
        if not parts:
            continue
        if len(parts) != len(names) + 1:
            raise GanError(f"{path}:{lineno}: expected a file name and {len(names)} values, "
                           f"found {len(parts)} fields")
        try:
            vals = [int(v) for v in parts[1:]]
        except ValueError:
            raise GanError(f"{path}:{lineno}: attribute values must be 1 or -1") from None
        if any(v not in (-1, 0, 1) for v in vals):
            raise GanError(f"{path}:{lineno}: attribute values must be 1 or -1")
        files.append(parts[0])
        rows.append(vals)
    if not files:
        raise GanError(f"{path}: no image lines")
    return names, files, (torch.tensor(rows) > 0).float()


def make_celeba(root: Path | None, config: Any) -> AttributeData:
    """CelebA: list_attr_celeba.txt + images/ (``--set data.attrs=Black_Hair,Blond_Hair,Male,...``)."""
    root = _need_root(root, "celeba", CELEBA_LAYOUT)
    attr_file = root / "list_attr_celeba.txt"
    if not attr_file.is_file():
        raise GanError(f"{attr_file}: not found; expected {CELEBA_LAYOUT}")
    img_dir = next((root / d for d in ("images", "img_align_celeba") if (root / d).is_dir()), None)
    if img_dir is None:
        raise GanError(f"{root / 'images'}: folder not found; expected {CELEBA_LAYOUT}")
    names, files, values = read_celeba_attributes(attr_file)
    present = {p.name for p in img_dir.iterdir()}
    missing = [f for f in files if f not in present]
    if missing:
        raise GanError(f"{attr_file} lists {len(missing)} image(s) missing from {img_dir} "
                       f"(first: {missing[0]}); expected {CELEBA_LAYOUT}")
    wanted = tuple(_opt(config, "attrs", ()) or ()) or CELEBA_DEFAULT_ATTRS
    idx = _select(wanted, names, str(attr_file))
    labels = values[:, idx]
    chosen = [names[i] for i in idx]
    hair = [chosen.index(h) for h in HAIR_COLOURS if h in chosen]
    groups = [hair] if len(hair) > 1 else []
    partition = root / "list_eval_partition.txt"
    if partition.is_file():
        split = {}
        for lineno, line in enumerate(partition.read_text(encoding="utf-8").splitlines(), start=1):
            parts = line.split()
            if len(parts) == 2 and parts[1] in ("0", "1", "2"):
                split[parts[0]] = int(parts[1])
            elif parts:
                raise GanError(f"{partition}:{lineno}: expected '<file> 0|1|2'")
        test_mask = torch.tensor([split.get(f, 0) == 2 for f in files])
    else:  # StarGAN's protocol: 2000 random test images (fewer for small folders)
        from gan.data import split_indices
        n_test = min(2000, max(1, len(files) // 10))
        test_idx = split_indices(len(files), [n_test / len(files), 1 - n_test / len(files)], seed=1234)[0]
        test_mask = torch.zeros(len(files), dtype=torch.bool)
        test_mask[test_idx] = True
    paths = [img_dir / f for f in files]
    load, image = sizes(config)
    scan = _verified(paths, config, f"images listed in {attr_file}")
    readable = set(scan.files)
    tr = [i for i in range(len(files)) if not test_mask[i] and paths[i] in readable]
    te = [i for i in range(len(files)) if test_mask[i] and paths[i] in readable] or tr
    if not tr:
        raise GanError(f"{attr_file}: every readable image is in the test partition; no training images")
    c = _channels(config, [scan], str(img_dir))
    mode, crop = _opt(config, "resize_mode", "square"), int(_opt(config, "center_crop", 0))
    train = LabelledFiles([paths[i] for i in tr], labels[tr], load, c, mode, crop)
    test = LabelledFiles([paths[i] for i in te], labels[te], image, c, mode, crop)
    return AttributeData(train, test, chosen, c, str(root), groups, "multi")


def make_domain_folders(root: Path | None, config: Any) -> AttributeData:
    """One folder per domain (RaFD style); ``--set data.attrs=a,b,c`` picks domains by folder name."""
    root = _need_root(root, "domain-folders", DOMAIN_LAYOUT)
    split_layout = (root / "train").is_dir() and (root / "test").is_dir()
    base = root / "train" if split_layout else root
    domains = sorted(d.name for d in base.iterdir() if d.is_dir() and not d.name.startswith("."))
    if split_layout is False:
        domains = [d for d in domains if d not in ("train", "test")]
    wanted = tuple(_opt(config, "attrs", ()) or ())
    if wanted:
        domains = [domains[i] for i in _select(wanted, domains, str(base))]
    if len(domains) < 2:
        raise GanError(f"{base}: found {len(domains)} domain folder(s); expected {DOMAIN_LAYOUT}")
    train_items: list[tuple[Path, int]] = []
    test_items: list[tuple[Path, int]] = []
    scans = []
    for k, d in enumerate(domains):
        scans.append(_verified(_list(base / d, DOMAIN_LAYOUT), config, f"images under {base / d}"))
        files = scans[-1].files
        if split_layout:
            train_items += [(f, k) for f in files]
            scans.append(_verified(_list(root / "test" / d, DOMAIN_LAYOUT), config,
                                   f"images under {root / 'test' / d}"))
            test_items += [(f, k) for f in scans[-1].files]
        else:  # hold out every tenth image of each domain (at least one when there are two)
            g = torch.Generator().manual_seed(1234 + k)
            perm = torch.randperm(len(files), generator=g).tolist()
            n_test = max(1, len(files) // 10) if len(files) > 1 else 0
            test_items += [(files[i], k) for i in perm[:n_test]]
            train_items += [(files[i], k) for i in perm[n_test:]]
    test_items = test_items or train_items
    load, image = sizes(config)
    c = _channels(config, scans, str(root))
    mode, crop = _opt(config, "resize_mode", "square"), int(_opt(config, "center_crop", 0))
    eye = torch.eye(len(domains))

    def build(items: list[tuple[Path, int]], size: int) -> LabelledFiles:
        return LabelledFiles([p for p, _ in items], eye[[k for _, k in items]], size, c, mode, crop)

    return AttributeData(build(train_items, load), build(test_items, image), domains, c, str(root),
                         [list(range(len(domains)))], "single")


__all__ = [
    "PairedData", "UnpairedData", "AttributeData", "as_float", "num_items", "get_items",
    "iter_batches", "sizes", "resize_image", "ImageFiles", "AlignedPairs", "LabelledFiles",
    "make_outline2fill", "make_day2night", "make_shape_attributes", "make_aligned",
    "make_unaligned", "make_celeba", "make_domain_folders", "read_celeba_attributes",
    "render_outline2fill", "render_day_night", "render_attributes", "ATTRIBUTE_NAMES",
]

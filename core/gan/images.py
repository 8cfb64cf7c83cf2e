"""Image file I/O shared by the image and translation plugins.

Images are float tensors ``(C, H, W)`` in ``[-1, 1]`` (the tanh range generators produce). Reading
goes through Pillow with every decoding failure turned into a :class:`GanError` naming the file, so
a corrupt, truncated or zero-byte image never surfaces as a bare traceback. 16-bit and palette images
are converted; grayscale/RGB is chosen by ``channels``.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError

from .errors import GanError, GanWarning

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".ppm", ".pgm")


def list_images(directory: str | Path, *, what: str = "images") -> list[Path]:
    """Sorted image files directly under ``directory`` (recursively); a clear error when none."""
    d = Path(directory)
    if not d.is_dir():
        raise GanError(f"{d}: folder not found (expected a folder of {what})")
    files = sorted(p for p in d.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS)
    if not files:
        raise GanError(f"{d}: no image files found (expected {what}: "
                       f"{', '.join(IMAGE_EXTENSIONS[:4])}, ...)")
    return files


GRAY_MODES = ("1", "L", "LA", "I", "I;16", "I;16B", "I;16L", "F")


def image_channels(img: Image.Image) -> int:
    """1 for grayscale (including palettes of grays), 3 otherwise."""
    if img.mode == "P":  # a palette image is grayscale when every palette entry is a gray
        pal = img.getpalette() or []
        return 1 if all(pal[i] == pal[i + 1] == pal[i + 2] for i in range(0, len(pal) - 2, 3)) else 3
    return 1 if img.mode in GRAY_MODES else 3


def verify_image(path: str | Path) -> int:
    """Decode ``path`` completely (a truncated or corrupt file fails here, not mid-run) and return
    its channel count. JPEGs decode in draft mode (DCT scaling to 1/8 size): the decoder still reads
    every byte of the entropy-coded data, at a fraction of the cost."""
    p = Path(path)
    try:
        if p.stat().st_size == 0:
            raise GanError(f"{p}: empty (zero-byte) image file")
        with Image.open(p) as img:
            channels = image_channels(img)
            if img.format == "JPEG":
                img.draft(img.mode, (max(1, img.width // 8), max(1, img.height // 8)))
            img.load()
    except GanError:
        raise
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, Image.DecompressionBombError) as e:
        raise GanError(f"{p}: cannot decode image ({type(e).__name__}: {e})") from None
    return channels


@dataclass
class ImageScan:
    """What :func:`verify_images` found: the readable files, their channel counts, the bad ones."""

    files: list[Path]
    channels: list[int]
    bad: list[Path] = field(default_factory=list)


def verify_images(files: Sequence[Path], *, skip_bad: bool = False, what: str = "images") -> ImageScan:
    """Verify every file when a dataset is opened, so a bad one is found before training rather
    than at the step that first draws it. A bad file is a ``GanError`` naming it; with
    ``skip_bad`` it is left out, and all skipped files are counted in one warning."""
    good, channels, bad = [], [], []
    for f in files:
        try:
            channels.append(verify_image(f))
            good.append(Path(f))
        except GanError as e:
            if not skip_bad:
                raise GanError(f"{e} (set data.skip_bad=true to skip unreadable files)") from None
            bad.append(Path(f))
    if bad:
        warnings.warn(f"skipped {len(bad)} unreadable image(s) of {len(files)} {what} (first: {bad[0]})",
                      GanWarning, stacklevel=2)
    if not good:
        raise GanError(f"none of the {len(files)} {what} could be read (first: {files[0] if files else '-'})")
    return ImageScan(good, channels, bad)


def majority_channels(scan: ImageScan, what: str) -> int:
    """The channel count most files of ``scan`` have (RGB on a tie); one warning names the files
    that differ, which are converted when read."""
    gray = sum(1 for c in scan.channels if c == 1)
    chosen = 1 if gray > len(scan.channels) - gray else 3
    odd = [f for f, c in zip(scan.files, scan.channels) if c != chosen]
    if odd:
        names = ", ".join(str(f) for f in odd[:3]) + (f" and {len(odd) - 3} more" if len(odd) > 3 else "")
        warnings.warn(f"{what}: {len(odd)} of {len(scan.files)} image(s) are "
                      f"{'RGB' if chosen == 1 else 'grayscale'} among {'grayscale' if chosen == 1 else 'RGB'} "
                      f"ones and are converted ({names}); set channels=1 or 3 to choose", GanWarning, stacklevel=2)
    return chosen


def _to_array(img: Image.Image, channels: int) -> np.ndarray:
    if img.mode in ("I;16", "I;16B", "I;16L", "I"):
        a = np.asarray(img, dtype=np.float64)
        hi = 65535.0 if a.max() > 255 else 255.0
        a = (a / hi * 255.0).clip(0, 255).astype(np.uint8)
        img = Image.fromarray(a, mode="L")
    img = img.convert("L" if channels == 1 else "RGB")
    a = np.asarray(img, dtype=np.uint8)
    return a[:, :, None] if a.ndim == 2 else a


def read_image(path: str | Path, channels: int = 3) -> torch.Tensor:
    """Decode ``path`` into a ``(channels, H, W)`` float tensor in ``[-1, 1]``."""
    p = Path(path)
    try:
        if p.stat().st_size == 0:
            raise GanError(f"{p}: empty (zero-byte) image file")
        with Image.open(p) as img:
            img.load()
            a = _to_array(img, channels)
    except GanError:
        raise
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as e:
        raise GanError(f"{p}: cannot decode image ({type(e).__name__}: {e})") from None
    t = torch.from_numpy(a.copy()).permute(2, 0, 1).float()
    return t / 127.5 - 1.0


def to_uint8(images: torch.Tensor) -> torch.Tensor:
    """``[-1, 1]`` floats → uint8 ``[0, 255]`` (same shape)."""
    return ((images.detach().float().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)


def save_image(image: torch.Tensor, path: str | Path) -> Path:
    """Write one ``(C, H, W)`` image in ``[-1, 1]`` as PNG (atomically: temp file + rename)."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    a = to_uint8(image.cpu()).permute(1, 2, 0).numpy()
    img = Image.fromarray(a[:, :, 0] if a.shape[2] == 1 else a)
    tmp = p.with_name(p.name + ".tmp")
    img.save(tmp, format="PNG")
    tmp.replace(p)
    return p


def append_progress_row(path: str | Path, images: torch.Tensor, max_rows: int = 64, padding: int = 2) -> Path:
    """Add one row of ``(N, C, H, W)`` images in ``[-1, 1]`` at the bottom of ``path``
    (``progress.png``): the same fixed inputs at every snapshot, so the run reads top to bottom.
    Keeps the last ``max_rows`` rows; a row of another width (new settings) starts a new image."""
    from torchvision.utils import make_grid

    row = make_grid(images.detach().float().cpu().clamp(-1, 1), nrow=images.shape[0], padding=padding,
                    pad_value=1.0)
    if row.shape[0] == 1:
        row = row.expand(3, -1, -1)
    p = Path(path)
    if p.is_file():
        try:
            previous = read_image(p, channels=3)
        except GanError:
            previous = None
        if previous is not None and previous.shape[-1] == row.shape[-1]:
            row = torch.cat([previous[:, -row.shape[1] * (max_rows - 1):], row], 1)
    return save_image(row, p)


def save_grid(images: torch.Tensor | Sequence[torch.Tensor], path: str | Path, nrow: int = 8,
              padding: int = 2, column_labels: Sequence[str] | None = None,
              row_labels: Sequence[str] | None = None) -> Path:
    """Tile ``(N, C, H, W)`` images in ``[-1, 1]`` into one PNG (``nrow`` images per row).

    ``column_labels`` / ``row_labels`` write a caption over each column / left of each row (what a
    translation grid's columns are: input | output | target), enlarging small images so the
    captions fit."""
    from torchvision.utils import make_grid

    batch = torch.stack(list(images)) if not isinstance(images, torch.Tensor) else images
    grid = make_grid(batch.detach().float().cpu().clamp(-1, 1), nrow=nrow, padding=padding,
                     pad_value=1.0)
    if not column_labels and not row_labels:
        return save_image(grid, path)
    from .grid_labels import labelled
    img = labelled(to_uint8(grid).permute(1, 2, 0).numpy(), cell=(batch.shape[-2], batch.shape[-1]),
                   padding=padding, column_labels=column_labels, row_labels=row_labels)
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    tmp = p.with_name(p.name + ".tmp")
    img.save(tmp, format="PNG")
    tmp.replace(p)
    return p

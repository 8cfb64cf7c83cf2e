"""Image datasets: an embedded procedural digits set, MNIST / Fashion-MNIST / CIFAR-10 from local
files, and any folder of images.

Every factory returns an :class:`ImageData` whose images are ``uint8`` tensors ``(N, C, H, W)``:
a quarter of the memory of floats, and the conversion to ``[-1, 1]`` happens on the device, batch by
batch (:meth:`gan_image.base.ImageGANRecipe.prepare_batch`). Nothing is ever downloaded; a missing
dataset is one :class:`gan.GanError` naming the files expected and where.

Files are parsed here rather than through ``torchvision.datasets``: the IDX format is a 16-byte
header and raw bytes (so both the torchvision layout ``<root>/MNIST/raw/`` and a bare folder of the
four ``.gz`` files work), and torchvision's CIFAR-10 reader calls ``pickle.load`` on the batch files,
which would execute whatever a tampered file contains. CIFAR batches are read with a restricted
unpickler that can rebuild numpy arrays and nothing else (or from the binary ``.bin`` release).
"""

from __future__ import annotations

import functools
import gzip
import math
import pickle
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
import torch.nn.functional as F

from gan import GanError
from gan.images import list_images, read_image
from gan.safe_pickle import load_numpy_pickle


@dataclass
class DataConfig:
    """How images are loaded and shaped (``--set data.<key>=...``)."""

    image_size: int | None = None  # resize to this square size; None = the dataset's own (folders: 64)
    channels: int | None = None  # 1 (grayscale) or 3 (RGB); None = the dataset's own (folders: 3)
    resize: Literal["crop", "stretch"] = "crop"  # rectangular images: resize+center-crop, or stretch
    skip_bad: bool = False  # image folders: skip undecodable files (counted) instead of failing
    limit: int | None = None  # use only the first N training images
    embedded_size: int = 10000  # training images of the embedded 'digits' set
    embedded_seed: int = 0  # the embedded set is a pure function of this seed
    held_out: float = 0.1  # image folders: fraction kept out of training as the evaluation reference


@dataclass
class ImageData:
    """A labelled (or unlabelled) image set in memory.

    Attributes:
        images: ``(N, C, H, W)`` uint8 training images.
        labels: ``(N,)`` int64 class indices, or ``None`` for unlabelled data.
        classes: class names (index → name); empty when unlabelled.
        name: dataset name (``mnist``, ``digits``, ``folder``, ...).
        test_images, test_labels: the held-out split when the dataset has one: never trained on,
            it is the reference of the FID/KID and where the evaluation classifier's accuracy is
            measured; ``None`` otherwise.
        test_name: what the held-out split is, for the evaluation protocol.
        source: where it came from (a path, or ``embedded``).
        skipped: undecodable files skipped (``data.skip_bad``).
    """

    images: torch.Tensor
    labels: torch.Tensor | None
    classes: list[str]
    name: str
    test_images: torch.Tensor | None = None
    test_labels: torch.Tensor | None = None
    source: str = ""
    skipped: int = 0
    info: dict[str, Any] = field(default_factory=dict)
    test_name: str = "test split"

    def __len__(self) -> int:
        return int(self.images.shape[0])

    @property
    def shape(self) -> tuple[int, int, int]:
        return tuple(self.images.shape[1:])  # type: ignore[return-value]

    @property
    def num_classes(self) -> int:
        return len(self.classes) if self.labels is not None else 0


def data_config(config: Any) -> DataConfig:
    """The ``data`` group of a recipe config (defaults when the config has none)."""
    cfg = getattr(config, "data", None)
    return cfg if isinstance(cfg, DataConfig) else DataConfig()


# --- shaping -------------------------------------------------------------------------------------
def resize_uint8(images: torch.Tensor, size: int, mode: str = "crop", chunk: int = 4096) -> torch.Tensor:
    """Resize ``(N, C, H, W)`` uint8 images to ``size × size`` (antialiased bilinear).

    ``crop`` scales the shorter side to ``size`` and cuts the centre; ``stretch`` ignores aspect.
    """
    n, c, h, w = images.shape
    if (h, w) == (size, size):
        return images
    if mode == "crop":
        scale = size / min(h, w)
        th, tw = max(size, round(h * scale)), max(size, round(w * scale))
    else:
        th, tw = size, size
    out = torch.empty((n, c, size, size), dtype=torch.uint8)
    for i in range(0, n, chunk):
        x = images[i:i + chunk].float()
        x = F.interpolate(x, size=(th, tw), mode="bilinear", antialias=True, align_corners=False)
        top, left = (th - size) // 2, (tw - size) // 2
        out[i:i + chunk] = x[:, :, top:top + size, left:left + size].round().clamp(0, 255).to(torch.uint8)
    return out


def convert_channels(images: torch.Tensor, channels: int) -> torch.Tensor:
    """Grayscale ↔ RGB for uint8 ``(N, C, H, W)`` (ITU-R 601 luma for RGB → gray)."""
    c = images.shape[1]
    if c == channels:
        return images
    if channels == 3 and c == 1:
        return images.expand(-1, 3, -1, -1).contiguous()
    if channels == 1 and c == 3:
        w = torch.tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)
        return (images.float() * w).sum(1, keepdim=True).round().clamp(0, 255).to(torch.uint8)
    raise GanError(f"--set data.channels={channels}: expected 1 or 3")


def shape_data(data: ImageData, cfg: DataConfig) -> ImageData:
    """Apply ``data.limit``, ``data.channels`` and ``data.image_size`` to both splits."""
    if cfg.limit is not None:
        if cfg.limit < 1:
            raise GanError(f"--set data.limit={cfg.limit}: expected a positive number of images")
        data.images = data.images[:cfg.limit]
        if data.labels is not None:
            data.labels = data.labels[:cfg.limit]
    if cfg.image_size is not None and cfg.image_size < 4:
        raise GanError(f"--set data.image_size={cfg.image_size}: expected at least 4 pixels")
    for attr in ("images", "test_images"):
        x = getattr(data, attr)
        if x is None:
            continue
        if cfg.channels is not None:
            x = convert_channels(x, cfg.channels)
        if cfg.image_size is not None:
            x = resize_uint8(x, cfg.image_size, cfg.resize)
        setattr(data, attr, x)
    return data


def colour_digits(data: ImageData, size: int = 32, seed: int = 0) -> ImageData:
    """MNIST as 3-channel ``size``-px images: each digit in a random ink colour on a random
    background colour (a fixed function of ``seed``), so the nets must model colour as well.
    The 3-channel 32-px benchmark and learning tests use it on MNIST and the embedded digits."""
    data = shape_data(data, DataConfig(image_size=size))
    g = torch.Generator().manual_seed(seed)
    for attr in ("images", "test_images"):
        x = getattr(data, attr).float() / 255
        n = x.shape[0]
        ink, paper = torch.rand(n, 3, 1, 1, generator=g), torch.rand(n, 3, 1, 1, generator=g) * 0.5
        ink = torch.where((ink - paper).abs().sum(1, keepdim=True) < 0.6, 1 - paper, ink)  # keep contrast
        setattr(data, attr, ((paper + (ink - paper) * x) * 255).round().clamp(0, 255).to(torch.uint8))
    data.name = f"{data.name}-rgb{size}"
    return data


# --- the embedded digits -------------------------------------------------------------------------
def _arc(cx: float, cy: float, rx: float, ry: float, a0: float, a1: float, n: int = 10) -> list[tuple[float, float]]:
    """Points of an elliptic arc, angles in degrees, y pointing down (image coordinates)."""
    return [(cx + rx * math.cos(math.radians(a)), cy + ry * math.sin(math.radians(a)))
            for a in np.linspace(a0, a1, n)]


# Each digit is a list of polylines in a unit box (x right, y down); curves are sampled arcs.
_DIGIT_STROKES: list[list[list[tuple[float, float]]]] = [
    [_arc(0.5, 0.5, 0.27, 0.4, 0, 360, 17)],
    [[(0.33, 0.26), (0.55, 0.1), (0.55, 0.9)]],
    [_arc(0.5, 0.32, 0.25, 0.22, 195, 380, 9) + [(0.24, 0.9), (0.78, 0.9)]],
    [_arc(0.48, 0.29, 0.24, 0.19, 200, 450, 9), _arc(0.48, 0.69, 0.28, 0.21, 270, 520, 9)],
    [[(0.64, 0.9), (0.64, 0.1), (0.2, 0.64), (0.82, 0.64)]],
    [[(0.75, 0.1), (0.33, 0.1), (0.3, 0.46)] + _arc(0.5, 0.66, 0.27, 0.24, 225, 520, 10)],
    [_arc(0.56, 0.55, 0.31, 0.44, 300, 180, 7) + _arc(0.5, 0.7, 0.25, 0.2, 180, 540, 13)],
    [[(0.22, 0.1), (0.78, 0.1), (0.42, 0.9)]],
    [_arc(0.5, 0.29, 0.21, 0.19, 0, 360, 13), _arc(0.5, 0.7, 0.26, 0.21, 0, 360, 13)],
    [_arc(0.5, 0.32, 0.24, 0.21, 0, 360, 13), [(0.74, 0.32), (0.68, 0.9)]],
]


def _segments(strokes: list[list[tuple[float, float]]]) -> torch.Tensor:
    segs = [(a, b) for line in strokes for a, b in zip(line[:-1], line[1:])]
    return torch.tensor(segs, dtype=torch.float32)  # (S, 2, 2): segment, endpoint, xy


def render_digits(labels: torch.Tensor, size: int = 28, generator: torch.Generator | None = None,
                  chunk: int = 512) -> torch.Tensor:
    """Draw handwriting-like digits ``labels`` (0–9) as ``(N, 1, size, size)`` uint8 images.

    Each digit's strokes get a random affine map (scale, aspect, rotation, slant, offset), per-vertex
    jitter and a random pen width, then are rasterised as an antialiased distance field. Everything
    is vectorised in torch, so 12 000 images take well under a second.
    """
    g = generator
    n = labels.shape[0]
    out = torch.zeros((n, 1, size, size), dtype=torch.uint8)
    ys, xs = torch.meshgrid(torch.arange(size) + 0.5, torch.arange(size) + 0.5, indexing="ij")
    pix = torch.stack([xs.reshape(-1), ys.reshape(-1)], -1)  # (P, 2)
    px = size / 28.0  # everything below is in 28-pixel units
    for digit in range(10):
        idx = (labels == digit).nonzero().flatten()
        if idx.numel() == 0:
            continue
        base = _segments(_DIGIT_STROKES[digit]) - 0.5  # centred
        for start in range(0, idx.numel(), chunk):
            sel = idx[start:start + chunk]
            m = sel.numel()
            u = torch.rand(m, 8, generator=g)
            height = (17 + 5 * u[:, 0]) * px
            aspect = 0.8 + 0.45 * u[:, 1]
            angle = (u[:, 2] - 0.5) * math.radians(28)
            slant = (u[:, 3] - 0.5) * 0.6
            width = (0.9 + 1.3 * u[:, 4]) * px
            offset = (u[:, 5:7] - 0.5) * 3 * px + size / 2
            cos, sin = torch.cos(angle), torch.sin(angle)
            # A = R(angle) @ [[aspect, slant], [0, 1]] * height
            a = torch.stack([torch.stack([cos * aspect, cos * slant - sin], -1),
                             torch.stack([sin * aspect, sin * slant + cos], -1)], -2) * height.view(-1, 1, 1)
            pts = base.unsqueeze(0) + 0.025 * torch.randn((m, *base.shape), generator=g)
            pts = torch.einsum("mij,msej->msei", a, pts) + offset.view(-1, 1, 1, 2)  # (m, S, 2, 2)
            # Distance of every pixel to its nearest segment, x and y kept apart and updated in
            # place: (m, S, P) tensors are the whole cost of generating the set.
            p0 = pts[:, :, 0].unsqueeze(2)  # (m, S, 1, 2)
            dx, dy = (pts[:, :, 1] - pts[:, :, 0]).unsqueeze(2).unbind(-1)  # (m, S, 1)
            inv_len2 = 1.0 / (dx * dx + dy * dy).clamp_min(1e-6)
            rx = pix[:, 0].view(1, 1, -1) - p0[..., 0]  # (m, S, P)
            ry = pix[:, 1].view(1, 1, -1) - p0[..., 1]
            t = torch.addcmul(rx * dx, ry, dy).mul_(inv_len2).clamp_(0, 1)
            rx.sub_(t * dx)
            ry.sub_(t.mul_(dy))
            dist = rx.mul_(rx).addcmul_(ry, ry).amin(1).sqrt_()  # (m, P)
            ink = (width.view(-1, 1) - dist + 0.5).clamp(0, 1) * (0.75 + 0.25 * u[:, 7:8])
            out[sel] = (ink * 255).round().to(torch.uint8).view(m, 1, size, size)
    return out


@functools.lru_cache(maxsize=4)
def _digits(n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``n`` training + a held-out test split of digits (cached: recipes, tests and the evaluation
    classifier of one process ask for the same set)."""
    g = torch.Generator().manual_seed(seed)
    n_test = min(2000, max(200, n // 5))
    labels = torch.arange(n + n_test) % 10
    labels = labels[torch.randperm(labels.numel(), generator=g)]
    return render_digits(labels, 28, g), labels


def make_digits(root: Path | None = None, config: Any = None) -> ImageData:
    """Procedurally drawn digits 0–9, 28×28 grayscale, labelled; needs no files.

    The set is a pure function of ``data.embedded_seed``: the training split has
    ``data.embedded_size`` images and a disjoint 2 000-image test split is drawn after it.
    """
    cfg = data_config(config)
    if cfg.embedded_size < 10:
        raise GanError(f"--set data.embedded_size={cfg.embedded_size}: expected at least 10 images")
    images, labels = _digits(cfg.embedded_size, cfg.embedded_seed)
    data = ImageData(images[:cfg.embedded_size], labels[:cfg.embedded_size], [str(i) for i in range(10)],
                     "digits", images[cfg.embedded_size:], labels[cfg.embedded_size:], source="embedded",
                     test_name="test split (drawn after the training images)")
    return shape_data(data, cfg)


# --- IDX (MNIST, Fashion-MNIST) ------------------------------------------------------------------
IDX_FILES = {"train_images": "train-images-idx3-ubyte", "train_labels": "train-labels-idx1-ubyte",
             "test_images": "t10k-images-idx3-ubyte", "test_labels": "t10k-labels-idx1-ubyte"}


def read_idx(path: Path) -> np.ndarray:
    """Parse an IDX file (optionally gzipped): magic ``0 0 <type> <ndim>``, big-endian dims, data."""
    try:
        raw = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    except (OSError, EOFError, gzip.BadGzipFile) as e:
        raise GanError(f"{path}: cannot read IDX file ({type(e).__name__}: {e})") from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08:
        raise GanError(f"{path}: not an unsigned-byte IDX file (bad magic {raw[:4].hex()})")
    ndim = raw[3]
    header = 4 + 4 * ndim
    dims = tuple(int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim))
    need = header + int(np.prod(dims))
    if len(raw) != need:
        raise GanError(f"{path}: IDX file is truncated or corrupt ({len(raw)} bytes, header "
                       f"announces {need} for shape {dims})")
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(dims)


def _find_idx(root: Path, stem: str, subdirs: tuple[str, ...]) -> Path | None:
    for d in (root, *(root / s for s in subdirs)):
        for name in (stem, stem + ".gz"):
            if (d / name).is_file():
                return d / name
    return None


def load_idx_dataset(root: Path | None, config: Any, *, name: str, folder: str,
                     classes: list[str]) -> ImageData:
    """MNIST-format data from ``root`` or ``root/<folder>/raw`` (torchvision's layout)."""
    expected = ", ".join(f"{s}[.gz]" for s in IDX_FILES.values())
    where = f"the --data-root folder itself or <root>/{folder}/raw/"
    if root is None:
        raise GanError(f"--dataset {name} needs --data-root: a folder holding {expected} "
                       f"(in {where}); nothing is downloaded")
    if not root.is_dir():
        raise GanError(f"--data-root {root}: folder not found (expected {expected} in {where})")
    subdirs = (f"{folder}/raw", "raw")
    found = {k: _find_idx(root, stem, subdirs) for k, stem in IDX_FILES.items()}
    missing = [IDX_FILES[k] for k in ("train_images", "train_labels") if found[k] is None]
    if missing:
        raise GanError(f"{name} not found under {root}: missing {', '.join(m + '[.gz]' for m in missing)} "
                       f"(expected {expected} in {where})")
    x, y = read_idx(found["train_images"]), read_idx(found["train_labels"])
    if x.ndim != 3 or y.ndim != 1 or len(x) != len(y):
        raise GanError(f"{found['train_images']}: shape {x.shape} does not match labels {y.shape} "
                       f"in {found['train_labels']}")
    tx = ty = None
    if found["test_images"] is not None and found["test_labels"] is not None:
        tx_np, ty_np = read_idx(found["test_images"]), read_idx(found["test_labels"])
        if tx_np.shape[1:] == x.shape[1:] and len(tx_np) == len(ty_np):
            tx, ty = torch.from_numpy(tx_np.copy()).unsqueeze(1), torch.from_numpy(ty_np.astype(np.int64))
    data = ImageData(torch.from_numpy(x.copy()).unsqueeze(1), torch.from_numpy(y.astype(np.int64)),
                     classes, name, tx, ty, source=str(root), test_name="test split (t10k files)")
    if data.labels.max() >= len(classes):
        raise GanError(f"{found['train_labels']}: label {int(data.labels.max())} out of range for "
                       f"{len(classes)} classes")
    return shape_data(data, data_config(config))


def make_mnist(root: Path | None, config: Any = None) -> ImageData:
    """MNIST from local IDX files (``train-images-idx3-ubyte.gz`` ...), 28×28 grayscale."""
    return load_idx_dataset(root, config, name="mnist", folder="MNIST", classes=[str(i) for i in range(10)])


FASHION_CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
                   "Sneaker", "Bag", "Ankle boot"]


def make_fashion_mnist(root: Path | None, config: Any = None) -> ImageData:
    """Fashion-MNIST from local IDX files (same file names as MNIST), 28×28 grayscale."""
    return load_idx_dataset(root, config, name="fashion-mnist", folder="FashionMNIST",
                            classes=FASHION_CLASSES)


# --- CIFAR-10 ------------------------------------------------------------------------------------
CIFAR_CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]


def safe_unpickle(path: Path) -> Any:
    """Load a numpy pickle without executing code (only array reconstruction is allowed)."""
    try:
        with path.open("rb") as f:
            return load_numpy_pickle(f.read())  # restricted: numpy arrays only (gan.safe_pickle)
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, IndexError,
            OSError) as e:
        raise GanError(f"{path}: not a plain numpy pickle ({type(e).__name__}: {e})") from None


def _cifar_py(d: Path, names: list[str]) -> tuple[np.ndarray, np.ndarray]:
    xs, ys = [], []
    for n in names:
        p = d / n
        batch = safe_unpickle(p)
        if not isinstance(batch, dict):
            raise GanError(f"{p}: expected a CIFAR batch dict, got {type(batch).__name__}")
        batch = {k.decode() if isinstance(k, bytes) else k: v for k, v in batch.items()}
        try:
            x = np.asarray(batch["data"], dtype=np.uint8).reshape(-1, 3, 32, 32)
            y = np.asarray(batch["labels"], dtype=np.int64)
        except (KeyError, ValueError) as e:
            raise GanError(f"{p}: not a CIFAR-10 batch ({type(e).__name__}: {e})") from None
        if len(x) != len(y):
            raise GanError(f"{p}: {len(x)} images but {len(y)} labels")
        xs.append(x)
        ys.append(y)
    return np.concatenate(xs), np.concatenate(ys)


def _cifar_bin(d: Path, names: list[str]) -> tuple[np.ndarray, np.ndarray]:
    xs, ys = [], []
    for n in names:
        p = d / n
        raw = np.fromfile(p, dtype=np.uint8)
        if raw.size == 0 or raw.size % 3073:
            raise GanError(f"{p}: size {raw.size} is not a multiple of 3073-byte CIFAR-10 records")
        rec = raw.reshape(-1, 3073)
        ys.append(rec[:, 0].astype(np.int64))
        xs.append(rec[:, 1:].reshape(-1, 3, 32, 32))
    return np.concatenate(xs), np.concatenate(ys)


def make_cifar10(root: Path | None, config: Any = None) -> ImageData:
    """CIFAR-10 from the local python (``cifar-10-batches-py``) or binary (``-bin``) release."""
    py_names = [f"data_batch_{i}" for i in range(1, 6)]
    bin_names = [f"data_batch_{i}.bin" for i in range(1, 6)]
    expected = ("cifar-10-batches-py/data_batch_1..5 + test_batch, or cifar-10-batches-bin/"
                "data_batch_1..5.bin + test_batch.bin")
    if root is None:
        raise GanError(f"--dataset cifar10 needs --data-root: a folder holding {expected}; "
                       f"nothing is downloaded")
    for d, names, test, reader in ((root / "cifar-10-batches-py", py_names, "test_batch", _cifar_py),
                                   (root, py_names, "test_batch", _cifar_py),
                                   (root / "cifar-10-batches-bin", bin_names, "test_batch.bin", _cifar_bin),
                                   (root, bin_names, "test_batch.bin", _cifar_bin)):
        if all((d / n).is_file() for n in names):
            x, y = reader(d, names)
            tx = ty = None
            if (d / test).is_file():
                tx_np, ty_np = reader(d, [test])
                tx, ty = torch.from_numpy(tx_np), torch.from_numpy(ty_np)
            if y.min() < 0 or y.max() > 9:
                raise GanError(f"{d}: labels outside 0..9; not CIFAR-10")
            data = ImageData(torch.from_numpy(x), torch.from_numpy(y), CIFAR_CLASSES, "cifar10", tx, ty,
                             source=str(d), test_name=f"test split ({test})")
            return shape_data(data, data_config(config))
    raise GanError(f"CIFAR-10 not found under {root}: expected {expected} (in --data-root or directly in it)")


# --- any folder of images ------------------------------------------------------------------------
def make_image_folder(root: Path | None, config: Any = None) -> ImageData:
    """Every image under ``--data-root`` (recursively); labels from subfolder names when all images
    sit in subfolders. Images are resized to ``data.image_size`` (default 64) and converted to
    ``data.channels`` (default 3); a corrupt file is an error naming it, or is skipped and counted
    with ``data.skip_bad=true``."""
    cfg = data_config(config)
    if root is None:
        raise GanError("--dataset folder needs --data-root: a folder of images (optionally one "
                       "subfolder per class)")
    root = Path(root)
    files = list_images(root, what="images (optionally in one subfolder per class)")
    size = cfg.image_size or 64
    channels = cfg.channels or 3
    if channels not in (1, 3):
        raise GanError(f"--set data.channels={channels}: expected 1 or 3")
    rel = [f.relative_to(root) for f in files]
    labelled = all(len(r.parts) > 1 for r in rel)
    classes = sorted({r.parts[0] for r in rel}) if labelled else []
    index = {c: i for i, c in enumerate(classes)}
    if cfg.limit is not None:
        if cfg.limit < 1:
            raise GanError(f"--set data.limit={cfg.limit}: expected a positive number of images")
        files, rel = files[:cfg.limit], rel[:cfg.limit]
    images, labels, bad = [], [], []
    for f, r in zip(files, rel):
        try:
            x = read_image(f, channels)
        except GanError:
            if not cfg.skip_bad:
                raise
            bad.append(f)
            continue
        u8 = ((x + 1) * 127.5).round().clamp(0, 255).to(torch.uint8).unsqueeze(0)
        images.append(resize_uint8(u8, size, cfg.resize))
        if labelled:
            labels.append(index[r.parts[0]])
    if bad:
        warnings.warn(f"skipped {len(bad)} unreadable image(s) of {len(files)} under {root} "
                      f"(first: {bad[0]})", stacklevel=2)
    if not images:
        raise GanError(f"{root}: none of the {len(files)} image files could be read")
    data = ImageData(torch.cat(images), torch.tensor(labels, dtype=torch.int64) if labelled else None,
                     classes, "folder", source=str(root), skipped=len(bad))
    if labelled and len(classes) < 2:  # one subfolder is a layout choice, not a class label
        data.labels, data.classes = None, []
    return hold_out(data, cfg.held_out)


def hold_out(data: ImageData, fraction: float, seed: int = 0) -> ImageData:
    """Move a fixed random ``fraction`` of the images into the held-out split (``data.held_out``).

    Scoring a generator against the images it was trained on rewards memorising them; a folder has
    no test split of its own, so one is cut here, the same for every run on the same folder. Folders
    too small to spare two images keep them all (the evaluation then says it used the train split).
    """
    if not 0.0 <= fraction < 1.0:
        raise GanError(f"--set data.held_out={fraction}: expected a fraction in [0, 1)")
    n_test = int(len(data) * fraction)
    if n_test < 2:
        return data
    order = torch.randperm(len(data), generator=torch.Generator().manual_seed(seed))
    test, train = order[:n_test].sort().values, order[n_test:].sort().values
    data.test_images, data.images = data.images[test], data.images[train]
    if data.labels is not None:
        data.test_labels, data.labels = data.labels[test], data.labels[train]
    data.test_name = f"held-out {fraction:.0%} of the folder ({n_test} images, seed {seed})"
    return data


DATASETS = {
    "digits": make_digits,
    "mnist": make_mnist,
    "fashion-mnist": make_fashion_mnist,
    "cifar10": make_cifar10,
    "folder": make_image_folder,
}

"""``gan sample`` for image GANs: PNG files or one ``.npy`` of uint8 images, and a preview grid.

* ``png``: ``<out>/sample-00000[-<class>].png`` ... one file per sample.
* ``npy``: ``<out>/samples.npy``, a uint8 array ``(N, H, W, C)`` (the layout FID scorers and
  numpy image code read), plus ``<out>/labels.npy`` for class-conditioned generators. Large sets
  (10 000 samples for a FID) are written batch by batch into a memory-mapped file, so they never
  sit in memory as floats.

The preview grid (at most :data:`GRID_MAX` samples) is written *beside* the sample folder as
``<out>-grid.png``: a scorer that reads every image in the folder must see only samples.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

import numpy as np
import torch

from gan import GanError
from gan.images import save_grid, save_image, to_uint8
from gan.sampling import best_indices, nice_factor, take

FORMATS = ("png", "npy")
GRID_MAX = 64  # samples shown in the preview grid


def grid_path(out_dir: Path) -> Path:
    """``<out>-grid.png`` next to the folder ``<out>``."""
    out_dir = Path(out_dir)
    return out_dir.parent / f"{out_dir.name}-grid.png"


def _nice_latent(recipe: Any, n: int, g: torch.Generator | None, nice: bool | int
                 ) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
    """The core's ``--nice`` rule (:mod:`gan.sampling`) on latents: a conditional D scores an
    image with its label, so the candidates are latents, not ``sample()``'s bare images."""
    lat = recipe.latent(n * nice_factor(nice), generator=g)
    images = recipe.generate_eval(lat)
    keep = best_indices(recipe.score(images, lat), n)
    return take(lat, keep), images[keep]


def _batches(recipe: Any, lat: dict[str, torch.Tensor], images: torch.Tensor | None, n: int):
    """``(start, images)`` batches of ``eval.batch_size``: generated on demand unless given."""
    from .base import slice_latent

    bs = max(1, recipe.config.eval.batch_size)
    for i in range(0, n, bs):
        yield i, images[i:i + bs] if images is not None else recipe.generate_eval(slice_latent(lat, i, i + bs))


def export_samples(recipe: Any, n: int, out_dir: Path, seed: int | None = None, nice: bool | int = False,
                   fmt: str = "png") -> list[str]:
    """Write ``n`` samples of ``recipe`` under ``out_dir`` in ``fmt``; return the files written
    (samples first, the grid last)."""
    if fmt not in FORMATS:
        raise GanError(f"--format {fmt!r}: expected one of {', '.join(FORMATS)}")
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise GanError(f"--out {out_dir}: exists and is not a folder")
    out_dir.mkdir(parents=True, exist_ok=True)
    g = torch.Generator().manual_seed(seed) if seed is not None else None
    if nice:
        lat, images = _nice_latent(recipe, n, g, nice)
    else:
        lat, images = recipe.latent(n, generator=g), None
    labels = lat["y"].cpu() if "y" in lat and recipe.dataset.classes else None
    paths: list[Path] = []
    preview: list[torch.Tensor] = []
    array = None
    if fmt == "npy":
        c, h, w = recipe.image_shape
        array = np.lib.format.open_memmap(out_dir / "samples.tmp.npy", mode="w+", dtype=np.uint8,
                                          shape=(n, h, w, c))
    for start, batch in _batches(recipe, lat, images, n):
        if sum(len(p) for p in preview) < GRID_MAX:
            preview.append(batch[:GRID_MAX])
        if array is not None:
            array[start:start + len(batch)] = to_uint8(batch.cpu()).permute(0, 2, 3, 1).numpy()
            continue
        for i, img in enumerate(batch, start):
            suffix = ""
            if labels is not None:
                suffix = "-" + re.sub(r"[^A-Za-z0-9_.-]+", "_", recipe.dataset.classes[int(labels[i])])
            paths.append(save_image(img, out_dir / f"sample-{i:05d}{suffix}.png"))
    if array is not None:
        array.flush()
        del array
        (out_dir / "samples.tmp.npy").replace(out_dir / "samples.npy")
        paths.append(out_dir / "samples.npy")
        if labels is not None:
            np.save(out_dir / "labels.npy", labels.numpy().astype(np.int64))
            paths.append(out_dir / "labels.npy")
    shown = torch.cat(preview)[:GRID_MAX]
    paths.append(save_grid(shown, grid_path(out_dir), nrow=math.ceil(math.sqrt(len(shown)))))
    return [str(p) for p in paths]

"""Scatter plots of real vs generated 2-D points, drawn with Pillow (no matplotlib dependency)."""

from __future__ import annotations

from pathlib import Path

import torch
from PIL import Image, ImageDraw


def scatter_png(real: torch.Tensor, fake: torch.Tensor, path: Path, size: int = 512) -> Path:
    """Real points in blue, generated in orange, on a common square frame."""
    pts = torch.cat([real, fake])
    lo, hi = pts.min(0).values, pts.max(0).values
    span = float((hi - lo).max()) * 1.1 + 1e-6
    centre = (hi + lo) / 2

    def to_px(p: torch.Tensor) -> list[tuple[float, float]]:
        xy = (p - centre) / span * (size - 20) + size / 2
        return [(float(x), float(size - y)) for x, y in xy.tolist()]

    img = Image.new("RGB", (size, size), "white")
    draw = ImageDraw.Draw(img)
    for (x, y), colour in [(q, (31, 119, 180)) for q in to_px(real)] + \
                          [(q, (255, 127, 14)) for q in to_px(fake)]:
        draw.ellipse((x - 1.5, y - 1.5, x + 1.5, y + 1.5), fill=colour)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    img.save(tmp, format="PNG")
    tmp.replace(path)
    return path

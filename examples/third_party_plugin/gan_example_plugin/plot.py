"""Scatter plots of 2-D point clouds with Pillow (no plotting library needed)."""

from __future__ import annotations

from pathlib import Path

import torch
from PIL import Image, ImageDraw

REAL = (31, 119, 180)  # blue
FAKE = (214, 39, 40)  # red


def scatter(clouds: list[tuple[torch.Tensor, tuple[int, int, int]]], path: Path, size: int = 400) -> Path:
    """Draw each ``(points (N, 2), colour)`` cloud on one square frame fitted to all of them."""
    pts = torch.cat([c for c, _ in clouds]).float()
    lo, hi = pts.min(0).values, pts.max(0).values
    centre, span = (hi + lo) / 2, float((hi - lo).max()) * 1.1 + 1e-6
    img = Image.new("RGB", (size, size), "white")
    draw = ImageDraw.Draw(img)
    for cloud, colour in clouds:
        xy = ((cloud.float() - centre) / span * (size - 16) + size / 2).tolist()
        for x, y in xy:
            y = size - y  # image rows grow downwards
            draw.ellipse((x - 1.5, y - 1.5, x + 1.5, y + 1.5), fill=colour)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    img.save(tmp, format="PNG")
    tmp.replace(path)  # a reader never sees half a file
    return path

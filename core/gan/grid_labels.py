"""Captions on image grids: a header over each column and a label left of each row.

A translation grid without captions is a puzzle (which column is the input, which the target?).
Small images (16-64 px in the tiny presets and on MNIST) are enlarged by an integer factor with
nearest-neighbour sampling first, so a caption fits over its column without blurring the pixels.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from PIL import Image, ImageDraw, ImageFont

MIN_CELL = 72  # px: narrowest column a short caption fits over


def _font(size: int) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    try:
        return ImageFont.load_default(size=size)  # Pillow >= 10.1 with FreeType: a scalable font
    except TypeError:  # pragma: no cover - older Pillow: the fixed bitmap font
        return ImageFont.load_default()


def _fit(draw: ImageDraw.ImageDraw, text: str, font: ImageFont.ImageFont, width: int) -> str:
    """``text`` shortened with an ellipsis until it fits ``width`` pixels."""
    if draw.textlength(text, font=font) <= width:
        return text
    while len(text) > 1 and draw.textlength(text + "…", font=font) > width:
        text = text[:-1]
    return text + "…"


def labelled(grid: np.ndarray, cell: tuple[int, int], padding: int,
             column_labels: Sequence[str] | None = None, row_labels: Sequence[str] | None = None
             ) -> Image.Image:
    """``grid`` (H, W, C uint8, as torchvision's ``make_grid`` tiles it) with captions added."""
    h, w = cell
    scale = max(1, -(-MIN_CELL // max(w, 1)))  # ceil: columns at least MIN_CELL wide
    img = Image.fromarray(grid[:, :, 0] if grid.shape[2] == 1 else grid).convert("RGB")
    if scale > 1:
        img = img.resize((img.width * scale, img.height * scale), Image.NEAREST)
    step_x, step_y = (w + padding) * scale, (h + padding) * scale
    font_size = 13
    font = _font(font_size)
    top = font_size + 8 if column_labels else 0
    probe = ImageDraw.Draw(img)
    left = 0
    if row_labels:
        left = min(160, int(max(probe.textlength(str(t), font=font) for t in row_labels)) + 10)
    out = Image.new("RGB", (img.width + left, img.height + top), "white")
    out.paste(img, (left, top))
    draw = ImageDraw.Draw(out)
    for i, text in enumerate(column_labels or []):
        x0 = left + i * step_x + padding * scale
        text = _fit(draw, str(text), font, step_x - 4)
        tw = draw.textlength(text, font=font)
        draw.text((x0 + (w * scale - tw) / 2, 3), text, fill=(20, 20, 20), font=font)
    for j, text in enumerate(row_labels or []):
        y0 = top + j * step_y + padding * scale
        text = _fit(draw, str(text), font, left - 6)
        draw.text((4, y0 + (h * scale - font_size) / 2), text, fill=(20, 20, 20), font=font)
    return out

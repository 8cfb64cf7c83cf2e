"""The ``data.*`` and ``eval.*`` settings of SRResNet and SRGAN (the project's one naming scheme: how
data is read and shaped under ``data``, how results are scored under ``eval``, the model at the top
level). They were top-level keys before (``--set image_size=96``); :data:`RENAMED` maps the old names,
which keep working with a one-line notice (:func:`gan.config.canonical_key`).
"""

from __future__ import annotations

from dataclasses import dataclass

from gan.constraints import Positive


@dataclass
class DataConfig:
    """HR crops and the embedded ``sr-textures`` scenes (``--set data.<key>=...``)."""

    image_size: Positive = 96  # HR crop side (paper: 96×96)
    channels: int = 3  # RGB (paper); 1 for grayscale data
    flip: bool = False  # random horizontal flips (paper: random crops only)
    embedded_size: Positive = 800  # embedded sr-textures: images (1/8 held out)
    embedded_side: Positive = 128  # embedded sr-textures: image side
    embedded_seed: int = 0  # embedded sr-textures: generation seed


@dataclass
class EvalConfig:
    """The Y-channel PSNR/SSIM evaluation (``--set eval.<key>=...``)."""

    samples: Positive = 8  # held-out images in the cheap in-training evaluation (full: all, whole)
    side: Positive = 128  # cheap evaluation: centre crop side of each held-out image


RENAMED = {"image_size": "data.image_size", "channels": "data.channels", "flip": "data.flip",
           "toy_count": "data.embedded_size", "toy_side": "data.embedded_side",
           "data_seed": "data.embedded_seed", "eval_count": "eval.samples", "eval_side": "eval.side"}

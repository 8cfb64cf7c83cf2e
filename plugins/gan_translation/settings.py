"""The ``data.*`` and ``eval.*`` settings of the translation models (the project's one naming scheme:
how data is read and shaped under ``data``, how samples are scored under ``eval``, the model at the
top level). Each model subclasses these with its paper's defaults.

The settings were top-level keys before (``--set image_size=128``); :data:`RENAMED` maps the old
names, which keep working with a one-line notice (:func:`gan.config.canonical_key`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


@dataclass
class DataConfig:
    """How images are read, shaped and augmented (``--set data.<key>=...``)."""

    image_size: int = 256  # training crop side (pix2pix, CycleGAN: 256)
    load_size: int = 286  # images are resized to this, then randomly cropped to image_size (paper: 286 → 256); 0 = image_size
    resize_mode: Literal["square", "shorter"] = "square"  # stretch to a square, or scale the shorter side
    channels: int = 3  # 3 RGB (as the papers' code reads every image), 1 grayscale, 0 = the files' majority
    skip_bad: bool = False  # skip unreadable image files (counted in one warning) instead of stopping
    flip: bool = True  # random horizontal flips (papers: mirroring)
    embedded_size: int = 2000  # embedded task: training images (per domain; held out: 1/8 of it)
    embedded_seed: int = 0  # embedded task: generation seed


@dataclass
class EvalConfig:
    """How the model is scored (``--set eval.<key>=...``)."""

    samples: int = 64  # held-out images (per domain) scored by the cheap in-training evaluation (full: all)


@dataclass
class ClassifierEvalConfig(EvalConfig):
    """Scores that need a domain/attribute classifier trained on the real images (CycleGAN, StarGAN)."""

    classifier_epochs: int = 5  # epochs of the evaluation classifier on real training images
    classifier_images: int = 5000  # at most this many real training images train it


#: old top-level key → new key (see the module docstring); models add their own
RENAMED = {
    "image_size": "data.image_size", "load_size": "data.load_size", "resize_mode": "data.resize_mode",
    "channels": "data.channels", "skip_bad": "data.skip_bad", "flip": "data.flip",
    "toy_size": "data.embedded_size", "data_seed": "data.embedded_seed", "eval_count": "eval.samples",
}
CLASSIFIER_RENAMED = {**RENAMED, "classifier_epochs": "eval.classifier_epochs",
                      "classifier_images": "eval.classifier_images"}

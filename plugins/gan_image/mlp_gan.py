"""GAN: the original fully connected generative adversarial net (Goodfellow et al., 2014).

A generator ``z → 1024 → 1024 → 784`` (batch norm and ReLU, tanh output) against a discriminator
``784 → 256 → 256 → 1`` (LeakyReLU 0.2, dropout 0.5), trained with the non-saturating binary
cross-entropy objective — the classic MNIST baseline every later model is compared with.
"""

from __future__ import annotations

from dataclasses import dataclass

from gan.constraints import LearningRate, NonNegative, Positive, Probability
from typing import Literal

from .base import TINY, ImageGANConfig, ImageGANRecipe


@dataclass
class GANConfig(ImageGANConfig):
    steps: NonNegative = 30000  # generator updates (~32 MNIST epochs at batch 64)
    batch_size: Positive = 64  # images per discriminator step
    z_dim: int = 100  # noise dimension
    arch: Literal["mlp", "dcgan", "small-mnist"] = "mlp"  # fully connected nets
    init: Literal["dcgan", "default"] = "default"  # PyTorch's init: the paper predates DCGAN's N(0, 0.02)
    g_hidden: tuple[int, ...] = (1024, 1024)  # noise → 1024 → 1024 → image
    d_hidden: tuple[int, ...] = (256, 256)  # image → 256 → 256 → 1
    # MNIST, 3 epochs (1,404 steps at batch 128, seed 0, benchmarks/image_quality.py): without batch
    # norm in G and dropout in D the generator collapsed to 2 classes (FID 1268.8); batch norm in G
    # 679.5 (5 classes); with dropout 0.3 in D 504.1, 0.5 476.0 (6 classes). The paper trained D
    # with dropout; batch norm postdates it.
    g_norm: bool = True  # batch norm in G's hidden layers
    d_dropout: Probability = 0.5  # dropout after each of D's hidden layers (paper: dropout in D)
    loss: str = "non-saturating"  # BCE; the paper's practical generator objective (section 3)
    lr: LearningRate = 3e-4  # Adam
    betas: tuple[float, float] = (0.5, 0.999)  # Adam betas


class GAN(ImageGANRecipe):
    """Fully connected GAN (Goodfellow et al., 2014) on MNIST-sized images."""

    name = "gan"
    Config = GANConfig
    presets = {"tiny": TINY}

"""GAN: the original fully connected generative adversarial net (Goodfellow et al., 2014).

A generator ``z → 1024 → 1024 → 784`` (batch norm and ReLU, tanh output) against a discriminator
``784 → 512 → 512 → 1`` (LeakyReLU 0.2), trained with the non-saturating binary cross-entropy
objective — the classic MNIST baseline every later model is compared with. Not in the paper, and
measured in :class:`GANConfig`: an R1 penalty on D instead of the paper's dropout, and samples from
a generator EMA.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from gan import stabilisers as stab
from gan.constraints import LearningRate, NonNegative, Positive, Probability
from typing import Literal

from .base import TINY, ImageGANConfig, ImageGANRecipe


@dataclass
class GANConfig(ImageGANConfig):
    """MNIST, 3 epochs (1,404 steps at batch 128, FID against the 10,000 test images,
    ``benchmarks/image_quality.py``, seed 0): the fully connected nets learn slowly. Without batch
    norm in G and dropout in D the generator collapsed to 2 classes (FID 1268.8); batch norm in G
    679.5 (5 classes); dropout 0.5 in D (the paper's) 468–476 (6–8 classes). What held D back was
    the missing gradient control, not its size: R1 (Mescheder et al. 2018) at γ = 10 on D lets it be
    wider (512-512), drop the dropout and train at Adam 2e-3, and the generator EMA does the rest —
    FID 99.9 (10 classes, 3.26 bits) against 468.2 for the old default in the same run (EMA alone
    370.3; R1 alone 403.7; R1 + EMA at the old sizes and rate 323.8; without R1 the new sizes and
    rate gave 270.6 with the EMA). ``--preset classic`` restores the old settings."""

    steps: NonNegative = 30000  # generator updates (~32 MNIST epochs at batch 64)
    batch_size: Positive = 64  # images per discriminator step
    z_dim: int = 100  # noise dimension
    arch: Literal["mlp", "dcgan", "small-mnist"] = "mlp"  # fully connected nets
    init: Literal["dcgan", "default"] = "default"  # PyTorch's init: the paper predates DCGAN's N(0, 0.02)
    g_hidden: tuple[int, ...] = (1024, 1024)  # noise → 1024 → 1024 → image
    # image → 512 → 512 → 1. With R1: 256-256 gave 152.8, 1024-1024 98.9 at 1.8× the time (EMA scores)
    d_hidden: tuple[int, ...] = (512, 512)
    g_norm: bool = True  # batch norm in G's hidden layers (without it: 2 classes, see above)
    # the paper's D had dropout; with R1 it only slows D: 0.5 → 0.3 → 0 gave 197.1 → 168.1 → 118.1
    # (EMA scores, Adam 1e-3)
    d_dropout: Probability = 0.0
    loss: str = "non-saturating"  # BCE; the paper's practical generator objective (section 3)
    # Adam 3e-4 → 1e-3 → 2e-3 → 3e-3 with R1 and the new D: 99.9 at 2e-3, 100.8 at 3e-3 (EMA scores)
    lr: LearningRate = 2e-3
    betas: tuple[float, float] = (0.5, 0.999)  # Adam betas (β1 = 0, β2 = 0.99: 195.3)
    # R1 on D (not in the paper): γ 0.1 / 1 / 10 at the old D and rate 347.6 / 323.8 / 290.1; at the
    # new ones γ 10 / 20 99.9 / 110.0 (EMA scores)
    stabilise: stab.StabiliserConfig = field(default_factory=lambda: stab.StabiliserConfig(r1_gamma=10.0))


#: the settings before R1: the paper's dropout in a 256-256 D, Adam 3e-4, no penalty
CLASSIC = {"d_hidden": [256, 256], "d_dropout": 0.5, "lr": 3e-4, "stabilise.r1_gamma": 0.0}


class GAN(ImageGANRecipe):
    """Fully connected GAN (Goodfellow et al., 2014) on MNIST-sized images."""

    name = "gan"
    Config = GANConfig
    #: samples come from a warmed-up generator EMA (gan.ema; not in the paper): 117.3 → 99.9 at
    #: seed 0 (3 MNIST epochs); ``--set run.ema_decay=0`` samples the raw generator
    default_ema_decay = 0.99
    presets = {"tiny": TINY, "classic": CLASSIC}

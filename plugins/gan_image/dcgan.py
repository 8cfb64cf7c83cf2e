"""DCGAN: deep convolutional GAN (Radford, Metz & Chintala, 2015).

The architecture guidelines of the paper (section 3) are in :class:`gan_image.networks.DCGANGenerator`
and :class:`~gan_image.networks.DCGANDiscriminator`: strided convolutions instead of pooling, batch
norm in both nets, no fully connected hidden layers, ReLU/tanh in G, LeakyReLU in D, N(0, 0.02)
initialisation, Adam with lr 2e-4 and β1 = 0.5. The network depth follows the image size (28, 32,
64, ...). ``--preset small-mnist`` swaps in the compact MNIST nets of the InfoGAN paper (FC 1024 →
7×7×128 → two transposed convolutions).
"""

from __future__ import annotations

from dataclasses import dataclass

from gan.constraints import LearningRate, NonNegative, Positive

from .base import TINY, ImageGANConfig, ImageGANRecipe


@dataclass
class DCGANConfig(ImageGANConfig):
    steps: NonNegative = 20000  # generator updates (~43 MNIST epochs at batch 128)
    batch_size: Positive = 128  # paper: mini-batch SGD with batch 128
    z_dim: int = 100  # paper: 100-d uniform noise (Gaussian here, the common modern choice)
    lr: LearningRate = 2e-4  # paper: 0.001 was too high, 0.0002 used
    betas: tuple[float, float] = (0.5, 0.999)  # paper: β1 = 0.5 stabilised training


class DCGAN(ImageGANRecipe):
    """Deep convolutional GAN (Radford et al., 2015)."""

    name = "dcgan"
    Config = DCGANConfig
    presets = {
        "tiny": TINY,
        # LSUN bedrooms setup: 64×64, 1024 → 512 → 256 → 128 channels in G
        "paper": {"data.image_size": 64, "g_width": 128, "d_width": 128, "d_norm": "batch"},
        "small-mnist": {"arch": "small-mnist", "batch_size": 64, "d_norm": "batch", "d_joint": True},
    }

"""DCGAN: deep convolutional GAN (Radford, Metz & Chintala, 2015).

The architecture guidelines of the paper (section 3) are in :class:`gan_image.networks.DCGANGenerator`
and :class:`~gan_image.networks.DCGANDiscriminator`: strided convolutions instead of pooling, batch
norm in both nets, no fully connected hidden layers, ReLU/tanh in G, LeakyReLU in D, N(0, 0.02)
initialisation, Adam with lr 2e-4 and β1 = 0.5. The network depth follows the image size (28, 32,
64, ...). ``--preset small-mnist`` swaps in the compact MNIST nets of the InfoGAN paper (FC 1024 →
7×7×128 → two transposed convolutions).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from gan import stabilisers as stab
from gan.constraints import LearningRate, NonNegative, Positive

from .base import TINY, DNorm, ImageGANConfig, ImageGANRecipe


@dataclass
class DCGANConfig(ImageGANConfig):
    """Defaults that train well at small sizes (MNIST, 3 epochs at batch 128, FID against the 10,000
    test images on the evaluation classifier's features, ``benchmarks/image_quality.py``): the
    paper's all-convolutional nets with batch norm in D and N(0, 0.02) init scored FID 130.4, 2.2× a
    60-line tutorial DCGAN (60.2); doubling G's width 100.3, D's 130.5 (G is the bottleneck); spectral
    norm in D instead of batch norm 170.4. The compact nets (FC 1024 → 7·7·128 → two transposed
    convolutions; D two strided convolutions → FC 1024) without batch norm in D, PyTorch's default
    init, 96-d uniform noise and Adam 3e-4 scored 47.2 (seed 0), at parity with the tutorial over
    three seeds (0.91×). Three changes to the training, not the nets, then halved it: the hinge
    objective instead of the paper's cross-entropy, an R1 penalty of γ = 1 on D, and sampling from a
    generator EMA (decay 0.99, :attr:`DCGAN.default_ema_decay`): 19.3 / 23.0 / 23.7 at seeds 0/1/2
    against the tutorial's 59.1 / 42.6 / 71.6 (0.38× its mean; hinge alone 33.8 / 31.2 / 42.4, hinge
    and EMA 29.9 / 28.9 / 35.5, hinge and R1 26.4 / 26.9 / 31.8). The paper's setup stays available
    as ``--preset paper`` (with ``--set run.ema_decay=0`` for its raw generator); above 32 px
    ``arch=auto`` builds its all-convolutional nets."""

    steps: NonNegative = 20000  # generator updates (~43 MNIST epochs at batch 128)
    batch_size: Positive = 128  # paper: mini-batch SGD with batch 128
    arch: Literal["mlp", "dcgan", "small-mnist", "auto"] = "auto"  # compact nets ≤ 32 px (paper: all-conv "dcgan")
    d_norm: DNorm = "none"  # paper: batch norm in D (FID 130.4 vs 47.2, both before hinge, R1 and EMA)
    init: Literal["dcgan", "default"] = "default"  # PyTorch's own init (paper: N(0, 0.02))
    noise: Literal["normal", "uniform"] = "uniform"  # paper: uniform noise
    z_dim: int = 96  # paper: 100
    lr: LearningRate = 3e-4  # paper: 2e-4 (0.001 was too high)
    betas: tuple[float, float] = (0.5, 0.999)  # paper: β1 = 0.5 stabilised training
    # paper: non-saturating cross-entropy. Hinge (Lim & Ye 2017): FID 69.6 → 31.2 at seed 1 (3 MNIST
    # epochs); D stops pushing samples it already scores beyond the margin, and G's gradient
    # -D(G(z)) does not shrink as D grows confident
    loss: str = "hinge"
    # not in the paper: R1 (Mescheder et al. 2018) at γ = 1 on top of hinge, 31.2 → 26.9 at seed 1
    # (23.0 with the EMA), for about 1.4× the CPU time per step; paper presets set it to 0
    stabilise: stab.StabiliserConfig = field(default_factory=lambda: stab.StabiliserConfig(r1_gamma=1.0))


@dataclass
class PaperNetsConfig(DCGANConfig):
    """DCGAN's config with the paper's nets and settings (:data:`PAPER_NETS`), for the families built
    on it whose defaults were not re-measured with the compact nets (cGAN, AC-GAN)."""

    arch: Literal["mlp", "dcgan", "small-mnist", "auto"] = "dcgan"
    d_norm: DNorm = "batch"
    init: Literal["dcgan", "default"] = "dcgan"
    noise: Literal["normal", "uniform"] = "normal"
    z_dim: int = 100
    lr: LearningRate = 2e-4
    loss: str = "non-saturating"
    stabilise: stab.StabiliserConfig = field(default_factory=stab.StabiliserConfig)


#: The settings :class:`PaperNetsConfig` changes: the DCGAN paper's own choices (the ``paper`` preset)
PAPER_NETS = {**{k: getattr(PaperNetsConfig, k) for k in ("arch", "d_norm", "init", "noise", "z_dim", "lr", "loss")},
              "stabilise.r1_gamma": 0.0}


class DCGAN(ImageGANRecipe):
    """Deep convolutional GAN (Radford et al., 2015)."""

    name = "dcgan"
    Config = DCGANConfig
    #: samples come from a warmed-up generator EMA (gan.ema; not in the paper): FID 26.4 / 26.9 /
    #: 31.8 → 19.3 / 23.0 / 23.7 at seeds 0/1/2 (3 MNIST epochs); ``--set run.ema_decay=0`` turns it off
    default_ema_decay = 0.99
    presets = {
        "tiny": TINY,
        # LSUN bedrooms setup: 64×64, 1024 → 512 → 256 → 128 channels in G
        "paper": {**PAPER_NETS, "data.image_size": 64, "g_width": 128, "d_width": 128},
        "small-mnist": {"arch": "small-mnist", "batch_size": 64, "d_norm": "batch", "d_joint": True},
    }

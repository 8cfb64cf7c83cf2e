"""Class-conditional GANs: cGAN (Mirza & Osindero, 2014) and AC-GAN (Odena, Olah & Shlens, 2017).

cGAN feeds the one-hot class label to both networks: concatenated to the noise for G and, for D,
appended to the flattened input (MLP) or stacked as constant input planes (conv nets), so D judges
"is this a real image *of this class*".

AC-GAN feeds the label to G only; D gets an auxiliary classification head on its shared body and is
trained to maximise the log-likelihood of the correct class on real *and* generated images
(``L_C``) besides the adversarial objective (``L_S``); G maximises ``L_C`` too (paper, equations
2–3), so its samples must be recognisable as their class.

Both use DCGAN's networks and measured defaults; ``save_samples`` adds a grid with one row
per class.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from gan import stabilisers as stab
from gan.constraints import Positive

import torch
import torch.nn.functional as F
from torch import nn

from .base import TINY, Pass
from .dcgan import DCGAN, DCGANConfig, PAPER_NETS


@dataclass
class CGANConfig(DCGANConfig):
    """DCGAN's measured defaults (compact nets ≤ 32 px, no batch norm in D, uniform 96-d noise,
    Adam 3e-4) with the class fed to both nets. The paper (Mirza & Osindero, 2014) used MLPs with
    maxout and dropout; on MNIST at 3 epochs (1,404 steps, batch 128, seed 0,
    ``benchmarks/image_quality.py``) these defaults scored FID 10.65 (0.18× the tutorial DCGAN's
    60.2; 10 classes, 3.31 bits); DCGAN's paper nets stay available as ``--preset paper-nets``. It
    keeps the paper's cross-entropy objective and raw generator (DCGAN's hinge, R1 and EMA were measured
    on DCGAN only)."""

    loss: str = "non-saturating"  # the paper's objective
    stabilise: stab.StabiliserConfig = field(default_factory=stab.StabiliserConfig)  # no R1 (as measured)


class CGAN(DCGAN):
    """Conditional GAN: G(z, y) and D(x, y) both see the one-hot class."""

    name = "cgan"
    Config = CGANConfig
    default_ema_decay = None
    presets = {"tiny": TINY, "small-mnist": DCGAN.presets["small-mnist"], "paper-nets": PAPER_NETS}
    label_conditioned_g = True
    label_conditioned_d = True


@dataclass
class ACGANConfig(DCGANConfig):
    """DCGAN's measured defaults with the auxiliary classifier. On MNIST at 3 epochs (1,404 steps
    at batch 128, seed 0, ``benchmarks/image_quality.py``): FID 7.72 (0.13× the tutorial DCGAN's
    60.2; 10 classes, 3.32 bits). The paper's ImageNet/CIFAR nets are far larger; DCGAN's paper
    nets stay available as ``--preset paper-nets``. The paper's cross-entropy objective and raw
    generator, as measured (DCGAN's hinge, R1 and EMA were measured on DCGAN only)."""

    loss: str = "non-saturating"  # the paper's objective (source and class log-likelihoods)
    stabilise: stab.StabiliserConfig = field(default_factory=stab.StabiliserConfig)  # no R1 (as measured)
    batch_size: Positive = 100  # paper (appendix: batch 100)
    cls_weight: float = 1.0  # weight of the auxiliary class log-likelihood L_C


class ACGAN(DCGAN):
    """Auxiliary-classifier GAN: G(z, y); D(x) → (real/fake score, class logits)."""

    name = "acgan"
    Config = ACGANConfig
    default_ema_decay = None
    presets = {"tiny": TINY, "small-mnist": DCGAN.presets["small-mnist"], "paper-nets": PAPER_NETS}
    label_conditioned_g = True

    def add_heads(self, d: nn.Module) -> None:
        d.heads["cls"] = nn.Linear(d.feature_dim, self.num_classes)

    def d_terms(self, p: Pass) -> dict[str, torch.Tensor]:
        cls_r, cls_f = p.out_real["cls"].float(), p.out_fake["cls"].float()
        p.logs["real_accuracy"] = (cls_r.detach().argmax(1) == p.labels).float().mean()
        ce = F.cross_entropy(cls_r, p.labels) + F.cross_entropy(cls_f, p.latent["y"])
        return {"cls": self.config.cls_weight * ce}

    def g_terms(self, p: Pass) -> dict[str, torch.Tensor]:
        cls_f = p.out_fake["cls"].float()
        p.logs["fake_accuracy"] = (cls_f.detach().argmax(1) == p.latent["y"]).float().mean()
        return {"cls": self.config.cls_weight * F.cross_entropy(cls_f, p.latent["y"])}

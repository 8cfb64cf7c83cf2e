"""InfoGAN: interpretable representations by maximising mutual information (Chen et al., 2016).

The generator input is split into incompressible noise ``z`` and structured latent codes ``c``: one
categorical code (10 values on MNIST) and continuous codes ``~ U(-1, 1)``. A head ``Q`` on the
discriminator's body predicts the codes from a generated image; maximising the variational lower
bound ``L_I(G, Q) = E[log Q(c | G(z, c))] + H(c)`` of the mutual information ``I(c; G(z, c))`` makes
the codes control visible factors (digit class, slant, width) without any labels.

``L_I`` is minimised (as ``-L_I``, up to the constant ``H(c)``) by Q in the discriminator phase
(Q shares D's body, so they train together) and by G in the generator phase, as in the paper. The
categorical term is a cross-entropy; continuous codes use a factored Gaussian ``Q(c|x)`` with a
predicted mean and log-standard-deviation. Defaults are the paper's MNIST setup (appendix C.1):
62 noise dimensions, the small MNIST nets, lr 2e-4 for D and 1e-3 for G, λ = 1.

``save_samples`` adds the paper's figure-2 grids: one row per categorical value, and one
traversal grid per continuous code (−2 … 2 along the columns, beyond the training range).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

from gan.constraints import LearningRate, NonNegative, Positive
from gan import GanError

from .base import DNorm, FIXED_NOISE_SEED, TINY, ImageGANConfig, ImageGANRecipe, Pass
from .networks import norm_layer


@dataclass
class InfoGANConfig(ImageGANConfig):
    steps: NonNegative = 20000  # generator updates
    batch_size: Positive = 64  # images per discriminator step
    z_dim: int = 62  # incompressible noise (paper, MNIST)
    arch: Literal["mlp", "dcgan", "small-mnist"] = "small-mnist"  # paper's MNIST nets
    d_norm: DNorm = "batch"  # paper's MNIST D: batch norm after conv 2 and FC
    d_joint: bool = True  # real and fake share D's batch statistics (so batch norm hides no difference)
    categorical: int = 10  # values of the categorical code (0 = none)
    continuous: int = 2  # continuous codes ~ U(-1, 1)
    info_weight: float = 1.0  # λ for the categorical term (paper: 1)
    cont_weight: float = 0.1  # λ for the continuous terms (paper: smaller than for discrete codes)
    q_hidden: int = 128  # Q head: FC 128 → codes (paper)
    lr: LearningRate = 2e-4  # discriminator (paper)
    g_lr: LearningRate | None = 1e-3  # generator (paper)
    betas: tuple[float, float] = (0.5, 0.999)  # Adam betas


class InfoGAN(ImageGANRecipe):
    """GAN whose latent codes are made interpretable by a mutual-information term."""

    name = "infogan"
    Config = InfoGANConfig
    presets = {"tiny": {**TINY, "q_hidden": 8, "categorical": 3}}

    def generator_input_dim(self) -> int:
        c = self.config
        if c.categorical < 0 or c.continuous < 0 or c.categorical + c.continuous == 0:
            raise GanError(f"infogan needs at least one latent code (categorical={c.categorical}, "
                           f"continuous={c.continuous})")
        if c.categorical == 1:
            raise GanError("--set categorical=1: a one-valued code carries no information; use 0 or >= 2")
        return c.z_dim + c.categorical + c.continuous

    def add_heads(self, d: nn.Module) -> None:
        c = self.config
        d.heads["q"] = nn.Sequential(nn.Linear(d.feature_dim, c.q_hidden, bias=c.d_norm in ("none", "spectral")),
                                     norm_layer(c.d_norm, c.q_hidden, 1), nn.LeakyReLU(0.2, inplace=True),
                                     nn.Linear(c.q_hidden, c.categorical + 2 * c.continuous))

    def latent(self, n, labels=None, generator=None) -> dict[str, torch.Tensor]:
        c = self.config
        out = {"z": self.noise(n, c.z_dim, generator)}
        if c.categorical:
            out["c"] = self._draw(torch.randint, c.categorical, (n,), generator=generator)
        if c.continuous:
            out["u"] = self._draw(torch.rand, n, c.continuous, generator=generator) * 2 - 1
        return out

    def generator_input(self, latent: dict[str, torch.Tensor]) -> torch.Tensor:
        parts = [latent["z"]]
        if "c" in latent:
            parts.append(F.one_hot(latent["c"], self.config.categorical).float())
        if "u" in latent:
            parts.append(latent["u"])
        return torch.cat(parts, 1)

    def info_terms(self, p: Pass) -> dict[str, torch.Tensor]:
        """``-L_I`` split into its categorical (cross-entropy) and continuous (Gaussian NLL) parts."""
        c = self.config
        q = p.out_fake["q"].float()
        k, m = c.categorical, c.continuous
        terms = {}
        if k:
            logits = q[:, :k]
            terms["info_cat"] = c.info_weight * F.cross_entropy(logits, p.latent["c"])
            p.logs["code_accuracy"] = (logits.detach().argmax(1) == p.latent["c"]).float().mean()
        if m:
            mean, log_std = q[:, k:k + m], q[:, k + m:].clamp(-5, 5)
            nll = 0.5 * ((p.latent["u"] - mean) * torch.exp(-log_std)).square() + log_std
            terms["info_cont"] = c.cont_weight * nll.sum(1).mean()
        return terms

    d_terms = info_terms
    g_terms = info_terms

    def sample_grids(self) -> dict[str, tuple[torch.Tensor, int]]:
        c = self.config
        grids = super().sample_grids()
        g = torch.Generator().manual_seed(FIXED_NOISE_SEED + 2)
        rows = max(1, c.categorical)
        if c.categorical:  # row = categorical value, column = noise vector
            lat = self.latent(8, generator=g)
            lat = {k: v.repeat(rows, *([1] * (v.dim() - 1))) for k, v in lat.items()}
            lat["c"] = torch.arange(rows, device=self.device).repeat_interleave(8)
            if "u" in lat:
                lat["u"].zero_()
            grids["categories"] = (self.generate_eval(lat), 8)
        steps = torch.linspace(-2, 2, 8, device=self.device)
        base = self.latent(1, generator=g)
        for i in range(c.continuous):  # row = categorical value, column = code i from -2 to 2
            lat = {k: v.repeat(rows * 8, *([1] * (v.dim() - 1))) for k, v in base.items()}
            if c.categorical:
                lat["c"] = torch.arange(rows, device=self.device).repeat_interleave(8)
            lat["u"] = torch.zeros(rows * 8, c.continuous, device=self.device)
            lat["u"][:, i] = steps.repeat(rows)
            grids[f"traversal-u{i + 1}"] = (self.generate_eval(lat), 8)
        return grids

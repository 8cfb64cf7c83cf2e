"""Wasserstein GANs: WGAN (Arjovsky, Chintala & Bottou, 2017) and WGAN-GP (Gulrajani et al., 2017).

The critic has no sigmoid and estimates the Wasserstein-1 distance ``E f(x) - E f(G(z))`` over
1-Lipschitz functions; it takes ``n_critic = 5`` steps per generator step so the estimate is close
to optimal when G follows its gradient.

* WGAN keeps ``f`` Lipschitz by clipping every critic weight to ``[-c, c]`` (c = 0.01) after each
  critic update (Algorithm 1) and uses RMSprop (lr 5e-5): momentum-based optimisers were unstable.
* WGAN-GP replaces clipping with a penalty ``λ (||∇f(x̂)|| - 1)²`` on random interpolates between
  real and fake samples (λ = 10), with Adam (lr 1e-4, β = (0, 0.9)). Batch norm would couple the
  samples of a batch and invalidate the per-sample gradient norm, so the critic uses layer norm.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch

from gan.constraints import LearningRate, NonNegative, Positive
from gan import GanError

from .base import DNorm, TINY, ImageGANConfig, ImageGANRecipe, Pass


@dataclass
class WGANConfig(ImageGANConfig):
    steps: NonNegative = 20000  # generator updates
    batch_size: Positive = 64  # paper (Algorithm 1: m = 64)
    loss: str = "wasserstein"  # critic objective E f(G(z)) - E f(x)
    optimizer: Literal["adam", "rmsprop"] = "rmsprop"  # paper: RMSprop, momentum made training unstable
    lr: LearningRate = 5e-5  # paper (Algorithm 1: α = 0.00005)
    n_critic: int = 5  # critic iterations per generator iteration (paper)
    clip: float = 0.01  # weight clipping bound c (paper)
    # paper: the DCGAN critic with batch norm. Kept (unlike the shared default, see
    # ImageGANConfig.d_norm): with clipped weights batch norm is what keeps the critic's activations
    # from shrinking; not yet measured against d_norm=none or d_joint=true
    d_norm: DNorm = "batch"


def log_wasserstein_estimate(p: Pass) -> None:
    """``E f(x) - E f(G(z))``: the critic's estimate of W1, the curve worth watching (paper, fig. 3)."""
    p.logs["wasserstein"] = p.out_real["adv"].detach().mean() - p.out_fake["adv"].detach().mean()


class WGAN(ImageGANRecipe):
    """Wasserstein GAN with weight clipping."""

    name = "wgan"
    Config = WGANConfig
    presets = {"tiny": TINY}

    def build_optimizers(self) -> None:
        super().build_optimizers()
        from gan.losses import clip_weights
        critic, c = self.models["D"], self.config.clip
        if c <= 0:
            raise GanError(f"--set clip={c}: expected a positive clipping bound")
        clip_weights(critic, c)  # the critic starts inside the compact set too
        # Algorithm 1 clips after *every* critic update, so the clip rides on the optimizer step
        # (the trainer owns stepping; n_critic updates happen within one trainer step).
        self.optimizers["D"].register_step_post_hook(lambda opt, args, kwargs: clip_weights(critic, c))

    def d_terms(self, p: Pass) -> dict[str, torch.Tensor]:
        log_wasserstein_estimate(p)
        return {}


@dataclass
class WGANGPConfig(ImageGANConfig):
    steps: NonNegative = 20000  # generator updates
    batch_size: Positive = 64  # paper (Algorithm 1: m = 64)
    loss: str = "wasserstein"  # critic objective E f(G(z)) - E f(x)
    d_norm: DNorm = "layer"  # no batch norm in the critic (paper, section 4)
    lr: LearningRate = 1e-4  # paper (Algorithm 1: α = 0.0001)
    betas: tuple[float, float] = (0.0, 0.9)  # paper (β1 = 0, β2 = 0.9)
    n_critic: int = 5  # critic iterations per generator iteration (paper)
    gp_weight: float = 10.0  # gradient penalty coefficient λ (paper)


class WGANGP(ImageGANRecipe):
    """Wasserstein GAN with gradient penalty."""

    name = "wgan-gp"
    Config = WGANGPConfig
    presets = {"tiny": TINY}

    def d_terms(self, p: Pass) -> dict[str, torch.Tensor]:
        from gan.losses import gradient_penalty
        # torch.compile'd graphs support no double backward: the penalty runs the eager module
        d = getattr(self.nets.D, "_orig_mod", self.nets.D)
        gp = gradient_penalty(lambda x: d(x)["adv"], p.real, p.fake, weight=self.config.gp_weight)
        log_wasserstein_estimate(p)
        return {"gp": gp}

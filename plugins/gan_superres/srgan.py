"""SRGAN: photo-realistic ×4 super-resolution with an adversarial loss (Ledig et al., CVPR 2017).

Pixel-MSE training (SRResNet) finds the *average* of all HR images consistent with an LR input —
the PSNR-optimal answer, and a blurred one. SRGAN adds a discriminator that tells super-resolved
images from real HR crops, pushing the generator towards one sharp, plausible answer on the natural
image manifold instead. The generator's perceptual loss (eq. 3) is::

    l_SR = l_X + 10⁻³ · l_Gen,     l_Gen = Σ -log D(G(I_LR))        (non-saturating)

with the content loss ``l_X`` either pixel MSE ("SRGAN-MSE") or the MSE of VGG19 φ5,4 features
rescaled by 1/12.75 ("SRGAN-VGG54", the paper's headline model) when ``--set vgg_weights=PATH``
names a local VGG19 file.

As in the paper (§3.2) the generator starts from a trained SRResNet "to avoid undesired local
optima": ``--set init_from=RUN_DIR`` (an ``srresnet`` run directory or checkpoint file). The GAN is
then trained for 10⁵ updates at learning rate 1e-4 and 10⁵ more at 1e-5, alternating one D and
one G update (k = 1).

Discriminator (Figure 4): eight 3×3 conv layers, 64 → 512 kernels doubling every two layers, with
stride 2 wherever the number of features doubles (four strided layers in all; the first conv has
no BN), LeakyReLU(0.2), then dense 1024 · LeakyReLU · dense 1 (the sigmoid lives in the loss).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from gan import stabilisers as stab
from gan.constraints import LearningRate, NonNegative
from gan.errors import GanError
from gan.health import d_stats
from gan.losses import get_loss
from gan.optim import make_optimizer
from gan.protocols import LossOutput, Phase, Stage

from . import srresnet
from .common import SRRecipe
from .srresnet import SRResNetGenerator


class SRGANDiscriminator(nn.Module):
    """The paper's D for ``image_size``² inputs: 8 conv layers (4 strided), dense 1024 → 1 logit."""

    def __init__(self, channels: int = 3, image_size: int = 96, ndf: int = 64, dense: int = 1024,
                 slope: float = 0.2) -> None:
        super().__init__()
        # (out width multiplier, stride) of conv layers 2..8; layer 1 is ndf, stride 1, no BN
        plan = [(1, 2), (2, 1), (2, 2), (4, 1), (4, 2), (8, 1), (8, 2)]
        layers: list[nn.Module] = [nn.Conv2d(channels, ndf, 3, padding=1), nn.LeakyReLU(slope)]
        width, side = ndf, image_size
        for mult, stride in plan:
            layers += [nn.Conv2d(width, ndf * mult, 3, stride, padding=1), nn.BatchNorm2d(ndf * mult),
                       nn.LeakyReLU(slope)]
            width, side = ndf * mult, (side + stride - 1) // stride
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Sequential(nn.Flatten(), nn.Linear(width * side * side, dense),
                                        nn.LeakyReLU(slope), nn.Linear(dense, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x))


@dataclass
class Config(srresnet.Config):
    steps: NonNegative = 200_000  # GAN updates (paper: 10⁵ at lr 1e-4, then 10⁵ at 1e-5)
    lr: LearningRate = 1e-4  # Adam learning rate of G and D (paper)
    decay_every: int = 100_000  # every this many updates the lr drops ×0.1 (paper: 10⁵ → 1e-5)
    adv_weight: float = 1e-3  # weight of the adversarial term in the perceptual loss (paper: 10⁻³)
    ndf: int = 64  # D's first-layer kernels (paper: 64, doubling to 512)
    d_dense: int = 1024  # D's dense layer (paper: 1024)
    d_slope: float = 0.2  # LeakyReLU slope (paper: α = 0.2)
    gan_loss: str = "non-saturating"  # paper: BCE for D, -log D(G(x)) for G
    init_from: str = ""  # SRResNet run dir or checkpoint to start G from (paper: trained SRResNet)
    vgg_weights: str = ""  # local VGG19 weights → VGG54 content loss; empty: pixel MSE (SRGAN-MSE)
    vgg_rescale: float = 1 / 12.75  # φ5,4 feature scaling (paper: 1/12.75)
    stabilise: stab.StabiliserConfig = field(default_factory=stab.StabiliserConfig)  # gan.stabilisers


TINY = {**srresnet.TINY, "ndf": 8, "d_dense": 16, "decay_every": 2}
CPU = {**srresnet.CPU, "steps": 600, "lr": 1e-4, "decay_every": 300, "ndf": 16, "d_dense": 128}
PAPER = {**srresnet.PAPER, "steps": 200_000, "lr": 1e-4, "decay_every": 100_000, "adv_weight": 1e-3,
         "ndf": 64, "d_dense": 1024}


def _generator_weights(source: str, expect: nn.Module) -> dict[str, torch.Tensor]:
    """G's weights from an SRResNet (or SRGAN) run directory or checkpoint, checked against ``expect``."""
    from gan.checkpoint import CheckpointManager, load_checkpoint
    key = f"--set init_from={source}"
    p = Path(source).expanduser()
    if p.is_dir():
        latest = CheckpointManager(p / "checkpoints").latest()
        if latest is None:
            raise GanError(f"{key}: no checkpoint in {p / 'checkpoints'} (expected an srresnet run directory)")
        state = latest[1]
    elif p.is_file():
        state = load_checkpoint(p)
    else:
        raise GanError(f"{key}: no such run directory or checkpoint file")
    if state.get("model") not in ("srresnet", "srgan"):
        raise GanError(f"{key}: holds a {state.get('model')!r} run; expected srresnet (or srgan)")
    weights = state["models"].get("G", {})
    mine = expect.state_dict()
    bad = [k for k in mine if k not in weights or weights[k].shape != mine[k].shape]
    if bad or set(weights) - set(mine):
        raise GanError(f"{key}: its generator does not match this config (n_blocks, width, scale, channels "
                       f"must equal the SRResNet run's; first difference: {(bad or sorted(set(weights) - set(mine)))[0]})")
    return weights


class SRGAN(SRRecipe):
    """SRGAN (Ledig et al. 2017): SRResNet generator + 8-conv discriminator, content + 10⁻³·adversarial."""

    name = "srgan"
    Config = Config
    presets = {"tiny": TINY, "cpu": CPU, "paper": PAPER}

    def __init__(self, config: Config, device: torch.device | str = "cpu", data: Any = None, run: Any = None) -> None:
        super().__init__(config, device, data, run)
        c = config
        if c.adv_weight < 0:
            raise GanError(f"--set adv_weight={c.adv_weight}: expected 0 or more")
        g = SRResNetGenerator(c.data.channels, c.width, c.n_blocks, c.scale, c.global_skip)
        self._init_error: GanError | None = None
        if c.init_from:
            try:
                g.load_state_dict(_generator_weights(c.init_from, g))
            except GanError as e:
                if Path(c.init_from).expanduser().exists():
                    raise
                # Reopening a finished run (gan eval/sample/translate) or resuming one needs no
                # SRResNet: its own checkpoint holds G. Only a fresh start fails, at its first batch.
                self._init_error = e
        self.models["G"] = g.to(self.device)
        self.models["D"] = SRGANDiscriminator(c.data.channels, c.data.image_size, c.ndf, c.d_dense, c.d_slope).to(self.device)
        self.content: nn.Module | None = None  # frozen, not in self.models: never checkpointed
        if c.vgg_weights:
            from .vgg_loss import VGG54Loss
            self.content = VGG54Loss(c.vgg_weights, c.vgg_rescale).to(self.device)
        self.adv = get_loss(c.gan_loss, registry=self.registries.get("loss"))
        betas = (c.beta1, c.beta2)
        self.optimizers["G"] = make_optimizer(self.models["G"], c.lr, betas)
        self.optimizers["D"] = make_optimizer(self.models["D"], c.lr, betas)
        stab.require_applicable(c.stabilise, self.name, {k: "not wired for SRGAN" for k in (
            "minibatch_discrimination", "minibatch_stddev", "feature_matching", "unrolled_steps", "pack")})
        stab.scale_lr(self.optimizers["D"], c.stabilise.d_lr_scale)
        self.add_step_decay("G")
        self.add_step_decay("D")

    def next_batch(self, stage: Any, phase: Any) -> tuple[torch.Tensor, torch.Tensor]:
        if self._init_error is not None:
            raise self._init_error
        return super().next_batch(stage, phase)

    def load_extra_state(self, state: dict[str, Any]) -> None:
        super().load_extra_state(state)
        self._init_error = None  # resumed: G comes from this run's checkpoint

    def phases(self, stage: Stage) -> list[Phase]:
        return [Phase("D", "D", "D", loss=self.d_loss), Phase("G", "G", "G", fresh_batch=False, loss=self.g_loss)]

    def d_loss(self, batch: Any, step: int, scratch: dict[str, Any]) -> LossOutput:
        lr, hr = batch
        n = self.nets
        with torch.no_grad():
            fake = n.G(lr)
        s = self.config.stabilise
        sigma = stab.instance_noise_std(s, step, self.config.steps)
        hr, fake = stab.add_instance_noise(hr, sigma), stab.add_instance_noise(fake, sigma)
        d_real, d_fake = n.D(hr), n.D(fake)
        loss = stab.d_loss(self.adv, s, d_real, d_fake)
        logs = {"real": torch.sigmoid(d_real).detach().mean(), "fake": torch.sigmoid(d_fake).detach().mean(),
                **d_stats(d_real, d_fake, self.adv)}
        pens = stab.penalties(s, n.D, hr, fake)
        logs.update(pens)
        return LossOutput(loss + sum(pens.values()), logs)

    def g_loss(self, batch: Any, step: int, scratch: dict[str, Any]) -> LossOutput:
        lr, hr = batch
        n = self.nets
        fake = n.G(lr)
        content = self.content(fake, hr) if self.content is not None else F.mse_loss(fake, hr)
        sigma = stab.instance_noise_std(self.config.stabilise, step, self.config.steps)
        adv = self.adv.g_loss(n.D(stab.add_instance_noise(fake, sigma)))
        return LossOutput(content + self.config.adv_weight * adv,
                          {"content": content.detach(), "adv": adv.detach()})


__all__ = ["SRGANDiscriminator", "Config", "SRGAN"]

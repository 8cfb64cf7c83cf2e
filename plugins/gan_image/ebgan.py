"""EBGAN: energy-based GAN (Zhao, Mathieu & LeCun, 2017).

The discriminator is an auto-encoder whose reconstruction error is an energy: low on real data, high
elsewhere. With margin ``m`` the losses are (paper, equations 1–2)::

    L_D = D(x) + [m - D(G(z))]⁺          L_G = D(G(z)) + λ_PT · PT(S)

``PT`` is the pull-away term on the encoder codes ``S`` of a generated batch: the mean squared
cosine similarity between distinct samples, which pushes the generator away from emitting one
mode. The energy here is the per-pixel mean squared error on ``[-1, 1]`` images, so ``m`` is on that
scale (the worst possible energy is 4; papers that sum squared errors over pixels quote margins
hundreds of times larger). Real digits settle near 0.05; with ``m = 0.2`` digits form within ~600
steps on the embedded set, while ``m = 0.5`` or more let the auto-encoder win and G collapse.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch

from gan.constraints import LearningRate, NonNegative, Positive
from gan import GanError, LossOutput
from gan.modes import eval_mode

from .base import DNorm, TINY, UNSUPPORTED_BY_CUSTOM_LOSSES, ImageGANConfig, ImageGANRecipe
from .networks import AutoEncoderDiscriminator, build_generator


@dataclass
class EBGANConfig(ImageGANConfig):
    """The paper's image setup is a DCGAN generator against the auto-encoder. At 3 MNIST epochs
    (1,404 steps at batch 128, seed 0, ``benchmarks/image_quality.py``) the all-convolutional G with
    N(0, 1) noise of 100, N(0, 0.02) init and Adam 2e-4 scored FID 165.3, 2.7× the plain tutorial
    DCGAN (60.2). With DCGAN's compact G at ≤ 32 px and U(-1, 1) noise of 96: 70.1 at Adam 2e-4,
    54.5 with PyTorch's init too, 43.6 at 3e-4, 43.4 with both (the default; seeds 1, 2: 47.2, 45.3
    against the tutorial's 42.6, 71.6). PyTorch's init is what keeps it training on small sets:
    narrow nets (width 32) on the embedded digits went from FID ×1.03 (grey noise) to ×10.4 in 600
    steps. On 32-px colour digits the N(0, 1) noise sent every G black. ``arch`` chooses G only;
    D is always the auto-encoder. ``--preset paper-nets`` restores the previous setup."""

    steps: NonNegative = 20000  # generator updates
    batch_size: Positive = 64  # images per discriminator step
    arch: Literal["mlp", "dcgan", "small-mnist", "auto"] = "auto"  # G: compact nets ≤ 32 px, all-conv above
    noise: Literal["normal", "uniform"] = "uniform"  # U(-1, 1), as DCGAN's
    z_dim: int = 96
    init: Literal["dcgan", "default"] = "default"  # PyTorch's init (N(0, 0.02): see above)
    loss: str = "energy"  # EBGAN's own margin objective (other losses do not apply to energies)
    margin: float = 0.2  # m: fakes are pushed up to this energy (per-pixel MSE on [-1, 1] images)
    pt_weight: float = 0.1  # λ_PT, weight of the pull-away term (paper)
    code_dim: int = 32  # auto-encoder bottleneck units
    # Batch norm in the auto-encoder stalled training here (gray samples after 600 steps on the
    # digits); without normalisation digits form within a few hundred steps.
    d_norm: DNorm = "none"
    lr: LearningRate = 3e-4  # Adam (2e-4: FID 70.1 against 43.6, see above)
    betas: tuple[float, float] = (0.5, 0.999)  # Adam betas


#: the ``paper-nets`` preset: the all-convolutional DCGAN G with N(0, 1) noise, N(0, 0.02) init, Adam 2e-4
#: (the default before it was measured; not dcgan.PAPER_NETS, which also sets D's batch norm)
PAPER_G = {"arch": "dcgan", "noise": "normal", "z_dim": 100, "init": "dcgan", "lr": 2e-4}


def pull_away_term(codes: torch.Tensor) -> torch.Tensor:
    """``1/(N(N-1)) Σ_{i≠j} cos²(s_i, s_j)`` over a batch of codes ``(N, F)``."""
    s = torch.nn.functional.normalize(codes.float().flatten(1), dim=1)
    n = s.shape[0]
    sim = (s @ s.T).square()
    return (sim.sum() - sim.diagonal().sum()) / (n * (n - 1))


class EBGAN(ImageGANRecipe):
    """Energy-based GAN with an auto-encoder discriminator and the pull-away term."""

    name = "ebgan"
    Config = EBGANConfig
    presets = {"tiny": TINY, "paper-nets": PAPER_G}
    unsupported_stabilisers = {k: "EBGAN's discriminator is an auto-encoder scored by energies"
                               for k in UNSUPPORTED_BY_CUSTOM_LOSSES}

    def build_loss(self) -> None:
        if self.config.loss != "energy":
            raise GanError(f"--set loss={self.config.loss!r}: ebgan trains on reconstruction energies "
                           f"with its margin objective; only loss=energy applies (tune margin/pt_weight)")
        if self.config.margin <= 0:
            raise GanError(f"--set margin={self.config.margin}: expected a positive energy margin")
        return None

    def build_models(self) -> None:
        c = self.config
        self.models["G"] = build_generator(self.arch if c.g_arch == "same" else c.g_arch, c.z_dim, self.image_shape, width=c.g_width, hidden=c.g_hidden)
        self.models["D"] = AutoEncoderDiscriminator(self.image_shape, c.d_width, c.d_norm, c.code_dim)

    def discriminate(self, images, labels, d) -> dict[str, torch.Tensor]:
        return d(images)

    def d_loss(self, real: torch.Tensor, labels: torch.Tensor) -> LossOutput:
        with torch.no_grad():
            fake = self.generate(self.latent(real.shape[0]), self.nets.G)
        out_r, out_f = self.discriminate_pair(real, None, fake, None, self.nets.D)
        e_real, e_fake = out_r["energy"], out_f["energy"]
        loss = e_real.mean() + torch.relu(self.config.margin - e_fake).mean()
        return LossOutput(loss, {"energy_real": e_real.detach().mean(), "energy_fake": e_fake.detach().mean()})

    def g_loss(self, real: torch.Tensor, labels: torch.Tensor) -> LossOutput:
        fake = self.generate(self.latent(real.shape[0]), self.nets.G)
        out = self.discriminate_fake(real, None, fake, None, self.nets.D)
        e_fake = out["energy"].mean()
        pt = pull_away_term(out["code"])
        loss = e_fake + self.config.pt_weight * pt
        return LossOutput(loss, {"energy_fake": e_fake.detach(), "pull_away": pt.detach()})

    @torch.no_grad()
    def score(self, images: torch.Tensor, latent: dict[str, torch.Tensor] | None = None) -> torch.Tensor:
        """Negative energy: the images the auto-encoder reconstructs best look most real to it."""
        d, bs = self.models["D"], self.config.eval.batch_size
        with eval_mode(d):
            return torch.cat([-d(images[i:i + bs].to(self.device))["energy"].float().cpu()
                              for i in range(0, images.shape[0], bs)])

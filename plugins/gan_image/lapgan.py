"""LAPGAN: a Laplacian pyramid of GANs (Denton, Chintala, Szlam & Fergus, 2015).

An image ``I`` is split into a pyramid: ``I_{k-1} = d(I_k)`` (2× downsampling) and the band-pass
residuals ``h_k = I_k - u(I_{k-1})`` (``u`` upsamples 2×). Level 0 is an ordinary GAN on the
coarsest image (noise → ``I_0``); every finer level k is a *conditional* GAN whose generator turns
noise plus the upsampled coarser image ``l_k = u(I_{k-1})`` into a residual ``h̃_k``, judged by a
discriminator that sees ``(h_k, l_k)``. Levels are trained independently on the real pyramid (the
paper's procedure); sampling chains them coarse to fine, ``Ĩ_k = l_k + G_k(z_k, l_k)``.

The coarsest level is a small MLP GAN as in the paper's CIFAR-10 model (G 1200-1200, D 600-600 with
dropout 0.5); its generator has batch norm, without which it collapsed to a single coarse image
within a few hundred steps here.

All level generators live in one module ``G`` (and discriminators in ``D``) so the usual two phases
train every level at once, EMA covers the whole pyramid, and each level's loss is logged apart
(``D/level1``, ...). The paper's CIFAR-10 model has three levels (8 → 16 → 32, ``--preset paper``);
the default has two (14 → 28 on MNIST, 16 → 32 on CIFAR-sized images): see :class:`LAPGANConfig`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
import torch.nn.functional as F

from gan.constraints import LearningRate, NonNegative, Positive, Probability
from gan import GanError, LossOutput
from gan.modes import eval_mode
from gan import stabilisers as stab

from .base import TINY, UNSUPPORTED_BY_CUSTOM_LOSSES, ImageGANConfig, ImageGANRecipe
from .networks import LaplacianDiscriminator, LaplacianGenerator, downsample, upsample


@dataclass
class LAPGANConfig(ImageGANConfig):
    """MNIST, 3 epochs (1,404 steps at batch 128, FID against the 10,000 test images,
    ``benchmarks/image_quality.py``; per-level figures from ``benchmarks/lapgan_levels.py``, 600
    steps, 2,000 samples): the paper's three levels (7 → 14 → 28 here) scored FID 536 (4 classes).
    Scored level by level, the middle refiner made most of the error: run on *real* 7×7 images the
    refiners reached only 317–385, while the last refiner alone on real 14×14 images reached 64–77.
    A 7×7 blur does not decide which digit it is, so the 7 → 14 refiner must make that choice from a
    per-pixel noise plane, and makes speckle instead. With two levels (14 → 28) the coarsest level
    holds the digit and the refiner only sharpens it: on real 14×14 images it scores 49.6 (the real
    images themselves 32.7), and the whole chain 295.4 against 519.4 for three levels at the same
    settings. What is left is the coarsest MLP GAN, which trains like :class:`~gan_image.mlp_gan.GAN`:
    R1 at γ = 10 on every level's D (Mescheder et al. 2018; not in the paper), no dropout in the
    coarsest D, Adam 1e-3 and samples from a generator EMA (chain 237.1 at 600 steps). At 3 epochs:
    196.97 (raw generator 210.87; 10 classes, 3.18 bits) against 535.96 (4 classes) for the paper's
    setup and the tutorial reference's 59.07 — better, not yet good: the coarsest MLP GAN's samples
    are speckled. ``--preset paper`` restores three levels, dropout 0.5, Adam 2e-4 and no R1."""

    steps: NonNegative = 20000  # generator updates
    batch_size: Positive = 64  # images per discriminator step
    # pyramid levels: 2 = 14 → 28 on MNIST, 16 → 32 on CIFAR-sized images (paper: 3, 8 → 16 → 32)
    levels: int = 2
    z_dim: int = 100  # noise of the coarsest level (finer levels get one noise plane each)
    g_hidden: tuple[int, ...] = (1200, 1200)  # coarsest generator MLP (paper, CIFAR-10 8×8 level)
    d_hidden: tuple[int, ...] = (600, 600)  # coarsest discriminator MLP (paper)
    d_dropout: Probability = 0.0  # dropout in the coarsest discriminator MLP (paper: 0.5; R1 instead)
    g_width: int = 64  # feature maps of the residual generators
    d_width: int = 64  # feature maps of the residual discriminators
    # Adam (the paper used SGD with momentum); 1e-3 with R1 (2e-4: chain 295.4 vs 237.1 at 600 steps)
    lr: LearningRate = 1e-3
    betas: tuple[float, float] = (0.5, 0.999)  # Adam betas
    # not in the paper: R1 (Mescheder et al. 2018) at γ = 10 on each level's D, on its own input
    stabilise: stab.StabiliserConfig = field(default_factory=lambda: stab.StabiliserConfig(r1_gamma=10.0))


#: the paper's CIFAR-10 setup: three levels, dropout 0.5 in the coarsest D, no R1 (with Adam 2e-4)
PAPER = {"levels": 3, "d_dropout": 0.5, "lr": 2e-4, "stabilise.r1_gamma": 0.0}


def pyramid(images: torch.Tensor, levels: int) -> list[torch.Tensor]:
    """Gaussian-style pyramid ``[I_0 (coarsest), ..., I_{L-1} = images]``."""
    out = [images]
    for _ in range(levels - 1):
        out.insert(0, downsample(out[0]))
    return out


def laplacian(images: torch.Tensor, levels: int) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    """``([I_0, h_1, ..., h_{L-1}], [l_1, ..., l_{L-1}])``: what each level's D sees and its condition."""
    gauss = pyramid(images, levels)
    conds = [upsample(g) for g in gauss[:-1]]
    return [gauss[0]] + [g - l for g, l in zip(gauss[1:], conds)], conds


class LAPGAN(ImageGANRecipe):
    """Laplacian pyramid of conditional GANs."""

    name = "lapgan"
    Config = LAPGANConfig
    presets = {"tiny": TINY, "paper": PAPER}
    #: samples come from a warmed-up EMA of every level's generator (gan.ema; not in the paper):
    #: 210.87 → 196.97 at 3 MNIST epochs; ``--set run.ema_decay=0`` samples the raw generators
    default_ema_decay = 0.99
    #: R1/R2 are applied per level (each level's D on its own real/fake input); the rest live in the
    #: shared single-D losses that LAPGAN's per-level losses replace
    unsupported_stabilisers = {k: "LAPGAN trains one GAN per pyramid level with its own losses"
                               for k in UNSUPPORTED_BY_CUSTOM_LOSSES if k not in ("r1_gamma", "r2_gamma")}

    def build_models(self) -> None:
        c = self.config
        _, h, w = self.image_shape
        if c.levels < 2:
            raise GanError(f"--set levels={c.levels}: a Laplacian pyramid needs at least 2 levels")
        if h % 2 ** (c.levels - 1) or w % 2 ** (c.levels - 1) or min(h, w) >> (c.levels - 1) < 4:
            raise GanError(f"--set levels={c.levels}: image size {h}×{w} must halve {c.levels - 1} times "
                           f"to at least 4×4 (e.g. 28 → 14 → 7 with 3 levels)")
        self.models["G"] = LaplacianGenerator(self.image_shape, c.levels, c.z_dim, c.g_width, c.g_hidden)
        self.models["D"] = LaplacianDiscriminator(self.image_shape, c.levels, c.d_width, c.d_norm, c.d_hidden,
                                                    c.d_dropout)

    def latent(self, n, labels=None, generator=None) -> dict[str, torch.Tensor]:
        g = self.models["G"]
        out = {"z0": self.noise(n, self.config.z_dim, generator)}
        for k, (h, w) in enumerate(g.sizes[1:], start=1):
            out[f"z{k}"] = self.noise(n, h * w, generator)
        return out

    def noises(self, latent: dict[str, torch.Tensor]) -> list[torch.Tensor]:
        return [latent[f"z{k}"] for k in range(self.config.levels)]

    def generate(self, latent: dict[str, torch.Tensor], g) -> torch.Tensor:
        return g.chain(self.noises(latent))[-1]

    def d_loss(self, real: torch.Tensor, labels: torch.Tensor) -> LossOutput:
        targets, conds = laplacian(real, self.config.levels)
        with torch.no_grad():
            fakes = self.nets.G(self.noises(self.latent(real.shape[0])), conds)
        s_real = self.nets.D(targets, conds)
        s_fake = self.nets.D(fakes, conds)
        losses = [self.adversarial.d_loss(r, f) for r, f in zip(s_real, s_fake)]
        logs = {f"level{k}": v.detach() for k, v in enumerate(losses)}
        total = torch.stack(losses).sum()
        s = self.config.stabilise
        if s.r1_gamma > 0 or s.r2_gamma > 0:
            # each level's D is penalised on its own input (I_0 or h_k), its condition held fixed
            d = self.nets.D
            for k, (x, f) in enumerate(zip(targets, fakes)):
                cond = conds[k - 1] if k else None
                terms = stab.penalties(s, lambda v, k=k, cond=cond: d.level(k, v, cond), x, f)
                for name, v in terms.items():
                    total = total + v
                    logs[f"{name}/level{k}"] = v.detach()
        return LossOutput(total, logs)

    def g_loss(self, real: torch.Tensor, labels: torch.Tensor) -> LossOutput:
        _, conds = laplacian(real, self.config.levels)
        fakes = self.nets.G(self.noises(self.latent(real.shape[0])), conds)
        losses = [self.adversarial.g_loss(f) for f in self.nets.D(fakes, conds)]
        return LossOutput(torch.stack(losses).sum(), {f"level{k}": v.detach() for k, v in enumerate(losses)})

    @torch.no_grad()
    def score(self, images: torch.Tensor, latent: dict[str, torch.Tensor] | None = None) -> torch.Tensor:
        """Sum of every level's discriminator score on the image's own Laplacian decomposition."""
        d, bs = self.models["D"], self.config.eval.batch_size
        out = []
        with eval_mode(d):
            for i in range(0, images.shape[0], bs):
                xs, conds = laplacian(images[i:i + bs].to(self.device), self.config.levels)
                out.append(torch.stack(d(xs, conds)).sum(0).float().cpu())
        return torch.cat(out)

    def sample_grids(self) -> dict[str, tuple[torch.Tensor, int]]:
        """Adds ``levels``: 8 samples (columns) at every pyramid level (rows), coarse to fine."""
        grids = super().sample_grids()
        g = self.eval_model("G")
        lat = {k: v[:8] for k, v in self.fixed_latent.items()}
        with torch.no_grad(), eval_mode(g):
            levels = g.chain(self.noises(lat))
        size = self.image_shape[1:]
        rows = [F.interpolate(x.float(), size=size, mode="nearest").cpu() for x in levels]
        grids["levels"] = (torch.cat(rows), 8)
        return grids

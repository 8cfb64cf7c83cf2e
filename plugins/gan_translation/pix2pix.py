"""pix2pix: image-to-image translation with a conditional GAN (Isola et al., CVPR 2017).

The generator maps an input image ``x`` to an output ``G(x)``; there is no noise vector — the
paper found the generator ignored one — so dropout in the U-Net decoder, kept on at test time, is
the only source of randomness. The discriminator is a PatchGAN that sees the *pair* ``(x, y)``
(input and output concatenated along channels) and classifies each 70×70 patch as real or fake,
modelling only high frequencies; the low frequencies are enforced by an L1 term::

    G* = arg min_G max_D  L_cGAN(G, D) + λ · E ||y - G(x)||₁,     λ = 100

Trainer mapping: phases ``[D, G]``. D's objective is halved, as in the paper ("we divide the
objective by 2 while optimizing D, which slows down the rate at which D learns relative to G").
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Literal

import torch
import torch.nn.functional as F

from gan import stabilisers as stab
from gan.constraints import Beta, LearningRate, NonNegative, Positive
from gan.errors import GanError
from gan.losses import get_loss
from gan.optim import make_optimizer
from gan.protocols import LossOutput, Phase, Stage

from .common import NOT_FOR_TRANSLATION, TranslationRecipe, image_quality, mean, to_rgb
from .datasets import PairedData, as_float, get_items, iter_batches, make_outline2fill, num_items
from .settings import RENAMED, DataConfig, EvalConfig
from .networks import PatchDiscriminator, UNetGenerator, init_weights


@dataclass
class Pix2PixData(DataConfig):
    direction: Literal["AtoB", "BtoA"] = "AtoB"  # which half of an aligned A|B image is the input
    channels: int = 0  # 1 grayscale, 3 RGB, 0 = the files' majority (what pix2pix has always used)


@dataclass
class Config:
    steps: NonNegative = 80_000  # generator updates (paper, facades: 200 epochs × 400 images, batch 1)
    batch_size: Positive = 1  # paper: 1 (batch norm then acts as instance norm)
    lr: LearningRate = 2e-4  # Adam learning rate (paper)
    beta1: Beta = 0.5  # Adam β1 (paper)
    beta2: Beta = 0.999  # Adam β2 (paper)
    lambda_l1: float = 100.0  # weight of the L1 term (paper: λ = 100)
    gan_loss: str = "non-saturating"  # paper: the original objective with the non-saturating G loss
    decay_steps: int = 0  # final steps over which the LR decays linearly to 0 (paper: 0; official code: half)
    ngf: int = 64  # generator width (paper: C64 first layer)
    ndf: int = 64  # discriminator width (paper: C64 first layer)
    num_downs: int = 0  # U-Net halvings; 0 = log2(image_size) (U-Net-256: 8)
    n_layers_d: int = 3  # PatchGAN strided layers: 3 → 70×70 patches (paper's default)
    norm: Literal["batch", "instance"] = "batch"  # paper: batch norm (test-batch statistics at test time)
    dropout: float = 0.5  # dropout in the first three decoder blocks (paper: 50%)
    test_dropout: bool = True  # keep dropout on at test time (paper: it is the noise source)
    dropout_layout: Literal["paper", "cyclegan-and-pix2pix"] = "paper"  # decoder blocks with dropout: the paper's first three, or the reference code's (gan import)
    data: Pix2PixData = field(default_factory=Pix2PixData)
    eval: EvalConfig = field(default_factory=EvalConfig)  # samples: held-out pairs
    stabilise: stab.StabiliserConfig = field(default_factory=stab.StabiliserConfig)  # gan.stabilisers

    renamed: ClassVar[dict[str, str]] = {**RENAMED, "direction": "data.direction"}


class Pix2Pix(TranslationRecipe):
    """pix2pix (Isola et al. 2017): U-Net generator + PatchGAN on (input, output) pairs, GAN + λ·L1."""

    name = "pix2pix"
    Config = Config
    data_kind = "paired"
    default_dataset = "outline2fill"
    presets = {
        "tiny": {"steps": 4, "batch_size": 2, "data.image_size": 16, "data.load_size": 18, "ngf": 8, "ndf": 8,
                 "n_layers_d": 2, "data.embedded_size": 32, "eval.samples": 8},
        "toy": {"steps": 3000, "batch_size": 16, "data.image_size": 32, "data.load_size": 36, "ngf": 32,
                "ndf": 32, "n_layers_d": 2, "data.embedded_size": 2000},
        "paper": {"steps": 80_000, "batch_size": 1, "data.image_size": 256, "data.load_size": 286, "ngf": 64,
                  "ndf": 64, "n_layers_d": 3, "lambda_l1": 100.0, "lr": 2e-4},
    }

    def __init__(self, config: Config, device: Any = "cpu", data: Any = None, run: Any = None) -> None:
        super().__init__(config, device, data, run)
        c = config
        data = data if data is not None else make_outline2fill(None, c)
        if not isinstance(data, PairedData):
            raise GanError(f"pix2pix needs paired data (aligned A|B images), got {type(data).__name__}; "
                           f"use --dataset aligned or outline2fill")
        self.pairs = data
        self.check_patch_size(c.n_layers_d)
        num_downs = c.num_downs or max(2, int(math.log2(c.data.image_size)))
        in_ch, out_ch = data.channels
        self.adv = get_loss(c.gan_loss, registry=self.registries.get("loss"))
        depths = (0, 1, 2) if c.dropout_layout == "paper" else tuple(range(1, num_downs - 4))
        self.models["G"] = init_weights(UNetGenerator(in_ch, out_ch, num_downs, c.ngf, c.norm, c.dropout,
                                                      depths)).to(self.device)
        self.models["D"] = init_weights(PatchDiscriminator(in_ch + out_ch, c.ndf, c.n_layers_d, c.norm)).to(self.device)
        betas = (c.beta1, c.beta2)
        self.optimizers["G"] = make_optimizer([self.models["G"]], c.lr, betas)
        self.optimizers["D"] = make_optimizer([self.models["D"]], c.lr, betas)
        stab.require_applicable(c.stabilise, self.name, NOT_FOR_TRANSLATION)
        stab.scale_lr(self.optimizers["D"], c.stabilise.d_lr_scale)
        self.add_decay("G", c.decay_steps)
        self.add_decay("D", c.decay_steps)
        self.stream = self.make_stream(data.train)

    # --- training -----------------------------------------------------------------------------------
    def phases(self, stage: Stage) -> list[Phase]:
        return [Phase("D", "D", "D", loss=self.d_loss), Phase("G", "G", "G", fresh_batch=False, loss=self.g_loss)]

    def next_batch(self, stage: Stage, phase: Phase) -> tuple[torch.Tensor, torch.Tensor]:
        a, b = next(self.stream)
        a, b = self.augment(a, b)
        return a, b

    def d_loss(self, batch: Any, step: int, scratch: dict[str, Any]) -> LossOutput:
        x, y = batch
        n = self.nets
        with torch.no_grad():
            fake = n.G(x)
        adv, penalty, logs = self.d_adversarial(n.D, *self.noisy(step, torch.cat([x, y], 1),
                                                                  torch.cat([x, fake], 1)))
        return LossOutput(0.5 * adv + penalty, logs)

    def g_loss(self, batch: Any, step: int, scratch: dict[str, Any]) -> LossOutput:
        x, y = batch
        n = self.nets
        fake = n.G(x)
        adv = self.adv.g_loss(n.D(*self.noisy(step, torch.cat([x, fake], 1))))
        l1 = F.l1_loss(fake, y)
        return LossOutput(adv + self.config.lambda_l1 * l1, {"adv": adv.detach(), "l1": l1.detach()})

    # --- inference ------------------------------------------------------------------------------------
    def _generate(self, x: torch.Tensor, batch: int = 16) -> torch.Tensor:
        g = self.eval_model("G")
        return torch.cat([g(x[i:i + batch]) for i in range(0, x.shape[0], batch)])

    def _held_out(self, n: int) -> tuple[torch.Tensor, torch.Tensor]:
        total = num_items(self.pairs.test)
        a, b = get_items(self.pairs.test, [i % total for i in range(n)])
        return as_float(a).to(self.device), as_float(b).to(self.device)

    def sample(self, n: int, seed: int | None = None) -> torch.Tensor:
        """Outputs for the first ``n`` held-out inputs (dropout noise drawn from ``seed``)."""
        x, _ = self._held_out(n)
        with self.inference([self.eval_model("G")], seed=0 if seed is None else seed,
                            dropout=self.config.test_dropout):
            return self._generate(x)

    def health_diversity(self) -> tuple[str, float] | None:
        return self.input_output_gap(self.eval_model("G"), self._held_out(4)[0])

    def evaluate(self, full: bool = False) -> dict[str, Any]:
        """L1, PSNR and SSIM of G(x) against y on held-out pairs (full: all of them)."""
        limit = None if full else self.config.eval.samples
        scores: dict[str, list[torch.Tensor]] = {"l1": [], "psnr": [], "ssim": [], "l1_input": []}
        count = 0
        with self.inference([self.eval_model("G")], seed=1234, dropout=self.config.test_dropout):
            for a, b in iter_batches(self.pairs.test, 32, limit):
                x, y = as_float(a).to(self.device), as_float(b).to(self.device)
                q = image_quality(self._generate(x), y)
                for k in ("l1", "psnr", "ssim"):
                    scores[k].append(q[k])
                if x.shape[1] == y.shape[1]:
                    scores["l1_input"].append((x - y).abs().flatten(1).mean(1))
                count += x.shape[0]
        import torchmetrics
        out: dict[str, Any] = {k: mean(v) for k, v in scores.items() if v}
        out["protocol"] = {
            "split": "held-out pairs", "pairs": count, "data": self.pairs.source,
            "l1": "mean |G(x) - y| on [-1, 1]", "psnr_ssim": "torchmetrics, images in [0, 1], data_range 1",
            "l1_input": "mean |x - y| (copy-the-input baseline)",
            "test_dropout": self.config.test_dropout, "dropout_seed": 1234,
            "torchmetrics": torchmetrics.__version__}
        return out

    def save_samples(self, directory: Path, step: int) -> list[Path]:
        """Grid with one row per held-out pair: input | output | target."""
        from gan.images import save_grid
        x, y = self._held_out(min(8, num_items(self.pairs.test)))
        with self.inference([self.eval_model("G")], seed=0, dropout=self.config.test_dropout):
            fake = self._generate(x)
        rows = torch.stack([to_rgb(x), to_rgb(fake), to_rgb(y)], 1).flatten(0, 1)
        from gan.images import append_progress_row
        return [save_grid(rows, self.sample_path(directory, step), nrow=3,
                          column_labels=("input", "output", "target")),
                append_progress_row(Path(directory) / "progress.png", to_rgb(fake))]

    def score(self, samples: torch.Tensor) -> torch.Tensor:
        """D's mean patch score of each (input, output) pair; ``samples`` are :meth:`sample`'s
        outputs, so output ``i`` belongs to held-out input ``i``."""
        x, _ = self._held_out(samples.shape[0])
        d = self.models["D"]
        with self.inference([d], seed=None):
            return torch.cat([d(torch.cat([x[i:i + 16], samples[i:i + 16].to(self.device)], 1)).flatten(1).mean(1)
                              for i in range(0, x.shape[0], 16)]).float().cpu()

    def export_samples(self, n: int, out_dir: Path, seed: int | None = None, nice: bool | int = False) -> list[str]:
        """Write ``n`` translated held-out inputs (``nice``: the best-scored, :mod:`gan.sampling`)
        and a grid."""
        from gan.images import save_grid, save_image
        from gan.sampling import nice_factor, nice_sample
        out_dir = Path(out_dir)
        fake, keep = nice_sample(self, n, seed, nice)
        x, y = self._held_out(n * nice_factor(nice))
        keep = keep.to(x.device)
        x, y = x[keep], y[keep]
        paths = [str(save_image(img, out_dir / f"sample_{i:04d}.png")) for i, img in enumerate(fake)]
        grid = torch.stack([to_rgb(x), to_rgb(fake), to_rgb(y)], 1).flatten(0, 1)
        paths.append(str(save_grid(grid, out_dir / "grid.png", nrow=3)))
        return paths


    # --- gan translate ----------------------------------------------------------------------------------
    def input_channels(self, **options: Any) -> int:
        return self.pairs.channels[0]

    def resolve_translate_options(self, direction: str | None, target_attrs: Any = ()) -> dict[str, Any]:
        if target_attrs:
            raise GanError("--target-attrs applies to stargan only; pix2pix translates in one direction")
        if direction is not None and direction != self.config.data.direction:
            raise GanError(f"--direction {direction}: this pix2pix model was trained {self.config.data.direction} "
                           f"and translates only that way")
        return {}

    def translate(self, x: torch.Tensor, seed: int = 0, **options: Any) -> torch.Tensor:
        g = self.eval_model("G")
        with self.inference([g], seed=seed, dropout=self.config.test_dropout):
            return g(x.to(self.device))

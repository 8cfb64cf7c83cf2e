"""SRResNet: the ×4 super-resolution generator of Ledig et al. (CVPR 2017), trained with pixel MSE.

Architecture (the paper's Figure 4, generator)::

    LR (3, h, w), values in [0, 1]
    └ conv 9×9, 64 · PReLU ─────────────────────────────────┐  (head)
      └ 16 × residual block [conv 3×3, 64 · BN · PReLU ·     │
                             conv 3×3, 64 · BN] + skip       │
        └ conv 3×3, 64 · BN ──────────────── + ─────────────┘  (long skip)
          └ 2 × sub-pixel upsampler [conv 3×3, 256 · PixelShuffle ×2 · PReLU]
            └ conv 9×9, 3                                      → HR (3, 4h, 4w), range [-1, 1]

The sub-pixel upsampler (Shi et al. 2016) computes features at LR resolution and rearranges
``r²·C`` channels into a ``C``-channel map ``r`` times larger, instead of convolving an
interpolated image: cheaper, and the network learns the up-sampling filter. The last layer is
linear (no tanh), as in the paper; outputs are clamped only when written or scored.

Training (§3.2): 96×96 HR crops, LR by bicubic ÷4, Adam (β1 = 0.9), learning rate 1e-4,
10⁶ updates, batch 16; the loss is pixel MSE on [-1, 1] images ("SRResNet-MSE"). The trained
network is also how SRGAN's generator starts (``srgan --set init_from=RUN_DIR``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import nn

from gan.constraints import Beta, LearningRate, NonNegative, Positive
from gan.optim import make_optimizer
from gan.protocols import LossOutput, Phase, Stage

from .common import SRRecipe, log2_scale
from .settings import RENAMED, DataConfig, EvalConfig


class ResidualBlock(nn.Module):
    """conv-BN-PReLU-conv-BN plus the identity (He et al. 2016 as laid out by Gross & Wilber)."""

    def __init__(self, width: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(width, width, 3, padding=1), nn.BatchNorm2d(width), nn.PReLU(),
            nn.Conv2d(width, width, 3, padding=1), nn.BatchNorm2d(width))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class SubPixelUpsampler(nn.Sequential):
    """×2: conv to 4·C channels at the input resolution, then PixelShuffle(2) to C channels at 2×."""

    def __init__(self, width: int) -> None:
        super().__init__(nn.Conv2d(width, width * 4, 3, padding=1), nn.PixelShuffle(2), nn.PReLU())


class SRResNetGenerator(nn.Module):
    """The paper's generator G: LR ``[0, 1]`` → ×``scale`` HR in ``[-1, 1]``."""

    def __init__(self, channels: int = 3, width: int = 64, n_blocks: int = 16, scale: int = 4,
                 global_skip: bool = False) -> None:
        super().__init__()
        self.scale, self.n_blocks, self.global_skip = scale, n_blocks, global_skip
        self.head = nn.Sequential(nn.Conv2d(channels, width, 9, padding=4), nn.PReLU())
        self.blocks = nn.Sequential(*(ResidualBlock(width) for _ in range(n_blocks)))
        self.post = nn.Sequential(nn.Conv2d(width, width, 3, padding=1), nn.BatchNorm2d(width))
        self.upsample = nn.Sequential(*(SubPixelUpsampler(width) for _ in range(log2_scale(scale))))
        self.tail = nn.Conv2d(width, channels, 9, padding=4)

    @property
    def receptive_radius(self) -> int:
        """How far (in input pixels) an output pixel sees: the context tiled inference needs.

        head 9×9 (4) + two 3×3 per block + post 3×3 (1) + one 3×3 per upsampler at 2^k× resolution
        (1/2^k input pixels each) + tail 9×9 at ×scale (4/scale).
        """
        ups = sum(1 / 2 ** k for k in range(log2_scale(self.scale)))
        return math.ceil(4 + 2 * self.n_blocks + 1 + ups + 4 / self.scale)

    def forward(self, lr: torch.Tensor) -> torch.Tensor:
        h = self.head(lr)
        out = self.tail(self.upsample(h + self.post(self.blocks(h))))
        if self.global_skip:  # not in the paper: learn only the residual over bicubic (VDSR-style)
            out = out + F.interpolate(lr, scale_factor=self.scale, mode="bicubic", align_corners=False) * 2 - 1
        return out


@dataclass
class Config:
    steps: NonNegative = 1_000_000  # generator updates (paper: 10⁶)
    batch_size: Positive = 16  # paper: 16 random crops per mini-batch
    lr: LearningRate = 1e-4  # Adam learning rate (paper)
    decay_every: int = 0  # every this many updates the lr drops ×0.1; 0 = constant (paper)
    beta1: Beta = 0.9  # Adam β1 (paper)
    beta2: Beta = 0.999  # Adam β2 (paper: Adam defaults otherwise)
    scale: int = 4  # up-scaling factor r (paper: 4; two ×2 sub-pixel layers)
    n_blocks: int = 16  # residual blocks B (paper: 16)
    width: int = 64  # feature maps per conv layer (paper: 64)
    global_skip: bool = False  # add bicubic(LR) to G's output, learning the residual (paper: no; VDSR: yes)
    tile: int = 128  # inference: LR tile side for large images (memory bound; no effect on results)
    data: DataConfig = field(default_factory=DataConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)

    renamed: ClassVar[dict[str, str]] = RENAMED


TINY = {"steps": 4, "batch_size": 2, "data.image_size": 16, "n_blocks": 2, "width": 8, "data.embedded_size": 10,
        "data.embedded_side": 24, "eval.samples": 2, "eval.side": 24, "tile": 16}
#: a few minutes on one CPU thread: enough to beat bicubic on the embedded scenes
CPU = {"steps": 1500, "batch_size": 8, "data.image_size": 32, "n_blocks": 4, "width": 32, "lr": 1e-3,
       "data.embedded_size": 400, "data.embedded_side": 64, "eval.samples": 16, "eval.side": 64}
PAPER = {"steps": 1_000_000, "batch_size": 16, "data.image_size": 96, "n_blocks": 16, "width": 64, "lr": 1e-4,
         "beta1": 0.9, "scale": 4}


class SRResNet(SRRecipe):
    """SRResNet (Ledig et al. 2017): 16 residual blocks, two sub-pixel ×2 layers, trained with MSE."""

    name = "srresnet"
    Config = Config
    presets = {"tiny": TINY, "cpu": CPU, "paper": PAPER}

    def __init__(self, config: Config, device: torch.device | str = "cpu", data=None, run=None) -> None:
        super().__init__(config, device, data, run)
        c = config
        self.models["G"] = SRResNetGenerator(c.data.channels, c.width, c.n_blocks, c.scale, c.global_skip).to(self.device)
        self.optimizers["G"] = make_optimizer(self.models["G"], c.lr, (c.beta1, c.beta2))
        self.add_step_decay("G")

    def phases(self, stage: Stage) -> list[Phase]:
        return [Phase("G", "G", "G", loss=self.g_loss)]

    def g_loss(self, batch: Any, step: int, scratch: dict) -> LossOutput:
        lr, hr = batch
        mse = F.mse_loss(self.nets.G(lr), hr)
        return LossOutput(mse, {"mse": mse.detach()})


__all__ = ["ResidualBlock", "SubPixelUpsampler", "SRResNetGenerator", "Config", "SRResNet"]

"""Plumbing shared by the translation recipes: data streams, augmentation, inference contexts,
learning-rate schedules, image-quality figures and sample grids.

Kept out of the model files so each of ``pix2pix.py``, ``cyclegan.py`` and ``stargan.py`` reads like
its paper.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from torch import nn

from gan import stabilisers as stab
from gan.config import require_counts
from gan.data import BatchStream
from gan.errors import GanError
from gan.health import d_stats
from gan.inference import inference
from gan.protocols import Recipe, Stage

from .datasets import as_float, num_items
from .networks import minimum_patch_input


def linear_decay(total_steps: int, decay_steps: int):
    """LR multiplier: 1 for ``total - decay`` steps, then linearly down to 0 at ``total``.

    CycleGAN (and the official pix2pix code): constant for the first half, linear decay to zero over
    the second half. A plain closure: LambdaLR checkpoints its step counter, not the function.
    """
    decay_steps = max(0, min(int(decay_steps), int(total_steps)))
    start = total_steps - decay_steps

    def factor(step: int) -> float:
        if decay_steps == 0 or step < start:
            return 1.0
        return max(0.0, 1.0 - (step - start + 1) / (decay_steps + 1))

    return factor


def to_rgb(x: torch.Tensor) -> torch.Tensor:
    """Grayscale batches repeated to three channels (for mixed grids)."""
    return x.expand(-1, 3, -1, -1) if x.shape[1] == 1 else x


def image_quality(fake: torch.Tensor, real: torch.Tensor) -> dict[str, torch.Tensor]:
    """Per-image L1 (on [-1, 1]), PSNR and SSIM (on [0, 1], data range 1) via torchmetrics."""
    from torchmetrics.functional.image import (peak_signal_noise_ratio,
                                               structural_similarity_index_measure)
    fake, real = fake.float().clamp(-1, 1), real.float()
    l1 = (fake - real).abs().flatten(1).mean(1)
    f01, r01 = (fake + 1) / 2, (real + 1) / 2
    psnr = peak_signal_noise_ratio(f01, r01, data_range=1.0, dim=(1, 2, 3), reduction="none")
    side = min(real.shape[-2:])
    kernel = min(11, side if side % 2 else side - 1)
    ssim = structural_similarity_index_measure(f01, r01, data_range=1.0, kernel_size=kernel,
                                               reduction="none")
    return {"l1": l1, "psnr": psnr.reshape(-1), "ssim": ssim.reshape(-1)}


#: stabilisers the translation recipes do not wire (PatchGAN maps take no batch layer here, and G's
#: objective keeps its reconstruction terms)
NOT_FOR_TRANSLATION = {k: "not wired for the translation models" for k in (
    "minibatch_discrimination", "minibatch_stddev", "feature_matching", "unrolled_steps", "pack")}


class TranslationRecipe(Recipe):
    """Base of the three translation recipes (not registered itself)."""

    # --- deploy: gan export / gan import (functions named after the recipe) -------------------------
    def export_modules(self, **options: Any) -> list[Any]:
        """``gan export``: the generator(s) in deployed form (see :mod:`.deploy`)."""
        from . import deploy
        return getattr(deploy, f"{self.name}_modules")(self, **options)

    @classmethod
    def import_config(cls, source: str, states: list[Any], **options: Any) -> dict[str, Any]:
        """``gan import``: config values the anchor's generator file implies (see :mod:`.anchors`)."""
        from . import anchors
        return getattr(anchors, f"{cls.name}_import_config")(cls, source, states, **options)

    def import_weights(self, source: str, states: list[Any], **options: Any) -> None:
        """``gan import``: map the anchor's generator state dict onto ours (see :mod:`.anchors`)."""
        from . import anchors
        getattr(anchors, f"{self.name}_import_weights")(self, source, states, **options)

    # --- building ---------------------------------------------------------------------------------
    @property
    def seed(self) -> int:
        return int(getattr(self.run, "seed", 0) or 0) if self.run is not None else 0

    def make_stream(self, dataset: Any, offset: int = 0) -> BatchStream:
        workers = int(getattr(self.run, "num_workers", 0) or 0) if self.run is not None else 0
        n = num_items(dataset)
        if n < self.config.batch_size:
            raise GanError(f"--set batch_size={self.config.batch_size}: the training set has only "
                           f"{n} images; lower batch_size or add data")
        return BatchStream(dataset, self.config.batch_size, seed=self.seed + offset,
                           num_workers=workers if not isinstance(dataset, (torch.Tensor, tuple)) else 0)

    def __init__(self, config: Any, device: torch.device | str = "cpu", data: Any = None, run: Any = None) -> None:
        super().__init__(config, device, data, run)
        self.check_config()

    def check_config(self) -> None:
        """Values the type check lets through but no network or loss can use: zero widths reach
        torch as an obscure convolution error, negative loss weights or pool sizes train silently
        towards nonsense."""
        c = self.config
        require_counts(c, positive=("ngf", "ndf", "g_conv_dim", "d_conv_dim", "n_layers_d", "batch_size",
                                    "n_critic"),
                       non_negative=("pool_size", "n_blocks", "g_repeat_num", "steps"))
        for f in dataclasses.fields(c):
            v = getattr(c, f.name)
            if f.name.startswith("lambda_") and isinstance(v, (int, float)) and v < 0:
                raise GanError(f"--set {f.name}={v}: a loss weight must be 0 or more")

    def add_decay(self, name: str, decay_steps: int) -> None:
        if decay_steps:
            self.schedulers[name] = torch.optim.lr_scheduler.LambdaLR(
                self.optimizers[name], linear_decay(self.config.steps, decay_steps))

    def stages(self) -> list[Stage]:
        """One stage; a step is one batch through every phase (StarGAN's G: every n_critic-th)."""
        return [Stage("train", self.config.steps, unit="batch")]

    # --- stabilisers and health (gan.stabilisers, gan.health) ------------------------------------
    def noisy(self, step: int, *inputs: torch.Tensor) -> list[torch.Tensor]:
        """D's inputs with annealed instance noise (``stabilise.instance_noise``; identity when off)."""
        sigma = stab.instance_noise_std(self.config.stabilise, step, self.config.steps)
        return [stab.add_instance_noise(x, sigma) for x in inputs]

    def d_adversarial(self, score: Any, real_in: torch.Tensor, fake_in: torch.Tensor
                      ) -> tuple[torch.Tensor, torch.Tensor, dict[str, torch.Tensor]]:
        """D's adversarial loss with the label stabilisers, its R1/R2 penalties, and the health
        statistics: ``(adversarial loss, penalty, logs)``; ``score(x)`` is D's raw output map."""
        s = self.config.stabilise
        real, fake = score(real_in), score(fake_in)
        loss = stab.d_loss(self.adv, s, real, fake)
        logs = {"real": real.detach().mean(), "fake": fake.detach().mean(), **d_stats(real, fake, self.adv)}
        pens = stab.penalties(s, score, real_in, fake_in)
        logs.update(pens)
        return loss, sum(pens.values(), torch.zeros((), device=real.device)), logs

    def input_output_gap(self, g: Any, x: torch.Tensor, *args: Any) -> tuple[str, float] | None:
        """The health monitor's collapse signal: mean |G(x) - x| on fixed held-out inputs (falls when
        the generator returns its input); ``None`` when input and output differ in shape."""
        with self.inference([g], seed=0):
            y = g(x, *args)
        if y.shape != x.shape:
            return None
        return "output_input_l1", float((y.float() - x.float()).abs().mean())

    def check_patch_size(self, n_layers: int, key: str = "n_layers_d") -> None:
        need = minimum_patch_input(n_layers)
        if self.config.data.image_size < need:
            raise GanError(f"--set data.image_size={self.config.data.image_size}: a {n_layers}-layer PatchGAN "
                           f"needs at least {need} pixels; raise data.image_size or lower {key}")

    # --- batches ----------------------------------------------------------------------------------
    def augment(self, *tensors: torch.Tensor) -> list[torch.Tensor]:
        """Joint random crop to ``image_size`` and horizontal flip of same-sized batches.

        Offsets and flips come from torch's global CPU RNG (seeded and checkpointed by the
        trainer), so augmentation is identical on CPU and CUDA and after a resume.
        """
        out = [as_float(t.to(self.device, non_blocking=True)) for t in tensors]
        n, _, h, w = out[0].shape
        s = self.config.data.image_size
        if h > s or w > s:
            tops = torch.randint(0, h - s + 1, (n,)).tolist()
            lefts = torch.randint(0, w - s + 1, (n,)).tolist()
            out = [torch.stack([t[i, :, tops[i]:tops[i] + s, lefts[i]:lefts[i] + s] for i in range(n)])
                   for t in out]
        if self.config.data.flip:
            flip = (torch.rand(n) < 0.5).to(self.device)[:, None, None, None]
            out = [torch.where(flip, t.flip(-1), t) for t in out]
        return out

    # --- inference --------------------------------------------------------------------------------
    def inference(self, modules: Sequence[nn.Module], seed: int | None = 0,
                  dropout: bool = False) -> contextlib.AbstractContextManager[None]:
        """``no_grad`` + eval mode + a private, seeded RNG (:func:`gan.inference.inference`)."""
        return inference(modules, self.device, seed, dropout)

    def translate(self, x: torch.Tensor, **options: Any) -> torch.Tensor:
        """Translate a batch ``(N, C, H, W)`` in ``[-1, 1]`` (any size) — for ``gan translate``."""
        raise NotImplementedError

    def input_channels(self, **options: Any) -> int:
        raise NotImplementedError

    def resolve_translate_options(self, direction: str | None, target_attrs: Sequence[str]) -> dict[str, Any]:
        """Turn ``gan translate`` flags into :meth:`translate` keyword options (validated)."""
        raise NotImplementedError

    # --- files ------------------------------------------------------------------------------------
    def sample_path(self, directory: Path, step: int) -> Path:
        return Path(directory) / f"{self.name}-step{step:07d}.png"


def mean(values: list[torch.Tensor]) -> float:
    return float(torch.cat([v.reshape(-1).float().cpu() for v in values]).mean()) if values else math.nan


__all__ = ["linear_decay", "to_rgb", "image_quality", "TranslationRecipe", "mean"]

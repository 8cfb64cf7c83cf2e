"""What SRResNet and SRGAN share: HR crops → bicubic LR inputs, tiled ×4 inference, the
PSNR/SSIM evaluation against bicubic, sample grids and the ``gan translate`` interface.

Kept out of ``srresnet.py`` and ``srgan.py`` so that each reads like its part of the paper.

Value ranges follow Ledig et al. (§3.2): LR inputs in [0, 1], HR images (targets and outputs) in
[-1, 1] — the framework's image range, so MSE is "calculated on images of intensity range [-1, 1]"
as in the paper.
"""

from __future__ import annotations

import contextlib
import math
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from gan.config import require_counts
from gan.constraints import validate
from gan.data import BatchStream
from gan.errors import GanError
from gan.inference import inference
from gan.protocols import Recipe, Stage

from .datasets import SRData, as_float, make_sr_textures
from .evaluation import mean, y_psnr_ssim


def bicubic_down(hr: torch.Tensor, scale: int) -> torch.Tensor:
    """HR ``[-1, 1]`` → LR ``[0, 1]``: antialiased bicubic ÷scale (MATLAB ``imresize``'s kernel
    family, as the paper's LR images), then rounded to 8 bits like an LR image stored as PNG."""
    x = (hr.float() + 1) / 2
    lr = F.interpolate(x, scale_factor=1 / scale, mode="bicubic", antialias=True, align_corners=False)
    return (lr.clamp(0, 1) * 255).round() / 255


def bicubic_up(lr01: torch.Tensor, scale: int) -> torch.Tensor:
    """The baseline: LR ``[0, 1]`` → bicubic ×scale in ``[-1, 1]``."""
    up = F.interpolate(lr01.float(), scale_factor=scale, mode="bicubic", align_corners=False)
    return (up * 2 - 1).clamp(-1, 1)


def tiled(net: nn.Module, x: torch.Tensor, scale: int, tile: int, context: int) -> torch.Tensor:
    """Apply a fully convolutional ×``scale`` network to ``x`` in ``tile``-sized pieces.

    Each tile is run with ``context`` extra input pixels on every side (clipped at the image edge)
    and only its own ×scale block of the result is kept. When ``context`` covers the network's
    receptive radius the result equals one pass over the whole image (up to float rounding), while
    memory stays bounded by the tile size whatever the image size.
    """
    n, _, h, w = x.shape
    if h <= tile and w <= tile:
        return net(x)
    out = None
    for top in range(0, h, tile):
        for left in range(0, w, tile):
            th, tw = min(tile, h - top), min(tile, w - left)
            t0, l0 = max(0, top - context), max(0, left - context)
            t1, l1 = min(h, top + th + context), min(w, left + tw + context)
            y = net(x[..., t0:t1, l0:l1])
            if out is None:
                out = y.new_empty(n, y.shape[1], h * scale, w * scale)
            dt, dl = (top - t0) * scale, (left - l0) * scale
            out[..., top * scale:(top + th) * scale, left * scale:(left + tw) * scale] = \
                y[..., dt:dt + th * scale, dl:dl + tw * scale]
    return out


class SRRecipe(Recipe):
    """Base of the super-resolution recipes (not registered itself). Subclasses build ``models["G"]``."""

    data_kind = "superres"
    default_dataset = "sr-textures"

    def __init__(self, config: Any, device: torch.device | str = "cpu", data: Any = None, run: Any = None) -> None:
        super().__init__(config, device, data, run)
        c = config
        require_counts(c, positive=("batch_size", "width", "tile", "ndf", "d_dense"),
                       non_negative=("n_blocks", "steps", "decay_every"))
        validate(c.data, "data.")  # the declared ranges, for API callers too (the CLI checks them all)
        validate(c.eval, "eval.")
        if c.scale not in (2, 4, 8):
            raise GanError(f"--set scale={c.scale}: expected 2, 4 or 8 (×2 sub-pixel upsamplers)")
        if c.data.image_size % c.scale:
            raise GanError(f"--set data.image_size={c.data.image_size}: expected a multiple of scale={c.scale}")
        if c.data.channels not in (1, 3):
            raise GanError(f"--set data.channels={c.data.channels}: expected 1 (grayscale) or 3 (RGB)")
        data = data if data is not None else make_sr_textures(None, c)
        if not isinstance(data, SRData):
            raise GanError(f"{self.name} needs HR images (--dataset sr-textures or sr-folder), "
                           f"got {type(data).__name__}")
        if data.channels != c.data.channels:
            raise GanError(f"dataset has {data.channels} channels but --set data.channels={c.data.channels}")
        self.images = data
        workers = int(getattr(run, "num_workers", 0) or 0) if run is not None else 0
        n = data.train.shape[0] if isinstance(data.train, torch.Tensor) else len(data.train)
        if n < c.batch_size:
            raise GanError(f"--set batch_size={c.batch_size}: the training set has only {n} patches")
        seed = int(getattr(run, "seed", 0) or 0) if run is not None else 0
        self.stream = BatchStream(data.train, c.batch_size, seed=seed,
                                  num_workers=0 if isinstance(data.train, torch.Tensor) else workers)

    def add_step_decay(self, name: str) -> None:
        """lr ×0.1 every ``decay_every`` updates (SRGAN: 1e-4 for 10⁵ updates, then 1e-5)."""
        if self.config.decay_every:
            self.schedulers[name] = torch.optim.lr_scheduler.StepLR(self.optimizers[name],
                                                                    self.config.decay_every, 0.1)

    def stages(self) -> list[Stage]:
        """One stage; a step is one batch of (LR, HR) crops through every phase."""
        return [Stage("train", self.config.steps, unit="batch")]

    # --- batches ----------------------------------------------------------------------------------
    def next_hr(self) -> torch.Tensor:
        """A batch of random ``image_size`` HR crops (paper: random 96×96 sub-images) in [-1, 1].

        Offsets (and flips, when on) come from the global CPU RNG, which the trainer seeds and
        checkpoints: identical on CPU and CUDA and after a resume.
        """
        hr = as_float(next(self.stream)).to(self.device, non_blocking=True)
        n, _, h, w = hr.shape
        s = self.config.data.image_size
        if h > s or w > s:
            tops = torch.randint(0, h - s + 1, (n,)).tolist()
            lefts = torch.randint(0, w - s + 1, (n,)).tolist()
            hr = torch.stack([hr[i, :, tops[i]:tops[i] + s, lefts[i]:lefts[i] + s] for i in range(n)])
        if self.config.data.flip:
            flip = (torch.rand(n) < 0.5).to(self.device)[:, None, None, None]
            hr = torch.where(flip, hr.flip(-1), hr)
        return hr

    def next_batch(self, stage: Any, phase: Any) -> tuple[torch.Tensor, torch.Tensor]:
        hr = self.next_hr()
        return bicubic_down(hr, self.config.scale), hr

    # --- inference --------------------------------------------------------------------------------
    def inference(self, modules: list[nn.Module], seed: int | None = 0) -> contextlib.AbstractContextManager[None]:
        """``no_grad`` + eval mode (BN on running statistics), training flags and the global RNG
        restored after (:func:`gan.inference.inference`)."""
        return inference(modules, self.device, seed)

    def upscale(self, lr01: torch.Tensor) -> torch.Tensor:
        """LR ``[0, 1]`` (any size) → ×scale output in ``[-1, 1]``, tiled so memory stays bounded."""
        g = self.eval_model("G")
        with self.inference([g]):
            y = tiled(g, lr01.to(self.device), self.config.scale, self.config.tile,
                      self.models["G"].receptive_radius)
        return y.clamp(-1, 1)

    # --- evaluation -------------------------------------------------------------------------------
    def _held_out(self, full: bool) -> list[torch.Tensor]:
        images = self.images.test
        if full:
            return images
        side = self.config.eval.side
        out = []
        for im in images[:self.config.eval.samples]:
            h, w = im.shape[-2:]
            t, left = max(0, (h - side) // 2), max(0, (w - side) // 2)
            out.append(im[:, t:t + side, left:left + side])
        return out

    def evaluate(self, full: bool = False) -> dict[str, Any]:
        """Y-channel PSNR/SSIM (4-px border shaved) of the model and of bicubic on held-out images.

        ``full``: every held-out image, whole; otherwise the first ``eval.samples``, centre-cropped to
        ``eval.side`` (the cheap in-training check).
        """
        s = self.config.scale
        scores: dict[str, list[torch.Tensor]] = {"psnr_y": [], "ssim_y": [], "bicubic_psnr_y": [],
                                                 "bicubic_ssim_y": []}
        images = self._held_out(full)
        for hr in images:
            hr = hr[None].to(self.device)
            lr = bicubic_down(hr, s)
            p, q = y_psnr_ssim(self.upscale(lr), hr, border=s)
            bp, bq = y_psnr_ssim(bicubic_up(lr, s), hr, border=s)
            for k, v in zip(scores, (p, q, bp, bq)):
                scores[k].append(v)
        out: dict[str, Any] = {k: mean(v) for k, v in scores.items()}
        out["psnr_gain_db"] = out["psnr_y"] - out["bicubic_psnr_y"]
        out["protocol"] = {
            "split": "held-out HR images", "images": len(images), "data": self.images.source,
            "crop": "whole images (mod-cropped to the scale)" if full else
                    f"centre {self.config.eval.side}px crops",
            "lr": f"antialiased bicubic ÷{s} of the HR image, 8-bit",
            "metric": f"PSNR/SSIM on BT.601 Y (MATLAB rgb2ycbcr, [16,235]) of 8-bit images, {s}-px border "
                      f"removed; SSIM Gaussian 11×11 σ=1.5, valid window positions (= scikit-image)",
            "bicubic": f"bicubic ×{s} of the same LR images"}
        return out

    # --- samples ----------------------------------------------------------------------------------
    def _sample_inputs(self, n: int) -> tuple[torch.Tensor, torch.Tensor]:
        side = self.config.data.image_size
        crops = []
        for i in range(n):
            im = self.images.test[i % len(self.images.test)]
            h, w = im.shape[-2:]
            k = min(side, h - h % self.config.scale, w - w % self.config.scale)
            t, left = (h - k) // 2, (w - k) // 2
            crops.append(F.interpolate(im[None, :, t:t + k, left:left + k], size=(side, side),
                                       mode="bilinear", align_corners=False)[0] if k != side
                         else im[:, t:t + k, left:left + k])
        hr = torch.stack(crops).to(self.device)
        return bicubic_down(hr, self.config.scale), hr

    def sample(self, n: int, seed: int | None = None) -> torch.Tensor:
        """×scale outputs for centre crops of the first ``n`` held-out images (deterministic)."""
        lr, _ = self._sample_inputs(n)
        return self.upscale(lr)

    def _grid_rows(self, n: int) -> torch.Tensor:
        lr, hr = self._sample_inputs(n)
        sr = self.upscale(lr)
        return torch.stack([bicubic_up(lr, self.config.scale), sr, hr], 1).flatten(0, 1)

    def save_samples(self, directory: Path, step: int) -> list[Path]:
        """Grid with one row per held-out crop: bicubic | model | HR."""
        from gan.images import save_grid
        rows = self._grid_rows(min(8, len(self.images.test)))
        return [save_grid(rows, Path(directory) / f"{self.name}-step{step:07d}.png", nrow=3)]

    def export_samples(self, n: int, out_dir: Path, seed: int | None = None, nice: bool = False) -> list[str]:
        """``gan sample``: ``n`` ×scale outputs of held-out crops, plus a bicubic | model | HR grid."""
        from gan.images import save_grid, save_image
        if nice:
            raise GanError("--nice does not apply to super-resolution (one output per input)")
        out_dir = Path(out_dir)
        paths = [str(save_image(img, out_dir / f"sample_{i:04d}.png")) for i, img in enumerate(self.sample(n))]
        paths.append(str(save_grid(self._grid_rows(n), out_dir / "grid.png", nrow=3)))
        return paths

    def export_modules(self, **options: Any) -> list[Any]:
        """``gan export``: the generator, LR ``[0, 1]`` → HR ``[-1, 1]`` (see :mod:`.deploy`)."""
        from .deploy import sr_modules
        return sr_modules(self, **options)

    # --- gan translate ----------------------------------------------------------------------------
    @property
    def scale_factor(self) -> int:
        """``gan translate`` writes outputs this many times the input size (no resizing)."""
        return self.config.scale

    def input_channels(self, **options: Any) -> int:
        return self.config.data.channels

    def resolve_translate_options(self, direction: str | None, target_attrs: Any = ()) -> dict[str, Any]:
        if direction is not None or target_attrs:
            raise GanError(f"--direction and --target-attrs do not apply to {self.name} (it upscales ×"
                           f"{self.config.scale})")
        return {}

    def translate(self, x: torch.Tensor, seed: int = 0, **options: Any) -> torch.Tensor:
        """``(N, C, h, w)`` images in ``[-1, 1]`` → ``(N, C, scale·h, scale·w)`` in ``[-1, 1]``."""
        return self.upscale((x.float() + 1) / 2)


def log2_scale(scale: int) -> int:
    return int(round(math.log2(scale)))


__all__ = ["bicubic_down", "bicubic_up", "tiled", "SRRecipe", "log2_scale"]

"""The super-resolution literature's quality protocol: PSNR and SSIM on the luma (Y) channel.

SR papers (SRCNN, VDSR, SRGAN, EDSR ...) score a ×r result the same way, and the numbers are only
comparable under that exact protocol:

1. both images are 8-bit RGB (the model output is clamped and rounded to uint8 first);
2. converted to Y of ITU-R BT.601 as MATLAB's ``rgb2ycbcr`` does (range [16, 235], float, no
   rounding): ``Y = 16 + (65.481 R + 128.553 G + 24.966 B) / 255`` with R, G, B in [0, 255];
3. a border of ``r`` pixels (4 for ×4) is removed from every side;
4. PSNR with peak 255; SSIM of Wang et al. (2004): 11×11 Gaussian window, σ = 1.5, K1 = 0.01,
   K2 = 0.03, population (not sample) statistics, averaged over the positions where the window fits
   inside the image — the definition scikit-image implements with ``gaussian_weights=True``.

Computed in float64 with torch, so it runs on the model's device; the tests check it against
scikit-image to 1e-6. (torchmetrics' SSIM averages over reflect-padded borders too, which moves the
figure by ~1e-3, so it is not used here.)
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

#: BT.601 luma weights for R, G, B in [0, 255] (MATLAB rgb2ycbcr), and its offset
_Y_WEIGHTS = (65.481 / 255.0, 128.553 / 255.0, 24.966 / 255.0)
_Y_OFFSET = 16.0


def quantize(images: torch.Tensor) -> torch.Tensor:
    """``[-1, 1]`` images → float64 values on the 8-bit grid ``{0, ..., 255}`` (what a PNG holds)."""
    return ((images.detach().double().clamp(-1, 1) + 1) * 127.5).round()


def luma(images255: torch.Tensor) -> torch.Tensor:
    """``(N, 3, H, W)`` RGB in [0, 255] → ``(N, 1, H, W)`` BT.601 Y in [16, 235]; gray passes through."""
    if images255.shape[1] == 1:
        return images255
    w = torch.tensor(_Y_WEIGHTS, dtype=images255.dtype, device=images255.device).view(1, 3, 1, 1)
    return (images255 * w).sum(1, keepdim=True) + _Y_OFFSET


def shave(x: torch.Tensor, border: int) -> torch.Tensor:
    return x[..., border:x.shape[-2] - border, border:x.shape[-1] - border] if border else x


def psnr(a: torch.Tensor, b: torch.Tensor, peak: float = 255.0) -> torch.Tensor:
    """Per-image PSNR in dB of ``(N, C, H, W)`` tensors (inf where identical)."""
    mse = (a.double() - b.double()).pow(2).flatten(1).mean(1)
    return 10.0 * torch.log10(peak ** 2 / mse)


def _gaussian_window(size: int, sigma: float, device: torch.device) -> torch.Tensor:
    x = torch.arange(size, dtype=torch.float64, device=device) - (size - 1) / 2
    g = torch.exp(-x ** 2 / (2 * sigma ** 2))
    return g / g.sum()


def ssim(a: torch.Tensor, b: torch.Tensor, peak: float = 255.0, window: int = 11,
         sigma: float = 1.5, k1: float = 0.01, k2: float = 0.03) -> torch.Tensor:
    """Per-image SSIM (Wang et al. 2004) of single-channel ``(N, 1, H, W)`` tensors, valid positions."""
    a, b = a.double(), b.double()
    if min(a.shape[-2:]) < window:
        raise ValueError(f"SSIM needs images of at least {window}×{window} pixels, got {tuple(a.shape[-2:])}")
    g = _gaussian_window(window, sigma, a.device)
    kh, kw = g.view(1, 1, -1, 1), g.view(1, 1, 1, -1)

    def blur(x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(F.conv2d(x, kh), kw)

    mu_a, mu_b = blur(a), blur(b)
    var_a = blur(a * a) - mu_a ** 2
    var_b = blur(b * b) - mu_b ** 2
    cov = blur(a * b) - mu_a * mu_b
    c1, c2 = (k1 * peak) ** 2, (k2 * peak) ** 2
    s = ((2 * mu_a * mu_b + c1) * (2 * cov + c2)) / ((mu_a ** 2 + mu_b ** 2 + c1) * (var_a + var_b + c2))
    return s.flatten(1).mean(1)


def y_psnr_ssim(output: torch.Tensor, target: torch.Tensor, border: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The SR protocol on ``[-1, 1]`` image batches: 8-bit, Y channel, ``border`` shaved; per image."""
    yo = shave(luma(quantize(output)), border)
    yt = shave(luma(quantize(target)), border)
    return psnr(yo, yt), ssim(yo, yt)


def mean(values: list[torch.Tensor]) -> float:
    return float(torch.cat([v.reshape(-1).cpu() for v in values]).mean()) if values else math.nan


__all__ = ["quantize", "luma", "shave", "psnr", "ssim", "y_psnr_ssim", "mean"]

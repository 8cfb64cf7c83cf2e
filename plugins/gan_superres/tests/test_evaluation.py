"""The SR protocol (8-bit, BT.601 Y, border shave, PSNR/SSIM) against scikit-image in float64."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from gan_superres.evaluation import luma, psnr, quantize, shave, ssim, y_psnr_ssim

skimage = pytest.importorskip("skimage")
from skimage.color import rgb2ycbcr  # noqa: E402
from skimage.metrics import peak_signal_noise_ratio, structural_similarity  # noqa: E402


def _pair(seed: int, h: int = 40, w: int = 52) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    target = torch.rand(2, 3, h, w, generator=g) * 2 - 1
    output = (target + 0.15 * torch.randn(2, 3, h, w, generator=g)).clamp(-1, 1)
    return output, target


def _reference(output: torch.Tensor, target: torch.Tensor, border: int) -> tuple[list[float], list[float]]:
    """Independent path: numpy uint8 images → skimage rgb2ycbcr Y → skimage PSNR / SSIM."""
    ps, ss = [], []
    for o, t in zip(output, target):
        o8 = np.round((o.clamp(-1, 1).double().numpy().transpose(1, 2, 0) + 1) * 127.5).astype(np.uint8)
        t8 = np.round((t.double().numpy().transpose(1, 2, 0) + 1) * 127.5).astype(np.uint8)
        yo = rgb2ycbcr(o8)[..., 0][border:-border, border:-border]
        yt = rgb2ycbcr(t8)[..., 0][border:-border, border:-border]
        ps.append(peak_signal_noise_ratio(yt, yo, data_range=255))
        ss.append(structural_similarity(yt, yo, gaussian_weights=True, sigma=1.5,
                                        use_sample_covariance=False, data_range=255))
    return ps, ss


@pytest.mark.parametrize("seed,size", [(0, (40, 52)), (1, (27, 33)), (2, (64, 64))])
def test_y_psnr_ssim_match_scikit_image(seed, size):
    output, target = _pair(seed, *size)
    p, s = y_psnr_ssim(output, target, border=4)
    ref_p, ref_s = _reference(output, target, border=4)
    np.testing.assert_allclose(p.numpy(), ref_p, rtol=0, atol=1e-6)
    np.testing.assert_allclose(s.numpy(), ref_s, rtol=0, atol=1e-6)
    assert p.dtype == s.dtype == torch.float64


def test_luma_is_matlab_rgb2ycbcr():
    rgb = torch.randint(0, 256, (1, 3, 5, 7)).double()
    ref = rgb2ycbcr(rgb[0].numpy().transpose(1, 2, 0).astype(np.uint8))[..., 0]
    np.testing.assert_allclose(luma(rgb)[0, 0].numpy(), ref, atol=1e-9)
    assert 16 <= luma(torch.zeros(1, 3, 1, 1)).item() and luma(torch.full((1, 3, 1, 1), 255.0)).item() <= 235.001


def test_border_is_removed_before_scoring():
    """Errors confined to the 4-px border do not count; one pixel inside does."""
    target = torch.zeros(1, 3, 32, 32)
    output = target.clone()
    output[..., :4, :] = 1.0
    p, s = y_psnr_ssim(output, target, border=4)
    assert torch.isinf(p).all() and torch.allclose(s, torch.ones(1, dtype=torch.float64))
    output[..., 4, 4] = 1.0
    p, _ = y_psnr_ssim(output, target, border=4)
    assert torch.isfinite(p).all()


def test_quantize_rounds_to_the_8_bit_grid():
    x = torch.tensor([-1.0, -0.999, 0.0, 1.0, 1.5])
    assert quantize(x).tolist() == [0.0, 0.0, 128.0, 255.0, 255.0]


def test_psnr_and_ssim_of_known_cases():
    a = torch.full((1, 1, 20, 20), 100.0)
    assert psnr(a, a + 10).item() == pytest.approx(10 * np.log10(255 ** 2 / 100))
    assert ssim(a, a).item() == pytest.approx(1.0)
    assert shave(a, 4).shape[-2:] == (12, 12)
    with pytest.raises(ValueError):
        ssim(a[..., :8, :8], a[..., :8, :8])

"""Shapes of the paper's networks, the sub-pixel upsampler, and tiled inference = one pass."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from gan_superres.common import tiled
from gan_superres.srgan import SRGANDiscriminator
from gan_superres.srresnet import ResidualBlock, SRResNetGenerator, SubPixelUpsampler


def test_paper_generator_layout():
    g = SRResNetGenerator()
    assert len(g.blocks) == 16 and all(isinstance(b, ResidualBlock) for b in g.blocks)
    assert len(g.upsample) == 2 and all(isinstance(u, SubPixelUpsampler) for u in g.upsample)
    assert g.head[0].kernel_size == (9, 9) and g.tail.kernel_size == (9, 9)
    assert sum(isinstance(m, nn.BatchNorm2d) for m in g.modules()) == 2 * 16 + 1
    assert sum(isinstance(m, nn.PReLU) for m in g.modules()) == 1 + 16 + 2
    assert g.receptive_radius == 40


@pytest.mark.parametrize("h,w", [(5, 7), (12, 12), (1, 3)])
def test_generator_output_is_exactly_four_times_the_input(h, w):
    g = SRResNetGenerator(3, 8, 2).eval()
    with torch.no_grad():
        assert g(torch.rand(2, 3, h, w)).shape == (2, 3, 4 * h, 4 * w)
    assert SRResNetGenerator(1, 8, 1, scale=2)(torch.rand(1, 1, 6, 6)).shape == (1, 1, 12, 12)


def test_sub_pixel_upsampler_rearranges_channels_into_space():
    """Output pixel (2i + a, 2j + b) of channel c is conv channel 4c + 2a + b at (i, j)."""
    up = SubPixelUpsampler(2)
    with torch.no_grad():
        up[2].weight.fill_(1.0)  # PReLU as identity on positives
    x = torch.rand(1, 2, 3, 4)
    conv = up[0](x)
    y = up(x)
    assert y.shape == (1, 2, 6, 8)
    for c in range(2):
        for a in range(2):
            for b in range(2):
                torch.testing.assert_close(y[0, c, a::2, b::2], conv[0, 4 * c + 2 * a + b])


def test_discriminator_is_the_papers():
    d = SRGANDiscriminator()
    convs = [m for m in d.features if isinstance(m, nn.Conv2d)]
    assert len(convs) == 8
    assert [c.out_channels for c in convs] == [64, 64, 128, 128, 256, 256, 512, 512]
    assert [c.stride[0] for c in convs] == [1, 2, 1, 2, 1, 2, 1, 2]
    lrelu = [m for m in d.modules() if isinstance(m, nn.LeakyReLU)]
    assert len(lrelu) == 9 and all(m.negative_slope == 0.2 for m in lrelu)
    dense = [m for m in d.classifier if isinstance(m, nn.Linear)]
    assert [(m.in_features, m.out_features) for m in dense] == [(512 * 6 * 6, 1024), (1024, 1)]
    assert SRGANDiscriminator(3, 20, 8, 16)(torch.rand(2, 3, 20, 20)).shape == (2, 1)


def test_tiled_inference_equals_one_pass_and_keeps_size():
    torch.manual_seed(0)
    g = SRResNetGenerator(3, 8, 2).eval()
    x = torch.rand(1, 3, 23, 37)
    with torch.no_grad():
        whole = g(x)
        pieces = tiled(g, x, 4, tile=8, context=g.receptive_radius)
        short = tiled(g, x, 4, tile=8, context=1)
    assert pieces.shape == whole.shape == (1, 3, 92, 148)
    torch.testing.assert_close(pieces, whole, rtol=0, atol=1e-5)
    assert (short - whole).abs().max() > 1e-3  # too little context shows: the comparison has teeth


def test_global_skip_adds_bicubic_to_the_residual():
    """With ``global_skip`` and a zero residual, G is exactly bicubic ×4 (in [-1, 1])."""
    import torch.nn.functional as F
    g = SRResNetGenerator(3, 8, 1, global_skip=True).eval()
    with torch.no_grad():
        g.tail.weight.zero_()
        g.tail.bias.zero_()
        x = torch.rand(1, 3, 6, 9)
        expected = F.interpolate(x, scale_factor=4, mode="bicubic", align_corners=False) * 2 - 1
        torch.testing.assert_close(g(x), expected)
        assert not torch.allclose(SRResNetGenerator(3, 8, 1).eval()(x), expected, atol=0.1)

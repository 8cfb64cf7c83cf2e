"""Shapes and receptive fields of the translation networks."""

from __future__ import annotations

import pytest
import torch

from gan_translation.networks import (PatchDiscriminator, ResnetGenerator, StarDiscriminator,
                                      StarGenerator, UNetGenerator, minimum_patch_input,
                                      patch_receptive_field)


@pytest.mark.parametrize("shape", [(1, 3, 32, 32), (2, 1, 20, 36), (1, 3, 17, 9)])
def test_unet_keeps_image_size(shape):
    n, c, h, w = shape
    g = UNetGenerator(c, 2, num_downs=5, ngf=4)
    y = g(torch.randn(shape))
    assert y.shape == (n, 2, h, w)
    assert y.abs().max() <= 1  # tanh output


def test_unet_256_has_a_one_pixel_bottleneck_and_skips():
    g = UNetGenerator(3, 3, num_downs=8, ngf=2)
    feats = []
    h = torch.randn(1, 3, 256, 256)
    for down in g.downs:
        h = down(h)
        feats.append(h.shape[-1])
    assert feats == [128, 64, 32, 16, 8, 4, 2, 1]
    # the outermost decoder block sees the first encoder block's features through the skip
    assert g.ups[-1][1].in_channels == 2 * g.downs[0][0].out_channels


def test_unet_dropout_is_its_noise_source():
    torch.manual_seed(0)
    g = UNetGenerator(3, 3, num_downs=4, ngf=4, dropout=0.5)
    x = torch.randn(2, 3, 16, 16)
    g.train()
    assert not torch.equal(g(x), g(x))  # different dropout masks
    g.eval()
    assert torch.equal(g(x), g(x))


def test_unet_batch_norm_keeps_no_running_state():
    g = UNetGenerator(3, 3, num_downs=4, ngf=4)
    before = {k: v.clone() for k, v in g.state_dict().items()}
    g.train()
    g(torch.randn(4, 3, 16, 16))
    after = g.state_dict()
    assert before.keys() == after.keys()
    assert all(torch.equal(before[k], after[k]) for k in before)


@pytest.mark.parametrize("n_blocks", [6, 9])
@pytest.mark.parametrize("shape", [(1, 3, 32, 32), (2, 1, 18, 30)])
def test_resnet_generator_keeps_image_size(shape, n_blocks):
    n, c, h, w = shape
    g = ResnetGenerator(c, 3, ngf=4, n_blocks=n_blocks)
    assert sum(type(m).__name__ == "ResnetBlock" for m in g.modules()) == n_blocks
    assert g(torch.randn(shape)).shape == (n, 3, h, w)


def test_resnet_generator_uses_reflection_padding_and_instance_norm():
    g = ResnetGenerator(3, 3, ngf=4, n_blocks=6)
    kinds = {type(m).__name__ for m in g.modules()}
    assert {"ReflectionPad2d", "InstanceNorm2d"} <= kinds
    assert "BatchNorm2d" not in kinds


def test_patchgan_maps_256_to_30x30():
    d = PatchDiscriminator(6, ndf=8, n_layers=3)
    assert d(torch.randn(1, 6, 256, 256)).shape == (1, 1, 30, 30)


def test_patchgan_receptive_field_is_70_pixels():
    assert patch_receptive_field(3) == 70
    # measured: the input pixels that influence one output of the network itself
    d = PatchDiscriminator(3, ndf=4, n_layers=3, norm="none")
    x = torch.randn(1, 3, 256, 256, requires_grad=True)
    out = d(x)
    out[0, 0, 15, 15].backward()
    rows = x.grad.abs().sum(dim=(0, 1, 3)).nonzero().flatten()
    cols = x.grad.abs().sum(dim=(0, 1, 2)).nonzero().flatten()
    assert rows.max() - rows.min() + 1 == 70
    assert cols.max() - cols.min() + 1 == 70


@pytest.mark.parametrize("n_layers", [1, 2, 3])
def test_minimum_patch_input_is_tight(n_layers):
    d = PatchDiscriminator(3, ndf=4, n_layers=n_layers, norm="none")
    size = minimum_patch_input(n_layers)
    assert d(torch.randn(1, 3, size, size)).shape[-1] == 1
    with pytest.raises(RuntimeError):
        d(torch.randn(1, 3, size - 1, size - 1))


def test_stargan_networks_shapes():
    g = StarGenerator(3, c_dim=5, conv_dim=8, repeat_num=2)
    x, c = torch.randn(2, 3, 32, 32), torch.tensor([[1., 0, 0, 1, 0], [0, 1, 0, 0, 1]])
    assert g(x, c).shape == (2, 3, 32, 32)
    assert g(torch.randn(1, 3, 30, 22), c[:1]).shape == (1, 3, 30, 22)
    d = StarDiscriminator(3, image_size=32, c_dim=5, conv_dim=8, repeat_num=4)
    src, cls = d(x)
    assert src.shape == (2, 1, 2, 2) and cls.shape == (2, 5)
    assert not any(type(m).__name__.endswith("Norm2d") for m in d.modules())  # WGAN-GP critic


def test_stargan_generator_reads_the_label():
    torch.manual_seed(0)
    g = StarGenerator(3, c_dim=3, conv_dim=8, repeat_num=1)
    x = torch.randn(1, 3, 16, 16)
    assert not torch.allclose(g(x, torch.tensor([[1., 0, 0]])), g(x, torch.tensor([[0., 1, 0]])))

"""The networks of pix2pix, CycleGAN and StarGAN.

* :class:`UNetGenerator` — pix2pix's encoder-decoder with skip connections (Isola et al. 2017, §3.2.1
  and appendix 6.1.1). Dropout in the first three decoder blocks is the generator's only noise source.
* :class:`ResnetGenerator` — the image-transformation network of Johnson et al. (2016) as used by
  CycleGAN (Zhu et al. 2017, appendix 7.2): reflection padding, instance norm, 6 or 9 residual blocks.
* :class:`PatchDiscriminator` — the 70×70 PatchGAN: a fully convolutional critic whose every output
  pixel judges one 70×70 patch (for ``n_layers=3``); it maps a 256×256 input to a 30×30 map.
* :class:`StarGenerator` / :class:`StarDiscriminator` — StarGAN (Choi et al. 2018, appendix): the
  target label is broadcast to label maps and concatenated to the image; the discriminator has a
  PatchGAN-style real/fake head and a domain-classification head.

Every generator keeps the spatial size of its input. Sizes that the strided layers cannot divide
exactly are padded (replicate) on the bottom/right and the output is cropped back, so a fully
convolutional translator can be applied to any image.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

NORMS = ("batch", "instance", "instance-affine", "none")


def norm_layer(kind: str, channels: int) -> nn.Module:
    """Normalization by name.

    ``batch`` uses the statistics of the current batch at train *and* test time
    (``track_running_stats=False``): the pix2pix paper normalises test images with test-batch
    statistics, and keeping no running buffers means evaluating a model never changes its state.
    """
    if kind == "batch":
        return nn.BatchNorm2d(channels, track_running_stats=False)
    if kind == "instance":
        return nn.InstanceNorm2d(channels, affine=False, track_running_stats=False)
    if kind == "instance-affine":
        return nn.InstanceNorm2d(channels, affine=True, track_running_stats=False)
    if kind == "none":
        return nn.Identity()
    raise ValueError(f"unknown norm {kind!r}; choose from {NORMS}")


def init_weights(module: nn.Module, gain: float = 0.02) -> nn.Module:
    """Gaussian N(0, 0.02) initialisation of convolutions and norm scales (pix2pix, CycleGAN)."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            nn.init.normal_(m.weight, 0.0, gain)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, (nn.BatchNorm2d, nn.InstanceNorm2d)) and m.weight is not None:
            nn.init.normal_(m.weight, 1.0, gain)
            nn.init.zeros_(m.bias)
    return module


def pad_to_multiple(x: torch.Tensor, multiple: int) -> tuple[torch.Tensor, tuple[int, int]]:
    """Pad H and W (bottom/right, replicate) up to a multiple; returns the original size too."""
    h, w = x.shape[-2:]
    if torch.compiler.is_compiling() or torch.jit.is_tracing() or torch.onnx.is_in_onnx_export():
        # branch-free while a graph is captured (gan export): a branch on the size would be
        # frozen for the example input and break other sizes; a zero pad is a copy
        return F.pad(x, (0, (-w) % multiple, 0, (-h) % multiple), mode="replicate"), (h, w)
    ph, pw = (-h) % multiple, (-w) % multiple
    if ph or pw:
        x = F.pad(x, (0, pw, 0, ph), mode="replicate")
    return x, (h, w)


def _crop(x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    if torch.compiler.is_compiling() or torch.jit.is_tracing() or torch.onnx.is_in_onnx_export():
        return x[..., : size[0], : size[1]]
    return x if tuple(x.shape[-2:]) == size else x[..., : size[0], : size[1]]


class UNetGenerator(nn.Module):
    """U-Net with skips between mirrored layers (encoder ``C64-C128-C256-C512-C512...``).

    ``num_downs`` halvings bring a ``2**num_downs`` image to 1×1 (U-Net-256: 8). The innermost and
    outermost encoder blocks have no normalisation; the decoder's first three blocks use dropout
    (``dropout_depths``, counted from the innermost decoder block: the paper's ``(0, 1, 2)``;
    pytorch-CycleGAN-and-pix2pix puts it on ``1 .. num_downs - 5`` instead).
    """

    def __init__(self, in_channels: int, out_channels: int, num_downs: int = 8, ngf: int = 64,
                 norm: str = "batch", dropout: float = 0.5, dropout_depths: tuple[int, ...] = (0, 1, 2)) -> None:
        super().__init__()
        if num_downs < 2:
            raise ValueError("num_downs must be at least 2")
        self.num_downs = num_downs
        use_bias = norm != "batch"  # batch norm's shift makes a conv bias redundant
        chs = [ngf * min(2 ** i, 8) for i in range(num_downs)]
        self.downs = nn.ModuleList()
        for i in range(num_downs):
            layers: list[nn.Module] = [] if i == 0 else [nn.LeakyReLU(0.2, True)]
            layers.append(nn.Conv2d(in_channels if i == 0 else chs[i - 1], chs[i], 4, 2, 1,
                                    bias=use_bias or i in (0, num_downs - 1)))
            if 0 < i < num_downs - 1:
                layers.append(norm_layer(norm, chs[i]))
            self.downs.append(nn.Sequential(*layers))
        self.ups = nn.ModuleList()
        for depth, i in enumerate(reversed(range(num_downs))):  # depth 0 = innermost decoder block
            cin = chs[i] if i == num_downs - 1 else 2 * chs[i]
            cout = out_channels if i == 0 else chs[i - 1]
            layers = [nn.ReLU(True), nn.ConvTranspose2d(cin, cout, 4, 2, 1, bias=use_bias or i == 0)]
            if i == 0:
                layers.append(nn.Tanh())
            else:
                layers.append(norm_layer(norm, cout))
                if dropout > 0 and depth in dropout_depths:
                    layers.append(nn.Dropout(dropout))
            self.ups.append(nn.Sequential(*layers))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x, size = pad_to_multiple(x, 2 ** self.num_downs)
        skips = []
        h = x
        for down in self.downs:
            h = down(h)
            skips.append(h)
        h = self.ups[0](skips[-1])
        for j, up in enumerate(self.ups[1:]):
            h = up(torch.cat([h, skips[-2 - j]], 1))
        return _crop(h, size)


class ResnetBlock(nn.Module):
    """``x + F(x)`` with two reflection-padded 3×3 convolutions (Johnson et al. 2016)."""

    def __init__(self, channels: int, norm: str, padding: str = "reflect", dropout: float = 0.0) -> None:
        super().__init__()
        pad = nn.ReflectionPad2d if padding == "reflect" else nn.ZeroPad2d
        use_bias = norm != "batch"
        layers: list[nn.Module] = [pad(1), nn.Conv2d(channels, channels, 3, bias=use_bias),
                                   norm_layer(norm, channels), nn.ReLU(True)]
        if dropout > 0:
            layers.append(nn.Dropout(dropout))
        layers += [pad(1), nn.Conv2d(channels, channels, 3, bias=use_bias), norm_layer(norm, channels)]
        self.block = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.block(x)


class ResnetGenerator(nn.Module):
    """CycleGAN generator ``c7s1-64, d128, d256, R256×n_blocks, u128, u64, c7s1-C``.

    The paper uses 6 residual blocks for 128×128 images and 9 for 256×256 and larger.
    """

    def __init__(self, in_channels: int, out_channels: int, ngf: int = 64, n_blocks: int = 9,
                 norm: str = "instance", dropout: float = 0.0) -> None:
        super().__init__()
        use_bias = norm != "batch"
        layers: list[nn.Module] = [nn.ReflectionPad2d(3), nn.Conv2d(in_channels, ngf, 7, bias=use_bias),
                                   norm_layer(norm, ngf), nn.ReLU(True)]
        ch = ngf
        for _ in range(2):
            layers += [nn.Conv2d(ch, ch * 2, 3, 2, 1, bias=use_bias), norm_layer(norm, ch * 2), nn.ReLU(True)]
            ch *= 2
        layers += [ResnetBlock(ch, norm, "reflect", dropout) for _ in range(n_blocks)]
        for _ in range(2):
            layers += [nn.ConvTranspose2d(ch, ch // 2, 3, 2, 1, output_padding=1, bias=use_bias),
                       norm_layer(norm, ch // 2), nn.ReLU(True)]
            ch //= 2
        layers += [nn.ReflectionPad2d(3), nn.Conv2d(ch, out_channels, 7), nn.Tanh()]
        self.model = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x, size = pad_to_multiple(x, 4)
        return _crop(self.model(x), size)


class PatchDiscriminator(nn.Module):
    """PatchGAN ``C64-C128-C256-C512`` (first layer without norm) then a 1-channel 4×4 conv.

    Strides 2, 2, 2, 1, 1 with 4×4 kernels give every output a 70×70 receptive field for
    ``n_layers=3`` (34×34 for 2, 142×142 for 4). Outputs are raw logits.
    """

    def __init__(self, in_channels: int, ndf: int = 64, n_layers: int = 3, norm: str = "batch") -> None:
        super().__init__()
        use_bias = norm != "batch"
        layers: list[nn.Module] = [nn.Conv2d(in_channels, ndf, 4, 2, 1), nn.LeakyReLU(0.2, True)]
        mult = 1
        for n in range(1, n_layers):
            prev, mult = mult, min(2 ** n, 8)
            layers += [nn.Conv2d(ndf * prev, ndf * mult, 4, 2, 1, bias=use_bias),
                       norm_layer(norm, ndf * mult), nn.LeakyReLU(0.2, True)]
        prev, mult = mult, min(2 ** n_layers, 8)
        layers += [nn.Conv2d(ndf * prev, ndf * mult, 4, 1, 1, bias=use_bias),
                   norm_layer(norm, ndf * mult), nn.LeakyReLU(0.2, True),
                   nn.Conv2d(ndf * mult, 1, 4, 1, 1)]
        self.model = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)


def patch_receptive_field(n_layers: int) -> int:
    """Receptive field of one PatchGAN output (kernel 4; strides 2×n_layers, then 1, 1)."""
    rf, jump = 1, 1
    for stride in [2] * n_layers + [1, 1]:
        rf += (4 - 1) * jump
        jump *= stride
    return rf


def minimum_patch_input(n_layers: int) -> int:
    """Smallest square input for which a PatchGAN still produces at least a 1×1 map."""
    size = 1
    for _ in range(2):  # the two stride-1 convs (k=4, p=1) each shrink the map by one
        size += 1
    for _ in range(n_layers):  # each stride-2 conv (k=4, p=1) halves it
        size *= 2
    return size


class StarGenerator(nn.Module):
    """StarGAN generator: ``[x; label maps]`` → conv7 → two downsamplings → residual blocks → two
    upsamplings → conv7 → tanh, with affine instance norm (Choi et al. 2018, table 4)."""

    def __init__(self, channels: int, c_dim: int, conv_dim: int = 64, repeat_num: int = 6) -> None:
        super().__init__()
        layers: list[nn.Module] = [nn.Conv2d(channels + c_dim, conv_dim, 7, 1, 3, bias=False),
                                   norm_layer("instance-affine", conv_dim), nn.ReLU(True)]
        ch = conv_dim
        for _ in range(2):
            layers += [nn.Conv2d(ch, ch * 2, 4, 2, 1, bias=False), norm_layer("instance-affine", ch * 2),
                       nn.ReLU(True)]
            ch *= 2
        layers += [ResnetBlock(ch, "instance-affine", padding="zero") for _ in range(repeat_num)]
        for _ in range(2):
            layers += [nn.ConvTranspose2d(ch, ch // 2, 4, 2, 1, bias=False),
                       norm_layer("instance-affine", ch // 2), nn.ReLU(True)]
            ch //= 2
        layers += [nn.Conv2d(ch, channels, 7, 1, 3, bias=False), nn.Tanh()]
        self.model = nn.Sequential(*layers)
        self.c_dim = c_dim

    def forward(self, x: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        x, size = pad_to_multiple(x, 4)
        maps = c.to(x.dtype)[:, :, None, None].expand(-1, -1, x.shape[2], x.shape[3])
        return _crop(self.model(torch.cat([x, maps], 1)), size)


class StarDiscriminator(nn.Module):
    """StarGAN critic: ``repeat_num`` stride-2 4×4 convs (leaky ReLU 0.01, no normalisation, as
    WGAN-GP requires) feeding a 3×3 real/fake patch head and a domain head whose kernel covers the
    whole final feature map (``image_size / 2**repeat_num``)."""

    def __init__(self, channels: int, image_size: int, c_dim: int, conv_dim: int = 64,
                 repeat_num: int = 6) -> None:
        super().__init__()
        if image_size % 2 ** repeat_num:
            raise ValueError(f"image_size {image_size} is not divisible by 2**{repeat_num}")
        layers: list[nn.Module] = [nn.Conv2d(channels, conv_dim, 4, 2, 1), nn.LeakyReLU(0.01)]
        ch = conv_dim
        for _ in range(1, repeat_num):
            layers += [nn.Conv2d(ch, ch * 2, 4, 2, 1), nn.LeakyReLU(0.01)]
            ch *= 2
        self.main = nn.Sequential(*layers)
        self.src = nn.Conv2d(ch, 1, 3, 1, 1, bias=False)
        self.cls = nn.Conv2d(ch, c_dim, image_size // 2 ** repeat_num, bias=False)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.main(x)
        return self.src(h), self.cls(h).flatten(1)


def auto_repeat(image_size: int, final: int = 2) -> int:
    """Strided layers that bring ``image_size`` down to ``final`` (StarGAN: 6 for 128 → 2)."""
    return max(1, int(round(math.log2(image_size / final))))


__all__ = [
    "NORMS", "norm_layer", "init_weights", "pad_to_multiple", "UNetGenerator", "ResnetBlock",
    "ResnetGenerator", "PatchDiscriminator", "patch_receptive_field", "minimum_patch_input",
    "StarGenerator", "StarDiscriminator", "auto_repeat",
]

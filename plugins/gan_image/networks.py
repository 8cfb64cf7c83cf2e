"""Networks shared by the image GAN families.

Generators take one flat input vector (noise, concatenated with one-hot labels or latent codes by
the recipe) and return images in ``[-1, 1]``. Discriminators return a dict of named outputs: the raw
adversarial score ``"adv"`` of shape ``(N,)`` plus any auxiliary heads (``"cls"`` for AC-GAN, ``"q"``
for InfoGAN) computed on the same body features, so the families differ only in which heads they
attach and how they use them.

Three architectures, selected by ``arch``:

``mlp``
    Fully connected nets of Goodfellow et al. (2014): ReLU generator with a tanh output,
    LeakyReLU(0.2) discriminator.
``dcgan``
    Radford et al. (2015): strided (transposed) convolutions instead of pooling, batch norm in G and
    D (not on G's output nor D's input layer), ReLU in G with tanh output, LeakyReLU(0.2) in D, no
    fully connected hidden layers, N(0, 0.02) initialisation. Works for any side ``b·2^k`` with
    ``4 ≤ b ≤ 8`` and ``k ≥ 1`` (28 = 7·4, 32 = 4·8, 64 = 4·16): G projects the input to a ``b×b``
    map with a transposed convolution (a matrix multiply, as in the paper) and doubles the size k
    times; D mirrors it.
``small-mnist``
    The compact MNIST architecture of the InfoGAN paper (Chen et al., 2016, appendix C.1):
    G = FC 1024 → FC (s/4)²·128 → two transposed convolutions; D = two strided convolutions →
    FC 1024. Side ``s`` must be a multiple of 4.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from gan import GanError

ARCHS = ("mlp", "dcgan", "small-mnist")


def init_weights(module: nn.Module, std: float = 0.02) -> None:
    """DCGAN initialisation: conv/linear weights N(0, std), norm scales N(1, std), biases zero."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            nn.init.normal_(m.weight, 0.0, std)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d, nn.GroupNorm, nn.LayerNorm)):
            if m.weight is not None:
                nn.init.normal_(m.weight, 1.0, std)
                nn.init.zeros_(m.bias)


def reset_default_init(module: nn.Module) -> None:
    """PyTorch's own initialisation (Kaiming-uniform weights scaled to each layer's fan-in)."""
    for m in module.modules():
        if m is not module and hasattr(m, "reset_parameters"):
            m.reset_parameters()


def size_plan(size: int) -> tuple[int, int]:
    """``(base, doublings)`` with ``base · 2**doublings == size``, ``4 ≤ base ≤ 8``."""
    base, k = size, 0
    while base % 2 == 0 and base > 7:
        base //= 2
        k += 1
    if k < 1 or base > 8 or base < 4:
        raise GanError(f"image size {size} does not fit the convolutional nets: expected b·2^k "
                       f"with 4 ≤ b ≤ 8 and k ≥ 1 (e.g. 16, 28, 32, 64); set --set data.image_size=...")
    return base, k


def norm_layer(kind: str, channels: int, dims: int = 2) -> nn.Module:
    """``batch`` | ``layer`` | ``spectral`` | ``none``. Layer norm on conv maps normalises each sample
    over (C, H, W) (``GroupNorm(1, C)``), the critic normalisation WGAN-GP recommends since batch norm
    breaks the per-sample gradient penalty. ``spectral`` adds no layer here: it re-parametrises the
    weights (:func:`spectral_normalise`) once the whole net, heads included, is built."""
    if kind in ("none", "spectral"):
        return nn.Identity()
    if kind == "batch":
        return nn.BatchNorm2d(channels) if dims == 2 else nn.BatchNorm1d(channels)
    if kind == "layer":
        return nn.GroupNorm(1, channels) if dims == 2 else nn.LayerNorm(channels)
    raise GanError(f"--set d_norm={kind!r}: expected batch, layer, spectral or none")


def spectral_normalise(net: nn.Module) -> nn.Module:
    """Spectral normalisation (Miyato et al., 2018) of every convolution and linear layer of ``net``:
    each weight is divided by its largest singular value (one power iteration per training forward),
    so D is 1-Lipschitz per layer without any per-batch statistics. Unlike batch norm it keeps real
    and fake batches independent, and unlike a gradient penalty it costs almost nothing."""
    from torch.nn.utils.parametrizations import spectral_norm
    from torch.nn.utils.parametrize import is_parametrized

    for m in list(net.modules()):
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)) and not is_parametrized(m, "weight"):
            spectral_norm(m)
    return net


def one_hot_planes(y: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """``(N, K)`` one-hot → ``(N, K, H, W)`` constant planes (conditioning a conv net's input)."""
    return y[:, :, None, None].expand(-1, -1, *size)


# --- generators ----------------------------------------------------------------------------------
class MLPGenerator(nn.Module):
    """``in_dim → hidden... → C·H·W`` with ReLU (after batch norm with ``norm``) and a tanh output."""

    def __init__(self, in_dim: int, out_shape: Sequence[int], hidden: Sequence[int] = (1024, 1024),
                 norm: bool = False) -> None:
        super().__init__()
        self.out_shape = tuple(out_shape)
        layers: list[nn.Module] = []
        d = in_dim
        for h in hidden:
            layers += [nn.Linear(d, h, bias=not norm), nn.BatchNorm1d(h) if norm else nn.Identity(),
                       nn.ReLU(inplace=True)]
            d = h
        layers += [nn.Linear(d, math.prod(self.out_shape)), nn.Tanh()]
        self.net = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z).view(z.shape[0], *self.out_shape)


class DCGANGenerator(nn.Module):
    """Radford et al. (2015) generator for any ``b·2^k`` side (see :func:`size_plan`).

    ``width`` is the channel count of the last hidden layer; each earlier layer doubles it, so a
    64×64 generator with ``width=128`` is the paper's 1024 → 512 → 256 → 128 → 3.
    """

    def __init__(self, in_dim: int, out_shape: Sequence[int], width: int = 64) -> None:
        super().__init__()
        c, h, _ = out_shape
        base, k = size_plan(h)
        ch = width * 2 ** (k - 1)
        layers: list[nn.Module] = [nn.ConvTranspose2d(in_dim, ch, base, 1, 0, bias=False),
                                   nn.BatchNorm2d(ch), nn.ReLU(inplace=True)]
        for _ in range(k - 1):
            layers += [nn.ConvTranspose2d(ch, ch // 2, 4, 2, 1, bias=False), nn.BatchNorm2d(ch // 2),
                       nn.ReLU(inplace=True)]
            ch //= 2
        layers += [nn.ConvTranspose2d(ch, c, 4, 2, 1), nn.Tanh()]
        self.net = nn.Sequential(*layers)
        init_weights(self)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z[:, :, None, None])


class SmallMNISTGenerator(nn.Module):
    """InfoGAN's MNIST generator: FC 1024 → FC (s/4)²·128 → up-conv 64 → up-conv C (tanh)."""

    def __init__(self, in_dim: int, out_shape: Sequence[int], width: int = 64) -> None:
        super().__init__()
        c, h, w = out_shape
        if h % 4 or w % 4:
            raise GanError(f"arch small-mnist needs an image side divisible by 4, got {h}×{w}")
        self.base = (h // 4, w // 4)
        self.fc = nn.Sequential(
            nn.Linear(in_dim, 1024, bias=False), nn.BatchNorm1d(1024), nn.ReLU(inplace=True),
            nn.Linear(1024, 2 * width * self.base[0] * self.base[1], bias=False),
            nn.BatchNorm1d(2 * width * self.base[0] * self.base[1]), nn.ReLU(inplace=True))
        self.conv = nn.Sequential(
            nn.ConvTranspose2d(2 * width, width, 4, 2, 1, bias=False), nn.BatchNorm2d(width),
            nn.ReLU(inplace=True), nn.ConvTranspose2d(width, c, 4, 2, 1), nn.Tanh())
        init_weights(self)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.conv(self.fc(z).view(z.shape[0], -1, *self.base))


class UpsampleConvGenerator(nn.Module):
    """The DCGAN-style generator of eriklindernoren/PyTorch-GAN (``implementations/dcgan``), kept so
    that its checkpoints can be imported exactly (``gan import --from pytorch-gan``).

    FC → ``2·width × s/4 × s/4`` → BN → (nearest ×2, 3×3 conv, BN, LeakyReLU 0.2) × 2 → 3×3 conv → tanh.
    Resize-convolutions instead of transposed ones; the two inner batch norms have ``eps=0.8``
    because that code passes 0.8 as ``BatchNorm2d``'s second positional argument, which is eps.
    """

    def __init__(self, in_dim: int, out_shape: Sequence[int], width: int = 64, eps: float = 0.8) -> None:
        super().__init__()
        c, h, w = out_shape
        if h % 4 or w % 4:
            raise GanError(f"g_arch upsample-conv needs an image side divisible by 4, got {h}×{w}")
        self.base = (h // 4, w // 4)
        self.fc = nn.Linear(in_dim, 2 * width * self.base[0] * self.base[1])
        self.conv = nn.Sequential(
            nn.BatchNorm2d(2 * width), nn.Upsample(scale_factor=2),
            nn.Conv2d(2 * width, 2 * width, 3, 1, 1), nn.BatchNorm2d(2 * width, eps=eps),
            nn.LeakyReLU(0.2, inplace=True), nn.Upsample(scale_factor=2),
            nn.Conv2d(2 * width, width, 3, 1, 1), nn.BatchNorm2d(width, eps=eps),
            nn.LeakyReLU(0.2, inplace=True), nn.Conv2d(width, c, 3, 1, 1), nn.Tanh())
        init_weights(self)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.conv(self.fc(z).view(z.shape[0], -1, *self.base))


# --- discriminators ------------------------------------------------------------------------------
class Discriminator(nn.Module):
    """A body producing ``(N, feature_dim)`` features plus named linear heads.

    ``forward(x, y=None)`` returns ``{"adv": (N,), <head>: (N, dim), ...}``; ``y`` (one-hot labels)
    conditions the body's input when the net was built with ``cond_dim > 0`` (cGAN). Auxiliary heads
    are added after construction (``D.heads["cls"] = nn.Linear(D.feature_dim, K)``) because their
    input width is only known once the body exists.
    """

    feature_dim: int

    def __init__(self) -> None:
        super().__init__()
        self.heads = nn.ModuleDict()
        self.tail: nn.Module = nn.Identity()  # a batch-aware layer before the heads (gan.stabilisers)
        self.pack: nn.Module = nn.Identity()  # PacGAN: packs of m inputs (gan.stabilisers.Pack)

    def features(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        raise NotImplementedError

    def input_features(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        """The body's features of a batch as D sees it (packed when ``pack`` is set), before the
        batch-aware tail: what feature matching compares."""
        return self.features(self.pack(x), y)

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        f = self.tail(self.input_features(x, y))
        out = {name: head(f) for name, head in self.heads.items()}
        out["adv"] = out["adv"].squeeze(1)
        return out


class MLPDiscriminator(Discriminator):
    """``C·H·W (+ K) → hidden... → 1`` with LeakyReLU(0.2) (and dropout); labels are appended to
    the input."""

    def __init__(self, in_shape: Sequence[int], hidden: Sequence[int] = (256, 256), cond_dim: int = 0,
                 dropout: float = 0.0) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        d = math.prod(in_shape) + cond_dim
        for h in hidden:
            layers += [nn.Linear(d, h), nn.LeakyReLU(0.2, inplace=True)]
            if dropout:
                layers.append(nn.Dropout(dropout))
            d = h
        self.body = nn.Sequential(*layers)
        self.feature_dim = d
        self.heads["adv"] = nn.Linear(d, 1)

    def features(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        x = x.flatten(1)
        return self.body(x if y is None else torch.cat([x, y.to(x.dtype)], 1))


class DCGANDiscriminator(Discriminator):
    """Radford et al. (2015) discriminator: strided convolutions, LeakyReLU(0.2), ``norm`` after
    every convolution but the first; the adversarial head is linear on the final ``b×b`` map."""

    def __init__(self, in_shape: Sequence[int], width: int = 64, norm: str = "batch", cond_dim: int = 0) -> None:
        super().__init__()
        c, h, _ = in_shape
        base, k = size_plan(h)
        layers: list[nn.Module] = [nn.Conv2d(c + cond_dim, width, 4, 2, 1), nn.LeakyReLU(0.2, inplace=True)]
        ch = width
        for _ in range(k - 1):
            layers += [nn.Conv2d(ch, ch * 2, 4, 2, 1, bias=norm in ("none", "spectral")), norm_layer(norm, ch * 2),
                       nn.LeakyReLU(0.2, inplace=True)]
            ch *= 2
        self.body = nn.Sequential(*layers)
        self.out_channels, self.base = ch, base
        self.feature_dim = ch * base * base
        self.heads["adv"] = nn.Linear(self.feature_dim, 1)
        init_weights(self)

    def feature_map(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        if y is not None:
            x = torch.cat([x, one_hot_planes(y.to(x.dtype), x.shape[-2:])], 1)
        return self.body(x)

    def features(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        return self.feature_map(x, y).flatten(1)


class SmallMNISTDiscriminator(Discriminator):
    """InfoGAN's MNIST discriminator: conv 64 → conv 128 (norm) → FC 1024 (norm), LeakyReLU(0.2)."""

    def __init__(self, in_shape: Sequence[int], width: int = 64, norm: str = "batch", cond_dim: int = 0) -> None:
        super().__init__()
        c, h, w = in_shape
        if h % 4 or w % 4:
            raise GanError(f"arch small-mnist needs an image side divisible by 4, got {h}×{w}")
        self.body = nn.Sequential(
            nn.Conv2d(c + cond_dim, width, 4, 2, 1), nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(width, 2 * width, 4, 2, 1, bias=norm in ("none", "spectral")), norm_layer(norm, 2 * width),
            nn.LeakyReLU(0.2, inplace=True), nn.Flatten(),
            nn.Linear(2 * width * (h // 4) * (w // 4), 1024, bias=norm in ("none", "spectral")),
            norm_layer(norm, 1024, 1),
            nn.LeakyReLU(0.2, inplace=True))
        self.feature_dim = 1024
        self.heads["adv"] = nn.Linear(1024, 1)
        init_weights(self)

    def features(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        if y is not None:
            x = torch.cat([x, one_hot_planes(y.to(x.dtype), x.shape[-2:])], 1)
        return self.body(x)


def build_generator(arch: str, in_dim: int, out_shape: Sequence[int], *, width: int = 64,
                    hidden: Sequence[int] = (1024, 1024), mlp_norm: bool = False) -> nn.Module:
    if arch == "mlp":
        return MLPGenerator(in_dim, out_shape, hidden, mlp_norm)
    if arch == "dcgan":
        return DCGANGenerator(in_dim, out_shape, width)
    if arch == "small-mnist":
        return SmallMNISTGenerator(in_dim, out_shape, width)
    if arch == "upsample-conv":
        return UpsampleConvGenerator(in_dim, out_shape, width)
    raise GanError(f"--set arch={arch!r}: expected one of {', '.join(ARCHS)}")


def build_discriminator(arch: str, in_shape: Sequence[int], *, width: int = 64, norm: str = "batch",
                        cond_dim: int = 0, hidden: Sequence[int] = (256, 256),
                        dropout: float = 0.0) -> Discriminator:
    if arch == "mlp":
        return MLPDiscriminator(in_shape, hidden, cond_dim, dropout)
    if arch == "dcgan":
        return DCGANDiscriminator(in_shape, width, norm, cond_dim)
    if arch == "small-mnist":
        return SmallMNISTDiscriminator(in_shape, width, norm, cond_dim)
    raise GanError(f"--set arch={arch!r}: expected one of {', '.join(ARCHS)}")


# --- EBGAN: an auto-encoder as discriminator -----------------------------------------------------
class AutoEncoderDiscriminator(nn.Module):
    """EBGAN's discriminator (Zhao, Mathieu & LeCun, 2017): ``D(x) = ||Dec(Enc(x)) - x||²``.

    The encoder is the DCGAN discriminator body (strided convolutions down to a ``b×b`` map) followed
    by a linear bottleneck of ``code_dim`` units; the decoder mirrors it with transposed
    convolutions. The bottleneck is what makes reconstruction error an energy: an auto-encoder with
    an over-complete code reconstructs everything, fakes included. Returns ``{"energy": (N,),
    "code": (N, code_dim)}``: the per-sample mean squared reconstruction error and the code (the
    pull-away term is computed on it).
    """

    def __init__(self, in_shape: Sequence[int], width: int = 64, norm: str = "batch", code_dim: int = 32) -> None:
        super().__init__()
        c, h, _ = in_shape
        self.encoder = DCGANDiscriminator(in_shape, width, norm)
        del self.encoder.heads["adv"]
        ch, base, k = self.encoder.out_channels, self.encoder.base, size_plan(h)[1]
        self.to_code = nn.Linear(self.encoder.feature_dim, code_dim)
        self.from_code = nn.Sequential(nn.Linear(code_dim, self.encoder.feature_dim, bias=norm == "none"),
                                       norm_layer(norm, self.encoder.feature_dim, 1), nn.ReLU(inplace=True),
                                       nn.Unflatten(1, (ch, base, base)))
        layers: list[nn.Module] = []
        for _ in range(k - 1):
            layers += [nn.ConvTranspose2d(ch, ch // 2, 4, 2, 1, bias=norm == "none"),
                       norm_layer(norm, ch // 2), nn.ReLU(inplace=True)]
            ch //= 2
        layers += [nn.ConvTranspose2d(ch, c, 4, 2, 1), nn.Tanh()]
        self.decoder = nn.Sequential(*layers)
        init_weights(self)

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        code = self.to_code(self.encoder.features(x))
        recon = self.decoder(self.from_code(code))
        energy = (recon.float() - x.float()).square().flatten(1).mean(1)
        return {"energy": energy, "code": code}


# --- LAPGAN: one conditional GAN per pyramid level -----------------------------------------------
def downsample(x: torch.Tensor) -> torch.Tensor:
    """One pyramid level down (2×2 average)."""
    return F.avg_pool2d(x, 2)


def upsample(x: torch.Tensor) -> torch.Tensor:
    """One pyramid level up (bilinear ×2)."""
    return F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)


class ResidualGenerator(nn.Module):
    """LAPGAN level generator ``G_k(z_k, l_k)``: a small convnet on the upsampled coarser image
    ``l_k`` with the noise as an extra input plane (Denton et al., 2015); outputs the band-pass
    residual ``h_k`` (no tanh: residuals are small and signed)."""

    def __init__(self, channels: int, width: int = 64) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(channels + 1, width, 5, 1, 2), nn.BatchNorm2d(width), nn.ReLU(inplace=True),
            nn.Conv2d(width, width, 5, 1, 2), nn.BatchNorm2d(width), nn.ReLU(inplace=True),
            nn.Conv2d(width, channels, 5, 1, 2))
        init_weights(self)

    def forward(self, z: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        return self.net(torch.cat([cond, z.view(cond.shape[0], 1, *cond.shape[-2:]).to(cond.dtype)], 1))


class ResidualDiscriminator(nn.Module):
    """LAPGAN level discriminator ``D_k(h_k, l_k)``: strided convnet on the residual stacked with
    the coarse image it refines; returns the raw score ``(N,)``."""

    def __init__(self, channels: int, size: int, width: int = 64, norm: str = "batch") -> None:
        super().__init__()
        layers: list[nn.Module] = [nn.Conv2d(2 * channels, width, 5, 1, 2), nn.LeakyReLU(0.2, inplace=True),
                                   nn.Conv2d(width, width, 4, 2, 1, bias=norm == "none"),
                                   norm_layer(norm, width), nn.LeakyReLU(0.2, inplace=True)]
        self.body = nn.Sequential(*layers)
        self.head = nn.Linear(width * (size // 2) ** 2, 1)
        init_weights(self)

    def forward(self, h: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(torch.cat([h, cond], 1)).flatten(1)).squeeze(1)


class LaplacianGenerator(nn.Module):
    """All LAPGAN generators: level 0 makes the coarsest image from noise, level k > 0 the residual
    of level k given the upsampled level k-1.

    ``forward(noises, conds)`` runs every level at once on given conditions (training: the real
    coarse images), so all parameters take part in one call; :meth:`chain` samples coarse to fine.
    """

    def __init__(self, shape: Sequence[int], levels: int, z_dim: int, width: int,
                 hidden: Sequence[int]) -> None:
        super().__init__()
        c, h, w = shape
        coarse = (c, h >> (levels - 1), w >> (levels - 1))
        self.sizes = [(h >> (levels - 1 - k), w >> (levels - 1 - k)) for k in range(levels)]
        self.coarsest = MLPGenerator(z_dim, coarse, hidden, norm=True)
        self.refiners = nn.ModuleList(ResidualGenerator(c, width) for _ in range(levels - 1))

    def forward(self, noises: list[torch.Tensor], conds: list[torch.Tensor]) -> list[torch.Tensor]:
        """``noises[0]``: ``(N, z_dim)``; ``noises[k]``: ``(N, H_k·W_k)``; ``conds[k-1]``: the
        upsampled coarser image for level k. Returns ``[image_0, residual_1, ...]``."""
        return [self.coarsest(noises[0])] + [g(z, l) for g, z, l in zip(self.refiners, noises[1:], conds)]

    def chain(self, noises: list[torch.Tensor]) -> list[torch.Tensor]:
        """Sample coarse to fine: ``I_0 = G_0(z_0)``, ``I_k = u(I_{k-1}) + G_k(z_k, u(I_{k-1}))``;
        returns every level's image (the last is the sample)."""
        return self.refine(self.coarsest(noises[0]), noises[1:])

    def refine(self, image: torch.Tensor, noises: list[torch.Tensor]) -> list[torch.Tensor]:
        """Run the finest ``len(noises)`` refiners on ``image`` (an image of the level below them,
        generated or real); returns ``[image, ...]`` up to the finest level."""
        images = [image]
        for g, z in zip(self.refiners[len(self.refiners) - len(noises):], noises):
            low = upsample(images[-1])
            images.append((low + g(z, low)).clamp(-1, 1))
        return images


class LaplacianDiscriminator(nn.Module):
    """All LAPGAN discriminators; ``forward(images_and_residuals, conds)`` → list of ``(N,)`` scores."""

    def __init__(self, shape: Sequence[int], levels: int, width: int, norm: str,
                 hidden: Sequence[int], dropout: float = 0.5) -> None:
        super().__init__()
        c, h, w = shape
        coarse = (c, h >> (levels - 1), w >> (levels - 1))
        self.coarsest = MLPDiscriminator(coarse, hidden, dropout=dropout)
        self.refiners = nn.ModuleList(ResidualDiscriminator(c, h >> (levels - 1 - k), width, norm)
                                      for k in range(1, levels))

    def forward(self, xs: list[torch.Tensor], conds: list[torch.Tensor]) -> list[torch.Tensor]:
        return [self.level(k, x, conds[k - 1] if k else None) for k, x in enumerate(xs)]

    def level(self, k: int, x: torch.Tensor, cond: torch.Tensor | None) -> torch.Tensor:
        """Level ``k``'s scores ``(N,)``: the coarsest D on ``I_0`` (k = 0) or refiner D on ``(h_k, l_k)``."""
        return self.coarsest(x)["adv"] if k == 0 else self.refiners[k - 1](x, cond)

"""``gan import --from pytorch-gan``: eriklindernoren/PyTorch-GAN's DCGAN-style generator → ours.

That generator (``implementations/dcgan/dcgan.py``; ``lsgan`` uses the same one) is a linear layer
``l1.0`` followed by ``conv_blocks`` = BN, upsample, conv, BN(eps 0.8), LeakyReLU, upsample, conv,
BN(eps 0.8), LeakyReLU, conv, tanh. It is not our transposed-convolution DCGAN, so it is imported
into :class:`~.networks.UpsampleConvGenerator` (``g_arch=upsample-conv``), which has the same layers
in the same order: the mapping is exact, running statistics included. Its conditional variants
(cgan, acgan: label embeddings) have no counterpart here and are refused.

PyTorch-GAN samples with the generator in training mode (batch statistics); ours samples in eval
mode (running statistics), the usual inference semantics.
"""

from __future__ import annotations

from typing import Any

import torch

from gan.errors import GanError
from gan.importers import KeyMap, apply_key_map

LAYERS = (0, 2, 3, 6, 7, 9)  # conv_blocks indices holding weights (BN, conv, BN, conv, BN, conv)


def _check_source(source: str, recipe_cls: Any) -> None:
    if source != "pytorch-gan":
        raise GanError(f"--from {source}: model {recipe_cls.name!r} imports from pytorch-gan only")
    from .base import ImageGANRecipe
    plain_input = recipe_cls.generator_input_dim is ImageGANRecipe.generator_input_dim
    if recipe_cls.label_conditioned_g or not plain_input or recipe_cls.name == "lapgan":
        raise GanError(f"--plugin {recipe_cls.name}: only unconditional noise → image models (dcgan, "
                       f"lsgan, wgan, wgan-gp, gan, ebgan) can take PyTorch-GAN's DCGAN generator")


def import_config(recipe_cls: Any, source: str, states: list[dict[str, torch.Tensor]], labels: list[str],
                  **options: Any) -> dict[str, Any]:
    _check_source(source, recipe_cls)
    if options:
        raise GanError(f"--{next(iter(options)).replace('_', '-')} does not apply to --from {source}")
    if len(states) != 1:
        raise GanError("--from pytorch-gan takes one generator file")
    sd = states[0]
    for key in ("l1.0.weight", "conv_blocks.2.weight", "conv_blocks.9.weight"):
        if key not in sd:
            raise GanError(f"{labels[0]}: key {key!r} is missing: not PyTorch-GAN's DCGAN-style generator "
                           f"(l1.0 + conv_blocks)")
    width = int(sd["conv_blocks.9.weight"].shape[1])
    cells = int(sd["l1.0.weight"].shape[0]) // (2 * width)
    side = int(round(cells ** 0.5))
    return {"g_arch": "upsample-conv", "arch": "dcgan", "z_dim": int(sd["l1.0.weight"].shape[1]),
            "g_width": width, "data.image_size": 4 * side}


def key_map(module: Any) -> KeyMap:
    km = KeyMap("PyTorch-GAN DCGAN-style generator")
    for p in ("weight", "bias"):
        km.add(f"l1.0.{p}", f"fc.{p}")
    state = module.state_dict()
    for i in LAYERS:
        for suffix in ("weight", "bias", "running_mean", "running_var", "num_batches_tracked"):
            if f"conv.{i}.{suffix}" in state:
                km.add(f"conv_blocks.{i}.{suffix}", f"conv.{i}.{suffix}")
    return km


def import_weights(recipe: Any, source: str, states: list[dict[str, torch.Tensor]], labels: list[str],
                   **options: Any) -> None:
    from .networks import UpsampleConvGenerator
    g = recipe.models["G"]
    if not isinstance(g, UpsampleConvGenerator):
        raise GanError(f"--plugin {recipe.name}: its generator is {type(g).__name__}; PyTorch-GAN weights "
                       f"need g_arch=upsample-conv")
    apply_key_map(g, states[0], key_map(g), labels[0],
                  hint=f"z_dim={recipe.config.z_dim}, g_width={recipe.config.g_width}, "
                       f"image {'×'.join(map(str, recipe.image_shape))}")

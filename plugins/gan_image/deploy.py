"""What ``gan export`` deploys for the image GANs: the sampling generator, latent inputs → image.

The exported module takes the tensors of :meth:`ImageGANRecipe.latent` as separate named inputs
(``z``; ``y`` for class-conditional models; InfoGAN's ``c`` and ``u``; LAPGAN's per-level ``z0``,
``z1``, ...) and runs the recipe's own :meth:`generate` on them, so whatever a family does between
latent and image (one-hot labels, code concatenation, the Laplacian chain) is in the graph.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from gan.export import ExportSpec, check_options, inference_copy

IMAGE_OUTPUT = {"name": "image", "layout": "NCHW", "dtype": "float32", "range": [-1.0, 1.0],
                "to_uint8": "round((clamp(image, -1, 1) + 1) * 127.5)"}


class LatentToImage(nn.Module):
    """``forward(*latent tensors)`` → images, through the recipe's ``generate`` (not a submodule:
    only the generator's weights go into the file)."""

    def __init__(self, recipe: Any, generator: nn.Module, keys: list[str]) -> None:
        super().__init__()
        self.g = generator
        self.keys = keys
        self._generate = recipe.generate

    def forward(self, *latent: torch.Tensor) -> torch.Tensor:
        return self._generate(dict(zip(self.keys, latent)), self.g)


def describe_input(recipe: Any, key: str, example: torch.Tensor) -> dict[str, Any]:
    c = recipe.config
    shape = ["batch", *example.shape[1:]]
    if key == "y":
        return {"name": key, "shape": shape, "dtype": "int64", "meaning": "class index",
                "range": [0, recipe.num_classes - 1], "classes": list(recipe.dataset.classes)}
    if key == "c":
        return {"name": key, "shape": shape, "dtype": "int64", "meaning": "categorical latent code",
                "range": [0, c.categorical - 1]}
    if key == "u":
        return {"name": key, "shape": shape, "dtype": "float32", "meaning": "continuous latent codes",
                "distribution": "uniform on [-1, 1]"}
    return {"name": key, "shape": shape, "dtype": "float32", "distribution": "standard normal",
            "meaning": "noise" if key == "z" else f"noise of pyramid level {key[1:]}"}


def image_export_modules(recipe: Any, **options: Any) -> list[ExportSpec]:
    check_options(recipe.name, options, ())
    template = recipe.latent(2, generator=torch.Generator().manual_seed(0))
    keys = list(template)
    g = inference_copy(recipe.eval_model("G"))
    module = LatentToImage(recipe, g, keys)

    def make_inputs(n: int, size: Any, gen: torch.Generator) -> tuple[torch.Tensor, ...]:
        lat = recipe.latent(n, generator=gen)
        return tuple(lat[k].cpu() for k in keys)

    c, h, w = recipe.image_shape
    meta = {"inputs": [describe_input(recipe, k, template[k]) for k in keys],
            "outputs": [{**IMAGE_OUTPUT, "shape": ["batch", c, h, w]}],
            "inference": "eval mode (batch norm on running statistics); EMA weights when the run kept them"}
    return [ExportSpec("G", module, keys, ["image"], make_inputs, metadata=meta)]

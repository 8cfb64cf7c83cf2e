"""What ``gan export`` deploys for SRResNet and SRGAN: the generator, LR image → ×scale HR image.

The file is fully convolutional (any batch, any LR height and width) and runs the whole image at
once — ``gan translate``'s tiling only bounds memory and does not change results. Inputs are in
``[0, 1]`` (the paper's LR range, ``pixel / 255``), unlike the translators' ``[-1, 1]``; outputs
are clamped to ``[-1, 1]`` as ``gan translate`` writes them.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from gan.export import ExportSpec, check_options, inference_copy, parity_sizes


class ClampedUpscaler(nn.Module):
    def __init__(self, g: nn.Module) -> None:
        super().__init__()
        self.g = g

    def forward(self, lowres: torch.Tensor) -> torch.Tensor:
        return self.g(lowres).clamp(-1, 1)


def sr_modules(recipe: Any, **options: Any) -> list[ExportSpec]:
    check_options(recipe.name, options, ())
    c = recipe.config
    ch, s = c.data.channels, c.scale
    lr_side = max(4, c.data.image_size // s)

    def make(n: int, size: tuple[int, int], gen: torch.Generator) -> tuple[torch.Tensor, ...]:
        return (torch.rand(n, ch, *size, generator=gen),)

    meta = {"inputs": [{"name": "lowres", "shape": ["batch", ch, "height", "width"], "layout": "NCHW",
                        "dtype": "float32", "range": [0.0, 1.0], "from_uint8": "pixel / 255"}],
            "outputs": [{"name": "highres", "shape": ["batch", ch, f"{s}*height", f"{s}*width"],
                         "layout": "NCHW", "dtype": "float32", "range": [-1.0, 1.0],
                         "to_uint8": "round((y + 1) * 127.5)"}],
            "scale": s, "spatial_size": "any LR height and width; the whole image in one pass",
            "inference": "eval mode (batch norm on running statistics); EMA weights when the run kept them"}
    module = ClampedUpscaler(inference_copy(recipe.eval_model("G")))
    return [ExportSpec("G", module, ["lowres"], ["highres"], make, sizes=parity_sizes(lr_side),
                       spatial_inputs=("lowres",), metadata=meta)]

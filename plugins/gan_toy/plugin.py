"""Hook implementations of the toy plugin.

The model and the distributions are declared (``"module:attr"`` and a one-line summary), so
``gan list`` and ``gan plugins`` read them without importing torch.
"""

from __future__ import annotations

from typing import Any

import gan
from gan.registry import lazy

#: distribution name → summary (``gan_toy.toy.DISTRIBUTIONS`` holds the classes; a test keeps both equal)
DISTRIBUTIONS = {
    "ring-8": "``k`` Gaussians on a circle (Metz et al. 2017 use 8, radius 2, σ 0.02).",
    "grid-25": "A ``side × side`` grid of Gaussians centred on the origin (VEEGAN's 5×5 grid, σ 0.05).",
    "gaussian-1d": "A single 1-D Gaussian N(4, 0.5²) (Goodfellow et al. 2014, Fig. 1).",
}


@gan.hookimpl
def gan_register_models(registry: Any) -> None:
    registry.add("toy-gan", "gan_toy.toy:ToyGAN",
                 help="MLP generator and discriminator on a low-dimensional mixture (default: 8 "
                      "Gaussians on a ring).")


@gan.hookimpl
def gan_register_datasets(registry: Any) -> None:
    for name, summary in DISTRIBUTIONS.items():
        registry.add(name, lazy("gan_toy.toy:make_distribution", name), kind="points", help=summary)

"""Hook implementations of the toy plugin."""

from __future__ import annotations

from typing import Any

import gan


@gan.hookimpl
def gan_register_models(registry: Any) -> None:
    from .toy import ToyGAN
    registry.add("toy-gan", ToyGAN)


@gan.hookimpl
def gan_register_datasets(registry: Any) -> None:
    from .toy import DISTRIBUTIONS, make_distribution
    for name in DISTRIBUTIONS:
        registry.add(name, make_distribution(name), kind="points",
                     help=DISTRIBUTIONS[name].__doc__.strip().splitlines()[0])

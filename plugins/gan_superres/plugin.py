"""Hook implementations of the super-resolution plugin (registrations only; models import lazily)."""

from __future__ import annotations

from typing import Any

import gan


@gan.hookimpl
def gan_register_models(registry: Any) -> None:
    from .srgan import SRGAN
    from .srresnet import SRResNet

    # the first one is the plugin's default model (`gan run --plugin superres`)
    for cls in (SRResNet, SRGAN):
        registry.add(cls.name, cls)


@gan.hookimpl
def gan_register_datasets(registry: Any) -> None:
    from . import datasets as d

    registry.add("sr-textures", d.make_sr_textures, kind="superres")
    registry.add("sr-folder", d.make_sr_folder, kind="superres")

"""Hook implementations of the translation plugin (registrations only; models import lazily)."""

from __future__ import annotations

from typing import Any

import gan


@gan.hookimpl
def gan_register_models(registry: Any) -> None:
    from .cyclegan import CycleGAN
    from .pix2pix import Pix2Pix
    from .stargan import StarGAN

    # the first one is the plugin's default model (`gan run --plugin translation`)
    for cls in (Pix2Pix, CycleGAN, StarGAN):
        registry.add(cls.name, cls)


@gan.hookimpl
def gan_register_datasets(registry: Any) -> None:
    from . import datasets as d

    registry.add("outline2fill", d.make_outline2fill, kind="paired")
    registry.add("aligned", d.make_aligned, kind="paired")
    registry.add("day2night", d.make_day2night, kind="unpaired")
    registry.add("unaligned", d.make_unaligned, kind="unpaired")
    registry.add("shape-attributes", d.make_shape_attributes, kind="attributes")
    registry.add("celeba", d.make_celeba, kind="attributes")
    registry.add("domain-folders", d.make_domain_folders, kind="attributes")


@gan.hookimpl
def gan_register_commands(cli: Any) -> None:
    from .translate import translate_command

    cli.add_command(translate_command)

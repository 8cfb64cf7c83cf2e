"""Hook implementations of the image GAN plugin (registrations only; models import lazily)."""

from __future__ import annotations

from typing import Any

import gan


@gan.hookimpl
def gan_register_models(registry: Any) -> None:
    from .conditional import ACGAN, CGAN
    from .dcgan import DCGAN
    from .ebgan import EBGAN
    from .infogan import InfoGAN
    from .lapgan import LAPGAN
    from .lsgan import LSGAN
    from .mlp_gan import GAN
    from .wgan import WGAN, WGANGP

    # the first one is the plugin's default model (`gan run --plugin image`)
    for cls in (DCGAN, GAN, CGAN, ACGAN, InfoGAN, WGAN, WGANGP, LSGAN, EBGAN, LAPGAN):
        registry.add(cls.name, cls)


@gan.hookimpl
def gan_register_datasets(registry: Any) -> None:
    from .datasets import DATASETS

    for name, factory in DATASETS.items():
        registry.add(name, factory, kind="image")

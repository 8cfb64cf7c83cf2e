"""Hook implementations of the translation plugin: pix2pix, CycleGAN, StarGAN, their datasets (declared,
see :mod:`gan.registry`) and the ``gan translate`` command."""

from __future__ import annotations

from typing import Any

import gan

#: name, "module:attr", summary — the first model is the default (`gan run --plugin translation`)
MODELS = (
    ("pix2pix", "gan_translation.pix2pix:Pix2Pix",
     "pix2pix (Isola et al. 2017): U-Net generator + PatchGAN on (input, output) pairs, GAN + λ·L1."),
    ("cyclegan", "gan_translation.cyclegan:CycleGAN",
     "CycleGAN (Zhu et al. 2017): two ResNet generators, two PatchGANs, LSGAN + cycle + identity."),
    ("stargan", "gan_translation.stargan:StarGAN",
     "StarGAN (Choi et al. 2018): one label-conditioned generator, WGAN-GP critic with a domain head."),
)

#: name, kind, "module:attr", summary
DATASETS = (
    ("outline2fill", "paired", "gan_translation.datasets:make_outline2fill",
     "Embedded paired task: coloured shape outline → filled shape (deterministic from data.embedded_seed)."),
    ("aligned", "paired", "gan_translation.datasets:make_aligned",
     "pix2pix aligned A|B folders train/, val/, test/ (``--set data.direction=AtoB|BtoA``)."),
    ("day2night", "unpaired", "gan_translation.datasets:make_day2night",
     "Embedded unpaired task: warm shapes on light backgrounds (A) ↔ cool shapes on dark (B)."),
    ("unaligned", "unpaired", "gan_translation.datasets:make_unaligned",
     "CycleGAN folders trainA/ trainB/ (+ testA/ testB/), any sizes, grayscale or RGB."),
    ("shape-attributes", "attributes", "gan_translation.datasets:make_shape_attributes",
     "Embedded multi-attribute set: colour × shape × size of one shape per image."),
    ("celeba", "attributes", "gan_translation.datasets:make_celeba",
     "CelebA: list_attr_celeba.txt + images/ (``--set data.attrs=Black_Hair,Blond_Hair,Male,...``)."),
    ("domain-folders", "attributes", "gan_translation.datasets:make_domain_folders",
     "One folder per domain (RaFD style); ``--set data.attrs=a,b,c`` picks domains by folder name."),
)


@gan.hookimpl
def gan_register_models(registry: Any) -> None:
    for name, target, summary in MODELS:
        registry.add(name, target, help=summary)


@gan.hookimpl
def gan_register_datasets(registry: Any) -> None:
    for name, kind, target, summary in DATASETS:
        registry.add(name, target, help=summary, kind=kind)


@gan.hookimpl
def gan_register_commands(cli: Any) -> None:
    from .translate import translate_command

    cli.add_command(translate_command)

"""Hook implementations of the image GAN plugin: its models and datasets, declared (``"module:attr"``
and a summary, see :mod:`gan.registry`) so that listing them imports no torch."""

from __future__ import annotations

from typing import Any

import gan

#: name, "module:attr", summary — the first model is the plugin's default (`gan run --plugin image`)
MODELS = (
    ("dcgan", "gan_image.dcgan:DCGAN", "Deep convolutional GAN (Radford et al., 2015)."),
    ("gan", "gan_image.mlp_gan:GAN", "Fully connected GAN (Goodfellow et al., 2014) on MNIST-sized images."),
    ("cgan", "gan_image.conditional:CGAN",
     "Conditional GAN: G(z, y) and D(x, y) both see the one-hot class."),
    ("acgan", "gan_image.conditional:ACGAN",
     "Auxiliary-classifier GAN: G(z, y); D(x) → (real/fake score, class logits)."),
    ("infogan", "gan_image.infogan:InfoGAN",
     "GAN whose latent codes are made interpretable by a mutual-information term."),
    ("wgan", "gan_image.wgan:WGAN", "Wasserstein GAN with weight clipping."),
    ("wgan-gp", "gan_image.wgan:WGANGP", "Wasserstein GAN with gradient penalty."),
    ("lsgan", "gan_image.lsgan:LSGAN", "DCGAN trained with least-squares objectives (Mao et al., 2017)."),
    ("ebgan", "gan_image.ebgan:EBGAN",
     "Energy-based GAN with an auto-encoder discriminator and the pull-away term."),
    ("lapgan", "gan_image.lapgan:LAPGAN", "Laplacian pyramid of conditional GANs."),
)

DATASETS = (
    ("mnist", "gan_image.datasets:make_mnist",
     "MNIST from local IDX files (``train-images-idx3-ubyte.gz`` ...), 28×28 grayscale."),
    ("fashion-mnist", "gan_image.datasets:make_fashion_mnist",
     "Fashion-MNIST from local IDX files (same file names as MNIST), 28×28 grayscale."),
    ("cifar10", "gan_image.datasets:make_cifar10",
     "CIFAR-10 from the local python (``cifar-10-batches-py``) or binary (``-bin``) release."),
    ("digits", "gan_image.datasets:make_digits",
     "Procedurally drawn digits 0–9, 28×28 grayscale, labelled; needs no files."),
    ("folder", "gan_image.datasets:make_image_folder",
     "Every image under ``--data-root`` (recursively); labels from subfolder names when all images "
     "sit in subfolders."),
)


@gan.hookimpl
def gan_register_models(registry: Any) -> None:
    for name, target, summary in MODELS:
        registry.add(name, target, help=summary)


@gan.hookimpl
def gan_register_datasets(registry: Any) -> None:
    for name, target, summary in DATASETS:
        registry.add(name, target, help=summary, kind="image")

"""Hook implementations of the super-resolution plugin: SRResNet, SRGAN and their datasets, declared as
in :mod:`gan.registry`."""

from __future__ import annotations

from typing import Any

import gan

#: name, "module:attr", summary — the first model is the default (`gan run --plugin superres`)
MODELS = (
    ("srresnet", "gan_superres.srresnet:SRResNet",
     "SRResNet (Ledig et al. 2017): 16 residual blocks, two sub-pixel ×2 layers, trained with MSE."),
    ("srgan", "gan_superres.srgan:SRGAN",
     "SRGAN (Ledig et al. 2017): SRResNet generator + 8-conv discriminator, content + 10⁻³·adversarial."),
)

DATASETS = (
    ("sr-textures", "gan_superres.datasets:make_sr_textures",
     "Embedded ×4 super-resolution scenes: gradients, shapes, stripes and lines; needs no files."),
    ("sr-folder", "gan_superres.datasets:make_sr_folder",
     "HR photos under ``--data-root`` (``train/`` + ``test/``, or one folder, every 10th held out)."),
)


@gan.hookimpl
def gan_register_models(registry: Any) -> None:
    for name, target, summary in MODELS:
        registry.add(name, target, help=summary)


@gan.hookimpl
def gan_register_datasets(registry: Any) -> None:
    for name, target, summary in DATASETS:
        registry.add(name, target, help=summary, kind="superres")

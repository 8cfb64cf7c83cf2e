"""ganforge: a plugin-based, multi-domain GAN framework on PyTorch.

The host package ``gan`` defines the contracts (:mod:`gan.protocols`), the hook specifications
(:mod:`gan.hookspecs`), registries, the plugin manager, the adversarial trainer, checkpoints,
configuration, metrics and the ``gan`` command line. Models live in plugins.
"""

from __future__ import annotations

import pluggy

__version__ = "0.1.0"

hookimpl = pluggy.HookimplMarker("gan")
"""Decorator marking a plugin function as an implementation of a ``gan_*`` hook."""

from .errors import GanError, NonFiniteLossError, PluginError  # noqa: E402
from .protocols import (  # noqa: E402
    Discriminator, Generator, Loss, LossOutput, Nets, Network, Phase, Recipe, Stage, Trainer,
)

__all__ = [
    "__version__", "hookimpl", "GanError", "PluginError", "NonFiniteLossError",
    "Generator", "Discriminator", "Loss", "LossOutput", "Nets", "Network", "Phase", "Recipe",
    "Stage", "Trainer",
]

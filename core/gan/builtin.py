"""The built-in core plugin: adversarial losses, metrics, and the default trainer."""

from __future__ import annotations

from typing import Any

from . import hookimpl


@hookimpl
def gan_register_losses(registry: Any) -> None:
    from .losses import BUILTIN_LOSSES, BUILTIN_REGULARIZERS
    for name, cls in BUILTIN_LOSSES.items():
        registry.add(name, cls, kind="objective")
    for name, fn in BUILTIN_REGULARIZERS.items():
        registry.add(name, fn, kind="regularizer")


@hookimpl
def gan_register_metrics(registry: Any) -> None:
    from . import metrics
    for name in getattr(metrics, "REGISTERED", ()):
        registry.add(name, getattr(metrics, metrics.REGISTERED[name]))


@hookimpl(trylast=True)
def gan_make_trainer(recipe: Any, config: Any, run_dir: Any) -> Any:
    from .trainer import AdversarialTrainer
    return AdversarialTrainer(recipe, config, run_dir=run_dir)

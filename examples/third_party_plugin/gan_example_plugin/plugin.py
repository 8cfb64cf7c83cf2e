"""Hook implementations of the example plugin (and nothing else).

ganforge imports this module at start-up for every ``gan`` command, so it imports only ``gan``;
the model, datasets and commands are imported inside the hooks, when they are registered.
"""

from __future__ import annotations

from typing import Any

import gan


@gan.hookimpl
def gan_register_models(registry: Any) -> None:
    from .hinge_mlp import HingeMLP
    registry.add("hinge-mlp", HingeMLP)  # the first model is the plugin's default


@gan.hookimpl
def gan_register_datasets(registry: Any) -> None:
    from .shapes import SHAPES, csv_points, shape_factory
    for name in SHAPES:
        registry.add(name, shape_factory(name), kind="points")
    registry.add("csv-points", csv_points, kind="points")


@gan.hookimpl
def gan_register_metrics(registry: Any) -> None:
    from .metrics import knn_precision_recall
    registry.add("knn-precision-recall", knn_precision_recall)


@gan.hookimpl
def gan_register_commands(cli: Any) -> None:
    from .commands import preview
    cli.add_command(preview)

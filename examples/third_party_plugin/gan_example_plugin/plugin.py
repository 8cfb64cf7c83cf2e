"""Hook implementations of the example plugin (and nothing else).

ganforge imports this module at start-up for every ``gan`` command, so it imports only ``gan``.
The model, datasets and metric are *declared* — ``"module:attr"`` plus the one-line summary that
``gan list`` prints — and imported when first used, so ``gan list`` and ``gan plugins`` never import
torch. (Handing over the object itself, ``registry.add("hinge-mlp", HingeMLP)``, works as well; it
just makes every ``gan`` command import the model's module.)
"""

from __future__ import annotations

from typing import Any

import gan
from gan.registry import lazy


@gan.hookimpl
def gan_register_models(registry: Any) -> None:
    registry.add("hinge-mlp", "gan_example_plugin.hinge_mlp:HingeMLP",  # the plugin's default model
                 help="Hinge-loss MLP GAN with a spectrally normalised discriminator on 2-D point clouds.")


@gan.hookimpl
def gan_register_datasets(registry: Any) -> None:
    registry.add("two-moons", lazy("gan_example_plugin.shapes:shape_factory", "two-moons"), kind="points",
                 help="Two interleaving half circles with Gaussian noise, centred on the origin.")
    registry.add("spiral", lazy("gan_example_plugin.shapes:shape_factory", "spiral"), kind="points",
                 help="Two interleaved spiral arms (1.5 turns each by default), radius growing to 1.")
    registry.add("csv-points", "gan_example_plugin.shapes:csv_points", kind="points",
                 help="Points from a CSV file (--data-root FILE.csv, or a folder holding points.csv).")


@gan.hookimpl
def gan_register_metrics(registry: Any) -> None:
    registry.add("knn-precision-recall", "gan_example_plugin.metrics:knn_precision_recall",
                 help="Improved precision and recall with k-NN manifolds (Kynkäänniemi et al. 2019).")


@gan.hookimpl
def gan_register_commands(cli: Any) -> None:
    from .commands import preview
    cli.add_command(preview)

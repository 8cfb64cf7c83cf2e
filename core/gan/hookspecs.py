"""Every hook a ganforge plugin can implement.

A plugin is a module (built-in) or an entry point in the group ``ganforge.plugins`` (third party)
whose functions are decorated with :data:`gan.hookimpl` and named like the specs below::

    import gan

    @gan.hookimpl
    def gan_register_models(registry):
        registry.add("my-gan", "my_pkg.model:MyGAN", help="My GAN.")  # imported on first use

pluggy facts worth knowing: an implementation may accept any *subset* of a spec's arguments, but an
argument with a default value is never passed; implementations run last-registered-first. A
``gan_`` function that matches no spec, or lacks ``@gan.hookimpl``, fails its plugin with one error
naming it (never silently ignored).
"""

from __future__ import annotations

from typing import Any

import pluggy

hookspec = pluggy.HookspecMarker("gan")


# --- registration --------------------------------------------------------------------------------
@hookspec
def gan_register_models(registry: Any) -> None:
    """Register trainable recipes (GAN variants).

    Args:
        registry: a :class:`gan.registry.RegistryView` for kind ``model``. Call
            ``registry.add(name, RecipeClass)`` with a kebab-case name (``"wgan-gp"``), or declare
            it, ``registry.add(name, "module:Class", help=...)``, so listing imports nothing; the
            class subclasses :class:`gan.protocols.Recipe` and has at least a ``tiny`` preset. Pass
            ``replace=True`` to override a built-in model of the same name on purpose.

    The first model a plugin registers is its default: ``gan run --plugin <plugin-name>`` runs it.
    """


@hookspec
def gan_register_losses(registry: Any) -> None:
    """Register adversarial objectives and regularizers.

    Args:
        registry: a :class:`gan.registry.RegistryView` for kind ``loss``. Objectives are classes
            implementing :class:`gan.protocols.Loss` (``d_loss(real, fake)``, ``g_loss(fake)``);
            regularizers are callables registered with ``kind="regularizer"``.
    """


@hookspec
def gan_register_datasets(registry: Any) -> None:
    """Register datasets.

    Args:
        registry: a :class:`gan.registry.RegistryView` for kind ``dataset``. Register a factory
            ``factory(root: Path | None, config) -> object`` with ``kind="image" | "paired" |
            "unpaired" | "attributes" | "text" | "points" | "oracle"`` so the CLI can check it against
            a recipe's ``data_kind``. Factories must never download: a missing file is a
            :class:`gan.GanError` naming the files expected and where.
    """


@hookspec
def gan_register_metrics(registry: Any) -> None:
    """Register evaluation metrics.

    Args:
        registry: a :class:`gan.registry.RegistryView` for kind ``metric``; each entry is a callable
            returning a ``dict[str, float]`` (its figures) and documenting its protocol.
    """


@hookspec
def gan_register_commands(cli: Any) -> None:
    """Add sub-commands to the ``gan`` command line.

    Args:
        cli: the root :class:`click.Group`; call ``cli.add_command(cmd)``. Called once, after all
            plugins are loaded, before arguments are parsed. A name that is taken (a built-in or
            another plugin's command) is refused, never replaced: the plugin fails with one line.
    """


@hookspec
def gan_add_cli_options(options: Any) -> None:
    """Add options to ``gan run``.

    Args:
        options: a list; append :class:`click.Option` objects. Their values reach plugins through
            ``trainer.cli_options`` (a dict) in the lifecycle hooks.
    """


# --- selection -----------------------------------------------------------------------------------
@hookspec(firstresult=True)
def gan_make_trainer(recipe: Any, config: Any, run_dir: Any) -> Any:
    """Build the trainer for ``recipe``; the first non-``None`` result wins.

    Args:
        recipe: the built :class:`gan.protocols.Recipe`.
        config: the :class:`gan.config.RunConfig` of the run.
        run_dir: the run directory (:class:`pathlib.Path`), or ``None`` to keep nothing on disk.

    The built-in implementation (``trylast``) returns :class:`gan.trainer.AdversarialTrainer`;
    a plugin can return its own trainer for some recipes and ``None`` for the rest. The returned
    object must meet :class:`gan.Trainer` (``fit()``, ``resume()``, ``load_state_dict(state,
    weights_only=...)``, ``step``, ``status``, ``is_main``; checked, one error naming the plugin);
    the CLI sets its ``pm`` and ``cli_options`` attributes before training. ``gan sample``, ``gan
    eval`` and ``gan translate`` reopen a run through this hook too (``run_dir=None``), so a
    plugin's trainer also loads the checkpoints it wrote.
    """


# --- lifecycle -----------------------------------------------------------------------------------
@hookspec
def gan_on_run_start(trainer: Any) -> None:
    """Called once before the first step (after a resume has been applied).

    Args:
        trainer: the running trainer; ``trainer.run_dir``, ``trainer.recipe``,
            ``trainer.config`` and ``trainer.is_main`` (rank 0) are the useful attributes.
    """


@hookspec
def gan_on_step_end(trainer: Any, step: int, logs: dict[str, float]) -> None:
    """Called on the main process every ``log_every`` steps with host-side logged values.

    Args:
        trainer: the running trainer.
        step: the global step just finished (1-based count of steps done).
        logs: ``{"<phase>/<name>": float}`` averaged over the steps since the last call.
    """


@hookspec
def gan_on_evaluate(trainer: Any, step: int, results: dict[str, float]) -> None:
    """Called on the main process after each evaluation.

    Args:
        trainer: the running trainer.
        step: the global step at evaluation time.
        results: ``{"eval/<name>": float}`` from the recipe's ``evaluate()``.
    """


@hookspec
def gan_on_samples(trainer: Any, step: int, paths: Any) -> None:
    """Called on the main process after each sample snapshot has been written.

    Args:
        trainer: the running trainer.
        step: the global step of the snapshot.
        paths: a list of the :class:`pathlib.Path` of each file the recipe's ``save_samples`` wrote (image
            grids as PNG, text samples as ``.txt``); empty when the recipe writes none.
    """


@hookspec
def gan_on_checkpoint(trainer: Any, path: Any) -> None:
    """Called on the main process after a checkpoint has been written atomically.

    Args:
        trainer: the running trainer.
        path: the :class:`pathlib.Path` of the complete checkpoint file.
    """


@hookspec
def gan_on_run_end(trainer: Any, status: str) -> None:
    """Called once when the run stops.

    Args:
        trainer: the running trainer.
        status: ``"completed"``, ``"interrupted"`` (SIGINT/SIGTERM, checkpoint saved) or
            ``"failed"``.
    """

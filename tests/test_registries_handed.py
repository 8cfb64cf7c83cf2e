"""No process-wide plugin manager in library code: a recipe is handed the registries of the manager
that built it, a loss or metric is looked up in the registry it is given, and building one plugin's
recipe imports no other plugin."""

from __future__ import annotations

import subprocess
import sys
import types

import pytest
import torch

import gan
from gan.errors import GanError
from gan.losses import Hinge, get_loss, get_regularizer, loss_names
from gan.metrics import compute_metrics
from gan.testing import fresh_manager

OTHER_PLUGINS = ("gan_image", "gan_translation", "gan_seqgan", "gan_example_plugin")


def _imported_after(code: str) -> list[str]:
    """Top-level packages of the other plugins present in ``sys.modules`` after ``code`` ran."""
    probe = (f"{code}\nimport sys\n"
             f"print(sorted({{m.split('.')[0] for m in sys.modules}} & set({OTHER_PLUGINS!r})))")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return eval(out.stdout.strip().splitlines()[-1])


def test_building_and_stepping_a_toy_recipe_imports_no_other_plugin():
    """Directly (the loss lookup used to collect every plugin's registry) and through a manager
    holding only the core and toy plugins; one subprocess, so nothing imported earlier counts."""
    code = """
import torch; torch.set_num_threads(1)
from gan.plugins import GanPluginManager
from gan.runs import build_recipe
from gan.testing import make_recipe, run_recipe
from gan_toy.toy import ToyGAN
run_recipe(make_recipe(ToyGAN), steps=1)
pm = GanPluginManager(builtins=(("core", "gan.builtin"), ("toy", "gan_toy.plugin")), entry_points=False)
build_recipe("toy-gan", pm=pm.load(), preset="tiny", device="cpu")
"""
    assert _imported_after(code) == []


def _loss_plugin():
    class Doubled(Hinge):
        """Hinge, twice as strong (a test loss)."""

        def d_loss(self, real, fake):
            return 2 * super().d_loss(real, fake)

    mod = types.ModuleType("lossy")

    @gan.hookimpl
    def gan_register_losses(registry):
        registry.add("doubled-hinge", Doubled)
        registry.add("hinge", Doubled, replace=True)

    mod.gan_register_losses = gan_register_losses
    return mod, Doubled


def test_losses_resolve_in_the_registry_handed_and_only_there():
    mod, doubled = _loss_plugin()
    pm = fresh_manager()
    pm.register_module(mod, "lossy")
    losses = pm.registry("loss")
    assert isinstance(get_loss("doubled-hinge", registry=losses), doubled)
    assert isinstance(get_loss("hinge", registry=losses), doubled)  # an explicit override wins
    assert type(get_loss("hinge")) is Hinge  # no registry: the built-ins, no manager looked up
    assert "doubled-hinge" in loss_names(losses) and "doubled-hinge" not in loss_names()
    assert get_regularizer("r1", registry=losses) is get_regularizer("r1")
    with pytest.raises(GanError, match="unknown loss 'doubled-hinge'"):
        get_loss("doubled-hinge")


def test_a_recipe_is_handed_its_managers_registries_before_init_runs():
    from gan.runs import build_recipe
    mod, doubled = _loss_plugin()
    pm = fresh_manager(("toy", "gan_toy.plugin"))
    pm.register_module(mod, "lossy")
    built = build_recipe("toy-gan", pm=pm, preset="tiny", device="cpu",
                         assignments=[("loss", "doubled-hinge")])
    assert isinstance(built.recipe.objective, doubled)  # looked up inside ToyGAN.__init__
    assert built.recipe.registries["loss"] is pm.registry("loss")


def test_a_recipe_built_directly_knows_the_builtins_only():
    from gan.testing import make_recipe
    from gan_toy.toy import ToyGAN
    assert make_recipe(ToyGAN).registries == {}
    with pytest.raises(GanError, match="unknown loss 'doubled-hinge'"):
        make_recipe(ToyGAN, loss="doubled-hinge")


def test_any_registered_metric_resolves_by_name():
    pm = fresh_manager(("example", "gan_example_plugin.plugin"))
    metrics = pm.registry("metric")
    g = torch.Generator().manual_seed(0)
    real, fake = torch.rand(200, 3, generator=g), torch.rand(200, 3, generator=g) + 2.0
    figures = compute_metrics(real, fake, ("knn-precision-recall", "fid"), registry=metrics)
    assert figures["precision"] == 0.0 and figures["recall"] == 0.0  # disjoint cubes
    assert figures["fid"] > 10
    with pytest.raises(GanError, match="unknown metric 'knn-precision-recal'.*knn-precision-recall"):
        compute_metrics(real, fake, ("knn-precision-recal",), registry=metrics)
    with pytest.raises(GanError, match="unknown metric 'knn-precision-recall'"):
        compute_metrics(real, fake, ("knn-precision-recall",))  # not handed: not known

"""Testing support for plugin authors (a pytest plugin).

Enable it with ``-p gan.testing`` (ganforge's own pyproject does) or ``pytest_plugins =
["gan.testing"]`` in a conftest. It provides:

* fixtures ``gan_pm`` (a fresh plugin manager holding only the built-in core plugin) and
  ``gan_run_dir`` (an empty run directory under ``tmp_path``);
* helpers :func:`make_recipe` and :func:`run_recipe` to build a recipe from its tiny preset and train
  it for a few steps on CPU;
* :class:`PluginContract`: subclass it in your plugin's test suite and every model your plugin
  registers is checked for the framework contract::

      from gan.testing import PluginContract

      class TestContract(PluginContract):
          plugin = "my_gan_plugin.plugin"     # the module holding your hookimpls
"""

from __future__ import annotations

import copy
import importlib
import math
from pathlib import Path
from typing import Any

import pytest
import torch

from . import hookimpl
from .config import RunConfig, apply_mapping, resolve_config
from .plugins import GanPluginManager
from .protocols import Recipe
from .trainer import AdversarialTrainer


def fresh_manager(*plugins: tuple[str, str]) -> GanPluginManager:
    """A manager with the core plugin plus ``(name, module)`` pairs; no entry points."""
    return GanPluginManager(builtins=(("core", "gan.builtin"), *plugins), entry_points=False).load()


def make_recipe(cls: type[Recipe], preset: str | None = "tiny", device: str = "cpu", data: Any = None,
                run: RunConfig | None = None, seed: int = 0, registries: Any = None,
                **overrides: Any) -> Recipe:
    """Build ``cls`` from ``preset`` plus ``overrides`` (dotted keys as ``a__b``) on ``device``.

    ``registries`` (e.g. ``pm.registries()``) are handed to the recipe; without them it knows only
    the built-in losses and metrics."""
    from .checkpoint import seed_everything
    run = run or RunConfig(seed=seed, device=device, progress=False, tensorboard=False)
    cfg = resolve_config(cls.Config, run, presets=getattr(cls, "presets", {}), preset=preset)
    apply_mapping(cfg, {k.replace("__", "."): v for k, v in overrides.items()})
    seed_everything(run.seed)
    return cls.create(registries or {}, cfg, device=torch.device(device), data=data, run=run)


def run_recipe(recipe: Recipe, steps: int | None = None, run_dir: Path | None = None,
               pm: GanPluginManager | None = None, resume: bool = False, **run_overrides: Any
               ) -> AdversarialTrainer:
    """Train ``recipe`` for ``steps`` steps (all stages when None) and return the trainer."""
    run = copy.copy(recipe.run) if recipe.run is not None else RunConfig()
    run.progress, run.tensorboard, run.max_steps = False, False, steps
    run.eval_at_start = False
    for k, v in run_overrides.items():
        setattr(run, k, v)
    trainer = AdversarialTrainer(recipe, run, run_dir=run_dir, pm=pm)
    if resume:
        trainer.resume()
    trainer.fit()
    return trainer


def _registered_models(plugin_module: str) -> dict[str, type]:
    from .registry import Registry
    mod = importlib.import_module(plugin_module)
    reg: Registry = Registry("model")
    if hasattr(mod, "gan_register_models"):
        mod.gan_register_models(reg.view(plugin_module, True))
    reg.finalize()
    return {e.name: e.obj for e in reg.entries()}


def _params(recipe: Recipe) -> dict[str, torch.Tensor]:
    return {f"{m}.{n}": p.detach().clone() for m, mod in recipe.models.items()
            for n, p in mod.named_parameters()}


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, torch.Tensor):
        return isinstance(b, torch.Tensor) and a.shape == b.shape and torch.equal(a, b)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    return a == b


class _Collector:
    def __init__(self) -> None:
        self.logs: list[dict[str, float]] = []

    @hookimpl
    def gan_on_step_end(self, trainer: Any, step: int, logs: dict[str, float]) -> None:
        self.logs.append(dict(logs))


class PluginContract:
    """The contract every plugin's models must meet; subclass with ``plugin = "pkg.plugin"``.

    Checks, for each model the plugin registers: it registers cleanly (valid name, a Recipe with a
    Config dataclass and a ``tiny`` preset, no unknown hooks); its parts meet the protocols
    (modules are :class:`gan.Network`, losses :class:`gan.Loss`, its trainer a :class:`gan.Trainer`);
    the tiny preset builds on CPU; two
    steps give finite losses; each phase updates only its own modules; a checkpoint round trip gives
    identical samples; and ``k`` steps + resume + ``k`` steps equals ``2k`` steps exactly.
    """

    plugin: str = ""
    #: models to check (default: every model the plugin registers)
    models: tuple[str, ...] | None = None
    #: steps for the resume-exactness check (k); override for recipes with multi-step cadences
    resume_steps: int = 2

    def pytest_generate_tests(self, metafunc: Any) -> None:
        if "model_name" in metafunc.fixturenames:
            names = list(self.models or _registered_models(self.plugin))
            metafunc.parametrize("model_name", names)

    @pytest.fixture
    def contract_pm(self) -> GanPluginManager:
        return fresh_manager((self.plugin.split(".")[0], self.plugin))

    def recipe_cls(self, pm: GanPluginManager, model_name: str) -> type[Recipe]:
        return pm.registry("model").resolve(model_name)

    def build(self, pm: GanPluginManager, model_name: str, **kw: Any) -> Recipe:
        return make_recipe(self.recipe_cls(pm, model_name), registries=pm.registries(), **kw)

    # --- the contract ------------------------------------------------------------------------------
    def test_registers_cleanly(self, contract_pm: GanPluginManager) -> None:
        import dataclasses
        name = self.plugin.split(".")[0]
        info = contract_pm.info[name]
        assert info.status == "loaded", info.error
        mine = [e for e in contract_pm.registry("model").entries() if e.plugin == name]
        assert mine, f"plugin {self.plugin} registers no model"
        for e in mine:
            assert e.name == e.name.lower() and " " not in e.name and "_" not in e.name, e.name
            assert issubclass(e.obj, Recipe), f"{e.name}: not a gan.Recipe subclass"
            assert e.obj.name == e.name, f"{e.name}: class attribute name is {e.obj.name!r}"
            assert dataclasses.is_dataclass(e.obj.Config), f"{e.name}: Config is not a dataclass"
            assert "tiny" in e.obj.presets, f"{e.name}: no 'tiny' preset"

    def test_tiny_preset_builds_on_cpu(self, contract_pm: GanPluginManager, model_name: str) -> None:
        recipe = self.build(contract_pm, model_name)
        assert recipe.models, "recipe has no models"
        assert recipe.stages(), "recipe has no stages"
        for stage in recipe.stages():
            for ph in recipe.phases(stage):
                assert ph.optimizer in recipe.optimizers, f"phase {ph.name}: unknown optimizer"
                for m in ph.module_names:
                    assert m in recipe.models, f"phase {ph.name}: unknown module {m}"
        for p in (p for m in recipe.models.values() for p in m.parameters()):
            assert p.device.type == "cpu"

    def test_parts_meet_the_protocols(self, contract_pm: GanPluginManager, model_name: str) -> None:
        """Every module is a :class:`gan.Network`, every loss the plugin registers a
        :class:`gan.Loss`, and ``gan_make_trainer`` gives this model a :class:`gan.Trainer`."""
        from .protocols import Loss, Network, Trainer, missing_members
        from .runs import BuiltRun, make_trainer
        recipe = self.build(contract_pm, model_name)
        for name, module in recipe.models.items():
            assert not missing_members(module, Network), \
                f"{model_name}: models[{name!r}] lacks {missing_members(module, Network)} (gan.Network)"
        plugin = self.plugin.split(".")[0]
        for e in contract_pm.registry("loss").entries():
            if e.plugin == plugin and e.meta.get("kind") != "regularizer":
                assert not missing_members(e.obj, Loss), f"loss {e.name}: {missing_members(e.obj, Loss)}"
        trainer = make_trainer(BuiltRun(recipe, recipe.run, model_name, None), None, pm=contract_pm)
        assert not missing_members(trainer, Trainer), f"trainer lacks {missing_members(trainer, Trainer)}"

    def test_two_steps_give_finite_losses(self, contract_pm: GanPluginManager, model_name: str) -> None:
        recipe = self.build(contract_pm, model_name)
        collector = _Collector()
        contract_pm.pm.register(collector, name="collector")
        run_recipe(recipe, steps=2, pm=contract_pm, log_every=1)
        losses = {k: v for logs in collector.logs for k, v in logs.items() if k.endswith("/loss")}
        assert losses, "no '<phase>/loss' values were logged"
        bad = {k: v for k, v in losses.items() if not math.isfinite(v)}
        assert not bad, f"non-finite losses: {bad}"

    def test_each_phase_updates_only_its_modules(self, contract_pm: GanPluginManager,
                                                 model_name: str) -> None:
        recipe = self.build(contract_pm, model_name)
        trainer = AdversarialTrainer(recipe, recipe.run)
        for stage in recipe.stages():
            for phase in recipe.phases(stage):
                before = _params(recipe)
                trainer._activate(phase)
                batch = recipe.prepare_batch(recipe.next_batch(stage, phase))
                out = trainer.run_phase(phase, batch, {})
                trainer._activate(None)
                if out.loss is None:
                    continue
                after = _params(recipe)
                own = tuple(f"{m}." for m in phase.module_names)
                changed_own = [k for k in before if k.startswith(own) and not torch.equal(before[k], after[k])]
                changed_other = [k for k in before if not k.startswith(own)
                                 and not torch.equal(before[k], after[k])]
                assert changed_own, f"{stage.name}/{phase.name}: its modules did not change"
                assert not changed_other, f"{stage.name}/{phase.name} changed other modules: {changed_other[:5]}"

    def test_checkpoint_roundtrip_gives_identical_samples(self, contract_pm: GanPluginManager,
                                                          model_name: str, tmp_path: Path) -> None:
        from .runs import load_run
        recipe = self.build(contract_pm, model_name)
        run_recipe(recipe, steps=2, run_dir=tmp_path / "run", pm=contract_pm)
        for m in recipe.models.values():
            m.eval()
        expected = recipe.sample(4, seed=123)
        reopened = load_run(tmp_path / "run", device="cpu", pm=contract_pm)
        got = reopened.sample(4, seed=123)
        assert _same(expected, got), "samples differ after a checkpoint round trip"

    def test_resume_is_exact(self, contract_pm: GanPluginManager, model_name: str,
                             tmp_path: Path) -> None:
        k = self.resume_steps
        straight = self.build(contract_pm, model_name)
        run_recipe(straight, steps=2 * k, ckpt_every=0)
        first = self.build(contract_pm, model_name)
        run_recipe(first, steps=k, run_dir=tmp_path / "r", ckpt_every=0)
        second = self.build(contract_pm, model_name)
        run_recipe(second, steps=2 * k, run_dir=tmp_path / "r", resume=True, ckpt_every=0)
        a, b = _params(straight), _params(second)
        diff = [n for n in a if not torch.equal(a[n], b[n])]
        assert not diff, f"resume is not exact; differing parameters: {diff[:5]}"
        assert _same(straight.extra_state(), second.extra_state()), "recipe state differs after resume"


@pytest.fixture
def gan_pm() -> GanPluginManager:
    """A fresh plugin manager with only the built-in core plugin (no entry points)."""
    return fresh_manager()


@pytest.fixture
def gan_run_dir(tmp_path: Path) -> Path:
    """An empty, not yet created run directory under ``tmp_path``."""
    return tmp_path / "run"

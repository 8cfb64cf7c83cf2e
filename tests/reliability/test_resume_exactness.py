"""Resume exactness across every built-in model.

Two checks:

* coverage — every model a built-in plugin registers is run through
  :class:`gan.testing.PluginContract` (whose ``test_resume_is_exact`` compares parameters and
  ``extra_state``) by a test class in that plugin's own suite, and nothing switches it off;
* depth — ``k`` steps + resume + ``k`` steps equals ``2k`` steps in *everything* a recipe carries:
  parameters, optimizer and scheduler state, every module held outside ``recipe.models`` (SeqGAN's
  rollout policy), every stateful helper (CycleGAN's image pools and their generators, batch
  streams), loose tensors, counters and all RNGs. Evaluation and sample writing are stubbed here
  (the contract already proves they have no side effects), which keeps all models under a minute.
"""

from __future__ import annotations

import importlib.util
import inspect
import random
import uuid
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from gan.plugins import BUILTIN_PLUGINS
from gan.testing import PluginContract, fresh_manager, make_recipe, run_recipe

ROOT = Path(__file__).resolve().parents[2]
MODEL_PLUGINS = [(name, mod) for name, mod in BUILTIN_PLUGINS if mod.endswith(".plugin")]


def _builtin_manager():
    return fresh_manager(*MODEL_PLUGINS)


def _models_by_plugin() -> dict[str, list[str]]:
    pm = _builtin_manager()
    for name, _ in MODEL_PLUGINS:
        assert pm.info[name].status == "loaded", f"built-in plugin {name}: {pm.info[name].error}"
    out: dict[str, list[str]] = {}
    for e in pm.registry("model").entries():
        out.setdefault(e.plugin, []).append(e.name)
    return out


def _contract_classes(package: str) -> list[type]:
    tests = ROOT / "plugins" / package / "tests"
    found = []
    for f in sorted(tests.glob("test_*.py")):
        if "PluginContract" not in f.read_text(encoding="utf-8"):
            continue
        spec = importlib.util.spec_from_file_location(f"_rel_contract_{uuid.uuid4().hex}", f)
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        found += [c for _, c in inspect.getmembers(mod, inspect.isclass)
                  if issubclass(c, PluginContract) and c is not PluginContract and c.__name__.startswith("Test")]
    return found


@pytest.mark.parametrize("plugin,module", MODEL_PLUGINS, ids=[p for p, _ in MODEL_PLUGINS])
def test_every_builtin_model_is_under_the_plugin_contract(plugin, module):
    models = _models_by_plugin().get(plugin, [])
    assert models, f"built-in plugin {plugin} registers no model"
    classes = [c for c in _contract_classes(module.split(".")[0]) if c.plugin == module]
    assert classes, f"plugins/{module.split('.')[0]}/tests has no PluginContract subclass for {module}"
    covered = set()
    for c in classes:
        assert c.resume_steps >= 1
        for name in ("test_resume_is_exact", "test_checkpoint_roundtrip_gives_identical_samples",
                     "test_each_phase_updates_only_its_modules"):
            assert getattr(c, name) is getattr(PluginContract, name), f"{c.__name__} overrides {name}"
        marks = [m.name for m in getattr(c, "pytestmark", [])]
        assert "slow" not in marks and "skip" not in marks, f"{c.__name__} is not in the default run"
        covered |= set(c.models) if c.models is not None else set(models)
    missing = sorted(set(models) - covered)
    assert not missing, f"models of plugin {plugin} outside the contract: {missing}"


def test_plugin_suites_are_collected_by_default():
    from gan.config import tomllib
    cfg = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["pytest"]["ini_options"]
    assert "plugins" in cfg["testpaths"]


# --- depth: the whole recipe state ----------------------------------------------------------------
SKIP_ATTRS = {"config", "run", "device", "nets", "data", "run_dir", "models", "optimizers",
              "schedulers", "ema", "dataset", "target", "checkpoint_path"}
#: per-model overrides that make hidden state observable (a rollout policy that lags the generator)
OVERRIDES = {"seqgan": {"rollout_update_rate": 0.8}}


def _state_of(obj, path: str, out: dict, depth: int = 0) -> None:
    if depth > 4:
        return
    if isinstance(obj, nn.Module):
        for k, v in obj.state_dict().items():
            out[f"{path}.{k}"] = v.detach().clone()
    elif isinstance(obj, torch.Generator):
        out[f"{path}.rng"] = obj.get_state().clone()
    elif isinstance(obj, torch.Tensor):
        out[path] = obj.detach().clone()
    elif isinstance(obj, (bool, int, float, str)) or obj is None:
        out[path] = obj
    elif isinstance(obj, (list, tuple)):
        for i, v in enumerate(obj):
            _state_of(v, f"{path}[{i}]", out, depth + 1)
    elif isinstance(obj, dict):
        for k, v in obj.items():
            _state_of(v, f"{path}[{k!r}]", out, depth + 1)
    elif callable(getattr(obj, "state_dict", None)):
        _state_of(obj.state_dict(), f"{path}.state_dict()", out, depth + 1)
    elif hasattr(obj, "__dict__") and type(obj).__module__.split(".")[0].startswith("gan"):
        for k, v in vars(obj).items():
            _state_of(v, f"{path}.{k}", out, depth + 1)


def _full_state(recipe) -> dict:
    out: dict = {}
    for kind in ("models", "optimizers", "schedulers", "ema"):
        for k, v in getattr(recipe, kind).items():
            _state_of(v.state_dict(), f"{kind}[{k}]", out)
    for k, v in vars(recipe).items():
        if k not in SKIP_ATTRS and not k.startswith("__"):
            _state_of(v, f"recipe.{k}", out)
    out["rng.torch"] = torch.get_rng_state()
    out["rng.numpy"] = np.random.get_state()[1].copy()
    out["rng.python"] = random.getstate()
    return out


def _differences(a: dict, b: dict) -> list[str]:
    diff = sorted(set(a) ^ set(b))
    for k in set(a) & set(b):
        x, y = a[k], b[k]
        if isinstance(x, torch.Tensor):
            same = isinstance(y, torch.Tensor) and x.shape == y.shape and x.dtype == y.dtype and \
                torch.equal(x, y)
        elif isinstance(x, np.ndarray):
            same = np.array_equal(x, y)
        else:
            same = x == y
        if not same:
            diff.append(k)
    return sorted(diff)


def _quiet(recipe):
    recipe.evaluate = lambda full=False: {}
    recipe.save_samples = lambda directory, step: []
    return recipe


def _all_models() -> list[str]:
    return sorted(n for names in _models_by_plugin().values() for n in names)


@pytest.mark.parametrize("model", _all_models())
def test_resume_restores_the_whole_recipe_state(model, tmp_path):
    pm = _builtin_manager()
    cls = pm.registry("model").resolve(model)
    over = {k: v for k, v in OVERRIDES.get(model, {}).items()
            if k in {f.name for f in __import__("dataclasses").fields(cls.Config)}}
    probe = make_recipe(cls, **over)
    total = sum(s.steps for s in probe.stages())
    k = max(1, total // 2)
    straight = _quiet(make_recipe(cls, **over))
    run_recipe(straight, steps=2 * k, ckpt_every=0)
    expected = _full_state(straight)
    first = _quiet(make_recipe(cls, **over))
    run_recipe(first, steps=k, run_dir=tmp_path / "r", ckpt_every=0)
    second = _quiet(make_recipe(cls, **over))
    run_recipe(second, steps=2 * k, run_dir=tmp_path / "r", resume=True, ckpt_every=0)
    got = _full_state(second)
    diff = _differences(expected, got)
    assert not diff, f"{model}: state after resume differs from an uninterrupted run: {diff[:8]}"


def test_cyclegan_pools_are_populated_and_restored(tmp_path):
    """The image pools must actually hold images at the resume point (else the check is vacuous)."""
    cls = _builtin_manager().registry("model").resolve("cyclegan")
    r = _quiet(make_recipe(cls))
    run_recipe(r, steps=2, run_dir=tmp_path / "r", ckpt_every=0)
    pools = {k: v for k, v in _full_state(r).items() if "pool" in k.lower() and
             isinstance(v, torch.Tensor) and v.dim() == 4}
    assert pools and all(v.shape[0] > 0 for v in pools.values()), sorted(_full_state(r))[:40]
    again = _quiet(make_recipe(cls))
    run_recipe(again, steps=2, run_dir=tmp_path / "r", resume=True, ckpt_every=0)
    restored = {k: v for k, v in _full_state(again).items() if k in pools}
    assert not _differences(pools, restored)


def test_seqgan_rollout_policy_is_restored(tmp_path):
    """With a lagging rollout policy (rate 0.8) the rollout network differs from G, so it must come
    from the checkpoint and not be rebuilt from G on resume."""
    pm = _builtin_manager()
    if "seqgan" not in pm.registry("model"):
        pytest.fail("seqgan is not registered")
    cls = pm.registry("model").resolve("seqgan")
    r = _quiet(make_recipe(cls, rollout_update_rate=0.8))
    run_recipe(r, steps=5, run_dir=tmp_path / "r", ckpt_every=0)
    hidden = {k: m for k, m in vars(r).items() if isinstance(m, nn.Module)
              and all(m is not x for x in r.models.values())}
    assert hidden, "SeqGAN keeps no network outside recipe.models (where is the rollout policy?)"
    g = r.models["G"].state_dict()
    assert any(any(not torch.equal(v, g[k]) for k, v in m.state_dict().items() if k in g)
               for m in hidden.values()), "the rollout policy equals G: the check would be vacuous"
    again = _quiet(make_recipe(cls, rollout_update_rate=0.8))
    run_recipe(again, steps=5, run_dir=tmp_path / "r", resume=True, ckpt_every=0)
    for name in hidden:
        a, b = {}, {}
        _state_of(getattr(r, name), name, a)
        _state_of(getattr(again, name), name, b)
        assert not _differences(a, b), f"recipe.{name} is not restored from the checkpoint"

"""Every hook is called through pluggy: wrappers (``wrapper=True``) run around the plain
implementations, ``tryfirst``/``trylast`` order them, ``gan_make_trainer`` is ``firstresult``, and
ganforge's per-plugin shim still records which plugin registered what and names a failing plugin.

``test_every_hookspec_has_a_test`` reads the hook names from hookspecs.py and fails when one is not
run by a test here (a ``hook`` parametrization or a test naming it), as datasette does for its hooks.
"""

from __future__ import annotations

import types
from pathlib import Path

import click
import pytest

import gan
from gan import hookspecs
from gan.plugins import GanPluginManager, current_plugin

REGISTRATION = {"gan_register_models": "model", "gan_register_losses": "loss",
                "gan_register_datasets": "dataset", "gan_register_metrics": "metric"}
CLI = ("gan_register_commands", "gan_add_cli_options")
LIFECYCLE = ("gan_on_run_start", "gan_on_step_end", "gan_on_evaluate", "gan_on_samples",
             "gan_on_checkpoint", "gan_on_run_end")


def _spec_args(hook: str) -> list[str]:
    import inspect
    return list(inspect.signature(getattr(hookspecs, hook)).parameters)


def _impl(hook: str, body, **opts):
    """A function with exactly the spec's argument names (pluggy passes arguments by name)."""
    args = ", ".join(_spec_args(hook))
    ns: dict = {"body": body}
    if opts.get("wrapper"):
        exec(f"def {hook}({args}):\n    return (yield from body({args}))", ns)
    else:
        exec(f"def {hook}({args}):\n    return body({args})", ns)
    return gan.hookimpl(**opts)(ns[hook])


def _entry(kind: str):
    """A minimal valid entry of ``kind`` (registries check entries against the protocols)."""
    if kind == "model":
        from gan_toy.toy import ToyGAN
        return ToyGAN
    if kind == "loss":
        from gan.losses import Hinge
        return Hinge
    return lambda *a, **k: {}


def _add(hook: str, plugin: str, args: tuple) -> None:
    """What each test implementation contributes, so provenance can be checked per hook kind."""
    if hook in REGISTRATION:
        args[0].add(f"{plugin}-thing", _entry(REGISTRATION[hook]))
    elif hook == "gan_register_commands":
        args[0].add_command(click.Command(f"{plugin}-cmd"))
    elif hook == "gan_add_cli_options":
        args[0].append(click.Option([f"--{plugin}-opt"]))


def _plugins(hook: str, calls: list[str]) -> list[tuple[str, types.ModuleType]]:
    """plain (registered first), early (tryfirst), late (trylast) and wrap (wrapper=True)."""
    def plain(name):
        def body(*args):
            calls.append(name)
            assert current_plugin.get() == name
            _add(hook, name, args)
        return body

    def wrap_body(*args):
        calls.append("wrap:before")
        assert current_plugin.get() == "wrap"
        result = yield
        assert current_plugin.get() == "wrap"  # set again when the wrapper resumes
        calls.append("wrap:after")
        _add(hook, "wrap", args)
        return result

    made = [("plain", {}), ("early", {"tryfirst": True}), ("late", {"trylast": True})]
    mods = []
    for name, opts in made:
        mod = types.ModuleType(name)
        setattr(mod, hook, _impl(hook, plain(name), **opts))
        mods.append((name, mod))
    wrap = types.ModuleType("wrap")
    setattr(wrap, hook, _impl(hook, wrap_body, wrapper=True))
    mods.append(("wrap", wrap))
    return mods


def _manager(*plugins) -> GanPluginManager:
    pm = GanPluginManager(builtins=(("core", "gan.builtin"),), entry_points=False).load()
    for name, mod in plugins:
        pm.register_module(mod, name)
    return pm


EXPECTED_ORDER = ["wrap:before", "early", "plain", "late", "wrap:after"]


@pytest.mark.parametrize("hook", list(REGISTRATION))
def test_registration_hooks_run_wrappers_and_order_and_keep_provenance(hook):
    calls: list[str] = []
    pm = _manager(*_plugins(hook, calls))
    reg = pm.registry(REGISTRATION[hook])
    assert calls == EXPECTED_ORDER
    for plugin in ("plain", "early", "late", "wrap"):
        assert reg.entry(f"{plugin}-thing").plugin == plugin
    assert all(i.status == "loaded" for i in pm.info.values())


@pytest.mark.parametrize("hook", CLI)
def test_cli_hooks_run_wrappers_and_order(hook, capsys):
    from gan.cli import build_cli
    calls: list[str] = []
    cli = build_cli(_manager(*_plugins(hook, calls)))
    assert calls == EXPECTED_ORDER
    if hook == "gan_register_commands":
        assert {"plain-cmd", "early-cmd", "late-cmd", "wrap-cmd"} <= set(cli.commands)
    else:
        opts = {o.name for o in cli.commands["run"].params}
        assert {"plain_opt", "early_opt", "late_opt", "wrap_opt"} <= opts
    assert "warning" not in capsys.readouterr().err


@pytest.mark.parametrize("hook", LIFECYCLE)
def test_lifecycle_hooks_run_wrappers_and_order_in_a_real_run(hook, tmp_path):
    """The trainer fires every lifecycle hook through pluggy during a 2-step toy run."""
    from gan.runs import build_recipe, make_trainer
    calls: list[str] = []
    pm = GanPluginManager(builtins=(("core", "gan.builtin"), ("toy", "gan_toy.plugin")),
                          entry_points=False).load()
    for name, mod in _plugins(hook, calls):
        pm.register_module(mod, name)
    built = build_recipe("toy-gan", pm=pm, preset="tiny",
                         assignments=[("run.progress", "false"), ("run.tensorboard", "false"),
                                      ("run.log_every", "1"), ("run.ckpt_every", "1"),
                                      ("run.eval_every", "1"), ("run.sample_every", "1"),
                                      ("run.max_steps", "1")])
    trainer = make_trainer(built, tmp_path / "run", pm=pm)
    trainer.fit()
    assert calls[:5] == EXPECTED_ORDER, calls
    assert len(calls) % 5 == 0 and calls == EXPECTED_ORDER * (len(calls) // 5)


class FakeTrainer:
    """The members of gan.Trainer and nothing else."""

    step, status, is_main = 0, "new", True

    def __init__(self, inner=None):
        self.inner = inner

    def fit(self):
        return {}

    def resume(self, path=None):
        return None

    def load_state_dict(self, state, *, weights_only=False):
        pass


def test_make_trainer_is_firstresult_through_pluggy():
    from gan.runs import BuiltRun, make_trainer
    calls: list[str] = []
    mine = FakeTrainer()

    def wrap_body(recipe, config, run_dir):
        calls.append("wrap:before")
        result = yield
        calls.append("wrap:after")
        return FakeTrainer(inner=result)  # a wrapper may replace the result

    def returns(name, value):
        def body(recipe, config, run_dir):
            calls.append(name)
            return value
        return body

    plugins = []
    for name, body, opts in [("mine", returns("mine", mine), {}),
                             ("early", returns("early", None), {"tryfirst": True}),
                             ("late", returns("late", "never"), {"trylast": True}),
                             ("wrap", wrap_body, {"wrapper": True})]:
        mod = types.ModuleType(name)
        mod.gan_make_trainer = _impl("gan_make_trainer", body, **opts)
        plugins.append((name, mod))
    pm = _manager(*plugins)
    trainer = make_trainer(BuiltRun(recipe=object(), run=None, model="m", dataset=None), None, pm=pm)
    assert trainer.inner is mine  # first non-None result, then the wrapper's replacement
    assert calls == ["wrap:before", "early", "mine", "wrap:after"]  # 'late' and the core never ran
    assert trainer.pm is pm


def _declared_hooks() -> set[str]:
    """The hook names in core/gan/hookspecs.py: functions decorated with ``@hookspec``, read from
    the source (as datasette does), so a new spec is seen even if nothing imports it yet."""
    import ast
    import inspect
    tree = ast.parse(inspect.getsource(hookspecs))
    out = set()
    for node in tree.body:
        if isinstance(node, ast.FunctionDef):
            decos = [d.func if isinstance(d, ast.Call) else d for d in node.decorator_list]
            if any(isinstance(d, ast.Name) and d.id == "hookspec" for d in decos):
                out.add(node.name)
    return out


def _hooks_exercised_here(specs: set[str]) -> set[str]:
    """Hooks a test of this module runs: a ``hook`` parametrization value, or named in its body."""
    import inspect
    import sys
    found: set[str] = set()
    for name, fn in vars(sys.modules[__name__]).items():
        if not name.startswith("test_") or name == "test_every_hookspec_has_a_test":
            continue
        for mark in getattr(fn, "pytestmark", []):
            if mark.name == "parametrize" and mark.args[0] == "hook":
                found |= set(mark.args[1])
        found |= {h for h in specs if h in inspect.getsource(fn)}
    return found


def test_every_hookspec_has_a_test():
    specs = _declared_hooks()
    assert len(specs) >= 13 and specs == {n for n in dir(hookspecs) if n.startswith("gan_")}
    missing = specs - _hooks_exercised_here(specs)
    assert not missing, f"hooks without a test in tests/test_hooks.py: {sorted(missing)}"


# --- failure isolation through the shim ------------------------------------------------------------
def test_a_wrapper_failing_in_a_registration_hook_is_a_skipped_plugin():
    def bad_wrapper(registry):
        registry.add("from-bad", _entry("model"))
        yield
        raise RuntimeError("wrapper broke")

    calls: list[str] = []
    bad = types.ModuleType("bad")
    bad.gan_register_models = _impl("gan_register_models", bad_wrapper, wrapper=True)
    good = _plugins("gan_register_models", calls)[0]
    pm = _manager(good, ("bad", bad))
    with pytest.warns(UserWarning, match=r"plugin 'bad'.*RuntimeError: wrapper broke"):
        models = pm.registry("model")
    assert "plain-thing" in models and "from-bad" not in models
    assert pm.info["bad"].status == "failed" and pm.pm.get_plugin("bad") is None


def test_a_wrapper_sees_an_inner_exception_and_the_note_names_the_inner_plugin():
    seen: list[BaseException] = []

    def watcher(trainer, step, logs):
        try:
            yield
        except ValueError as e:
            seen.append(e)
            raise

    def raiser(trainer, step, logs):
        raise ValueError("inner broke")

    w, r = types.ModuleType("watcher"), types.ModuleType("raiser")
    w.gan_on_step_end = _impl("gan_on_step_end", watcher, wrapper=True)
    r.gan_on_step_end = _impl("gan_on_step_end", raiser)
    pm = _manager(("watcher", w), ("raiser", r))
    with pytest.raises(ValueError, match="inner broke") as e:
        pm.call("gan_on_step_end", trainer=None, step=1, logs={})
    assert seen and seen[0] is e.value
    assert e.value.__notes__ == ["(raised by plugin 'raiser' in gan_on_step_end)"]


def test_plugin_objects_with_methods_work_through_the_shim():
    class Logger:
        def __init__(self):
            self.steps = []

        @gan.hookimpl
        def gan_on_step_end(self, step):
            self.steps.append((step, current_plugin.get()))

    logger = Logger()
    pm = _manager(("logger", logger))
    pm.call("gan_on_step_end", trainer=None, step=7, logs={})
    assert logger.steps == [(7, "logger")]


def test_registry_add_outside_a_hook_is_refused(tmp_path: Path):
    kept = []
    mod = types.ModuleType("keeper")
    mod.gan_register_models = _impl("gan_register_models", lambda registry: kept.append(registry))
    pm = _manager(("keeper", mod))
    pm.registries()
    with pytest.raises(gan.PluginError, match="outside a registration hook"):
        kept[0].add("late", object())

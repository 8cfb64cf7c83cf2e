import types

import pytest

import gan
from gan.errors import GanError, PluginError
from gan.plugins import GanPluginManager
from gan.registry import Registry


def _plugin(name, **hooks):
    mod = types.ModuleType(name)
    for k, fn in hooks.items():
        setattr(mod, k, gan.hookimpl(fn))
    return mod


def _recipe():
    """A valid recipe class (the manager's registries check entries against gan.Recipe)."""
    from gan_toy.toy import ToyGAN
    return ToyGAN


def test_registry_records_provenance_and_resolves():
    reg = Registry("model")
    reg.view("alpha", builtin=True).add("dcgan", object, help="DCGAN")
    reg.finalize()
    assert reg.entry("dcgan").plugin == "alpha"
    with pytest.raises(GanError, match="unknown model 'dcgn'; choose from: dcgan"):
        reg.resolve("dcgn")


@pytest.mark.parametrize("order", [0, 1])
def test_clash_is_an_error_naming_both_plugins_regardless_of_order(order):
    reg = Registry("model")
    views = [reg.view("alpha", False), reg.view("beta", False)]
    for v in (views if order == 0 else views[::-1]):
        v.add("same", object)
    with pytest.raises(PluginError, match="registered by several plugins: alpha, beta"):
        reg.finalize()


@pytest.mark.parametrize("order", [0, 1])
def test_explicit_override_of_builtin_wins_in_any_order(order):
    reg = Registry("loss")
    builtin, override = object(), object()
    adds = [lambda: reg.view("core", True).add("hinge", builtin),
            lambda: reg.view("mine", False).add("hinge", override, replace=True)]
    for f in (adds if order == 0 else adds[::-1]):
        f()
    reg.finalize()
    assert reg.resolve("hinge") is override
    assert reg.entry("hinge").plugin == "mine"


def test_silent_replacement_of_builtin_is_refused():
    reg = Registry("loss")
    reg.view("core", True).add("hinge", object)
    reg.view("mine", False).add("hinge", object)
    with pytest.raises(PluginError, match="replace=True"):
        reg.finalize()


def _manager(*plugins, strict=False):
    pm = GanPluginManager(builtins=(("core", "gan.builtin"),), entry_points=False, strict=strict).load()
    for name, mod in plugins:
        pm.register_module(mod, name)
    return pm


def test_plugin_raising_at_registration_is_named_and_skipped():
    def boom(registry):
        raise RuntimeError("kaput")

    good = _plugin("good", gan_register_models=lambda registry: registry.add("fine", _recipe()))
    bad = _plugin("bad", gan_register_models=boom)
    pm = _manager(("good", good), ("bad", bad))
    with pytest.warns(UserWarning, match="plugin 'bad'.*kaput"):
        models = pm.registry("model")
    assert "fine" in models
    assert pm.info["bad"].status == "failed" and "kaput" in pm.info["bad"].error
    assert "minimax" in pm.registry("loss")  # the rest keeps working


def test_strict_mode_turns_plugin_failure_into_error():
    bad = _plugin("bad", gan_register_models=lambda registry: 1 / 0)
    pm = _manager(("bad", bad), strict=True)
    with pytest.raises(PluginError, match="plugin 'bad'"):
        pm.registry("model")


def test_misspelled_hook_is_reported_with_plugin_name():
    typo = _plugin("typo", gan_register_model=lambda registry: None)
    pm = GanPluginManager(builtins=(("core", "gan.builtin"),), entry_points=False).load()
    with pytest.warns(UserWarning, match="plugin 'typo'.*gan_register_model"):
        pm.register_module(typo, "typo")
    assert pm.info["typo"].status == "failed"


def test_blocking_a_plugin(monkeypatch):
    pm = GanPluginManager(blocked=["toy"], entry_points=False,
                          builtins=(("core", "gan.builtin"), ("toy", "gan_toy.plugin"))).load()
    assert pm.info["toy"].status == "blocked"
    assert "toy-gan" not in pm.registry("model")
    monkeypatch.setenv("GANFORGE_DISABLE_PLUGINS", "toy")
    pm2 = GanPluginManager(entry_points=False,
                           builtins=(("core", "gan.builtin"), ("toy", "gan_toy.plugin"))).load()
    assert pm2.info["toy"].status == "blocked"


def test_import_failure_of_entry_point_is_reported(monkeypatch):
    import importlib.metadata as md

    class FakeDist:
        name, version = "broken-dist", "9.9"

    class FakeEP:
        name, value, dist = "broken", "no_such_module_xyz.plugin", FakeDist()

        def load(self):
            raise ImportError("No module named 'no_such_module_xyz'")

    monkeypatch.setattr(md, "entry_points", lambda group: [FakeEP()])
    pm = GanPluginManager(builtins=(("core", "gan.builtin"),))
    with pytest.warns(UserWarning, match=r"plugin 'broken' \(broken-dist 9.9.*no_such_module_xyz"):
        pm.load()
    assert "minimax" in pm.registry("loss")


def test_impl_exception_in_lifecycle_hook_names_plugin():
    def on_step(trainer, step, logs):
        raise ValueError("bad logger")

    pm = _manager(("logger", _plugin("logger", gan_on_step_end=on_step)))
    with pytest.raises(ValueError) as e:
        pm.call_each("gan_on_step_end", trainer=None, step=1, logs={})
    assert "plugin 'logger'" in " ".join(e.value.__notes__)


def test_default_model_of_plugin_and_unknown_name():
    pm = GanPluginManager(builtins=(("core", "gan.builtin"), ("toy", "gan_toy.plugin")),
                          entry_points=False).load()
    assert pm.default_model("toy") == "toy-gan"
    assert pm.default_model("toy-gan") == "toy-gan"
    with pytest.raises(GanError, match="unknown plugin or model 'nope'; choose from: .*toy-gan"):
        pm.default_model("nope")


def test_unmarked_hook_function_is_reported():
    mod = types.ModuleType("unmarked")
    mod.gan_register_models = lambda registry: None  # no @gan.hookimpl
    pm = GanPluginManager(builtins=(("core", "gan.builtin"),), entry_points=False).load()
    with pytest.warns(UserWarning, match="lack @gan.hookimpl"):
        pm.register_module(mod, "unmarked")


def test_plugin_failing_in_a_later_hook_loses_its_earlier_registrations():
    def datasets(registry):
        raise RuntimeError("broken datasets")

    mod = _plugin("half", gan_register_models=lambda registry: registry.add("half-model", _recipe()),
                  gan_register_datasets=datasets)
    pm = _manager(("half", mod))
    with pytest.warns(UserWarning, match="broken datasets"):
        assert "half-model" not in pm.registry("model")


def test_plugin_command_cannot_shadow_a_builtin_command(capsys):
    import click

    from gan.cli import build_cli

    @click.command("run")
    def fake_run():
        pass

    mod = _plugin("shadow", gan_register_commands=lambda cli: cli.add_command(fake_run))
    cli = build_cli(_manager(("shadow", mod)))
    assert cli.commands["run"] is not fake_run
    assert "plugin 'shadow' registers command 'run'" in capsys.readouterr().err
    with pytest.raises(PluginError, match="plugin 'shadow' registers command 'run'"):
        build_cli(_manager(("shadow", mod), strict=True))


class _Incomplete(gan.Recipe):
    """A recipe that forgot its sampling (its loss is not checked at registration: its phases may
    carry their loss callables, which only an instance shows)."""

    from gan_toy.toy import ToyConfig as Config

    def stages(self):
        return []

    def phases(self, stage):
        return []

    def next_batch(self, stage, phase):
        return None


class _HalfLoss:
    def d_loss(self, real, fake):
        return real


@pytest.mark.parametrize("hook,entry,missing", [
    ("gan_register_models", _Incomplete, "without sample()"),
    ("gan_register_models", object(), "without a Recipe class"),
    ("gan_register_losses", _HalfLoss, "without g_loss()"),
    ("gan_register_datasets", "not-callable", "expected the object or 'module:attr'"),
    ("gan_register_datasets", 3.5, "without __call__"),
    ("gan_register_metrics", 42, "without __call__"),
])
def test_entries_are_checked_against_the_protocols_when_registered(hook, entry, missing):
    mod = _plugin("sloppy", **{hook: lambda registry: registry.add("thing", entry)})
    pm = _manager(("sloppy", mod))
    with pytest.warns(UserWarning) as w:
        pm.registries()
    msgs = [str(x.message) for x in w if "sloppy" in str(x.message)]
    assert len(msgs) == 1 and "\n" not in msgs[0]
    assert "plugin 'sloppy' registered" in msgs[0] and "'thing'" in msgs[0] and missing in msgs[0]
    assert pm.info["sloppy"].status == "failed"
    assert "minimax" in pm.registry("loss")


def test_a_regularizer_only_needs_to_be_callable():
    mod = _plugin("reg", gan_register_losses=lambda registry: registry.add(
        "zero-penalty", lambda *a, **k: 0.0, kind="regularizer"))
    assert "zero-penalty" in _manager(("reg", mod)).registry("loss")


def test_a_builtin_plugin_with_a_bad_entry_is_an_error():
    mod = _plugin("mine", gan_register_models=lambda registry: registry.add("bad", _Incomplete))
    pm = GanPluginManager(builtins=(("core", "gan.builtin"),), entry_points=False).load()
    pm.register_module(mod, "mine", builtin=True)
    with pytest.raises(PluginError, match="plugin 'mine' registered model 'bad'.*without sample"):
        pm.registries()

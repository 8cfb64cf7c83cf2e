"""Declared (lazy) registry entries: ``gan --help``, ``gan list`` and ``gan plugins`` import no torch,
a declaration is imported and checked on first use, and the built-in declarations say what the
objects they name say."""

import os
import subprocess
import sys
import types

import pytest

import gan
from gan.errors import PluginError
from gan.plugins import GanPluginManager
from gan.registry import Registry, lazy

LISTING = """
import sys
from gan.cli import main
for args in (["--help"], ["list", "models"], ["list", "losses"], ["list", "datasets"],
             ["list", "metrics"], ["plugins"], ["plugins", "--json"], ["run", "--help"]):
    assert main(args) == 0, args
print("TORCH-IMPORTED" if "torch" in sys.modules else "NO-TORCH")
"""


def test_listing_commands_do_not_import_torch():
    env = {**os.environ, "GANFORGE_DISABLE_PLUGIN_AUTOLOAD": "1"}
    out = subprocess.run([sys.executable, "-c", LISTING], env=env, capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().endswith("NO-TORCH"), out.stdout[-500:]
    for name in ("dcgan", "pix2pix", "seqgan", "srgan", "toy-gan", "ring-8", "non-saturating", "fid"):
        assert name in out.stdout


def _plugin(name, **hooks):
    mod = types.ModuleType(name)
    for k, fn in hooks.items():
        setattr(mod, k, gan.hookimpl(fn))
    return mod


def _manager(*plugins):
    pm = GanPluginManager(builtins=(("core", "gan.builtin"),), entry_points=False).load()
    for name, mod in plugins:
        pm.register_module(mod, name)
    return pm


def test_a_declaration_is_imported_on_first_use_and_checked_then():
    reg = Registry("dataset", check=lambda kind, obj, meta: [] if callable(obj) else ["__call__"])
    view = reg.view("mine", builtin=False)
    view.add("fine", "os.path:join", help="joins")
    view.add("broken", "os.path:sep", help="not callable")
    view.add("missing", "no_such_module_xyz:thing", help="absent")
    view.add("factory", lazy("operator:itemgetter", 1), help="a factory's result")
    assert reg.entry("fine").lazy and reg.entry("fine").help == "joins"
    assert reg.resolve("fine") is os.path.join and not reg.entry("fine").lazy
    assert reg.resolve("factory")((5, 6)) == 6
    with pytest.raises(PluginError, match=r"plugin 'mine' registered dataset 'broken' \(str\) without __call__"):
        reg.resolve("broken")
    with pytest.raises(PluginError, match="plugin 'mine' declared dataset 'missing' as "
                                          "'no_such_module_xyz:thing', which cannot be loaded"):
        reg.resolve("missing")


def test_eager_and_declared_entries_live_side_by_side():
    from gan_toy.toy import ToyGAN
    eager = _plugin("eager", gan_register_models=lambda registry: registry.add("eager-toy", ToyGAN))
    declared = _plugin("declared", gan_register_models=lambda registry: registry.add(
        "declared-toy", "gan_toy.toy:ToyGAN", help="declared"))
    pm = _manager(("eager", eager), ("declared", declared))
    models = pm.registry("model")
    assert not models.entry("eager-toy").declared and models.entry("declared-toy").lazy
    assert models.resolve("declared-toy") is models.resolve("eager-toy") is ToyGAN


def _summary(obj):
    doc = (getattr(obj, "__doc__", None) or "").strip()
    return " ".join(doc.split("\n\n")[0].split())


def test_builtin_declarations_match_the_objects_they_name():
    """The summaries ``gan list`` prints are the first lines of the objects' own docstrings (or
    given explicitly where the object has none to speak of), and every declaration loads and passes
    its protocol check."""
    pm = GanPluginManager(entry_points=False).load()
    for kind, reg in pm.registries().items():
        for e in reg.entries():
            assert e.declared, f"built-in {kind} {e.name!r} is registered eagerly (imports at listing time)"
            obj = e.obj  # imports and checks
            doc = _summary(obj)
            if doc and not (kind == "dataset" and e.plugin == "seqgan"):
                assert doc.startswith(e.help.rstrip(".")), (kind, e.name, e.help, doc)


def test_builtin_tables_and_declarations_agree():
    from gan import builtin
    from gan.losses import BUILTIN_LOSSES, BUILTIN_REGULARIZERS
    from gan.metrics import BUILTIN_METRICS
    from gan_toy import plugin as toy_plugin
    from gan_toy.toy import DISTRIBUTIONS
    assert {n for n, kind, *_ in builtin.LOSSES if kind == "objective"} == set(BUILTIN_LOSSES)
    assert {n for n, kind, *_ in builtin.LOSSES if kind == "regularizer"} == set(BUILTIN_REGULARIZERS)
    assert {n for n, *_ in builtin.METRICS} == set(BUILTIN_METRICS)
    assert set(toy_plugin.DISTRIBUTIONS) == set(DISTRIBUTIONS)

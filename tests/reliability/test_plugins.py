"""Third-party plugins that break: at import, at registration, inside a run. The broken plugin is
named, the others keep working, and no plugin can silently replace a built-in.

Plugins are throwaway modules in ``tmp_path`` exposed through fake ``ganforge.plugins`` entry points
(``rel.install_plugins``), and everything goes through ``gan.cli.main``.
"""

from __future__ import annotations

import json
import re

import pytest

RAISES_AT_IMPORT = """
raise RuntimeError("boom at import")
"""

RAISES_AT_REGISTRATION = """
import gan

@gan.hookimpl
def gan_register_models(registry):
    raise ValueError("boom at registration")
"""

GOOD_MODEL = """
import gan

@gan.hookimpl
def gan_register_models(registry):
    from gan_toy.toy import ToyGAN

    class Fine(ToyGAN):
        '''A third-party toy GAN that works.'''
        name = "fine-gan"

    registry.add("fine-gan", Fine)
"""

MODEL_RAISES_IN_STEP = """
import gan

@gan.hookimpl
def gan_register_models(registry):
    from gan_toy.toy import ToyGAN

    class Broken(ToyGAN):
        '''A third-party toy GAN whose G loss raises at step index 2.'''
        name = "broken-gan"

        def loss(self, phase, batch, step, scratch):
            if step == 2 and phase.name == "G":
                raise RuntimeError("boom inside a training step")
            return super().loss(phase, batch, step, scratch)

    registry.add("broken-gan", Broken)
"""

HOOK_RAISES = """
import gan

@gan.hookimpl
def {hook}({args}):
    raise RuntimeError("boom in {hook}")
"""

HOOK_ARGS = {"gan_on_step_end": "trainer, step, logs", "gan_on_checkpoint": "trainer, path",
             "gan_on_run_start": "trainer", "gan_make_trainer": "recipe, config, run_dir",
             "gan_register_commands": "cli", "gan_add_cli_options": "options"}

SHADOWS_BUILTIN = """
import gan

@gan.hookimpl
def gan_register_models(registry):
    from gan_toy.toy import ToyGAN

    class Impostor(ToyGAN):
        '''Not the real DCGAN.'''
        name = "dcgan"

    registry.add("dcgan", Impostor{replace})
"""


def _toy_run(rel, tmp_path, *extra):
    return rel.run_cli(["run", "--plugin", "toy", "--preset", "tiny", *rel.QUIET, "--run-dir",
                        tmp_path / "toy-run", "--max-steps", "2", *extra])


@pytest.mark.parametrize("source,cause", [(RAISES_AT_IMPORT, "boom at import"),
                                          (RAISES_AT_REGISTRATION, "boom at registration")],
                         ids=["import", "registration"])
def test_broken_plugin_is_named_and_skipped_others_keep_working(rel, monkeypatch, tmp_path, source, cause):
    rel.install_plugins(monkeypatch, tmp_path, {"evil": source, "fine": GOOD_MODEL})
    r = rel.run_cli(["list", "models"])
    assert r.code == 0, r.err
    warnings = [x for x in r.err.splitlines() if "evil" in x]
    assert len(warnings) == 1 and warnings[0].startswith("warning: plugin 'evil' (evil-dist")
    assert cause in warnings[0] and "Traceback" not in r.err
    listed = {line.split()[0]: line.split()[1] for line in r.out.splitlines()}
    assert listed["fine-gan"] == "fine" and listed["dcgan"] == "image" and listed["toy-gan"] == "toy"
    r = rel.run_cli(["plugins", "--json"])
    rows = {row["name"]: row for row in json.loads(r.out)}
    assert rows["evil"]["status"] == "failed" and cause in rows["evil"]["error"]
    assert rows["fine"]["status"] == "loaded" and rows["toy"]["status"] == "loaded"
    r = _toy_run(rel, tmp_path)
    assert r.code == 0 and "completed at step 2" in r.out, r.err
    r = rel.run_cli(["run", "--plugin", "fine-gan", "--preset", "tiny", *rel.QUIET, "--run-dir",
                     tmp_path / "fine-run", "--max-steps", "1"])
    assert r.code == 0, r.err


@pytest.mark.parametrize("source", [RAISES_AT_IMPORT, RAISES_AT_REGISTRATION], ids=["import", "registration"])
def test_strict_plugins_turns_a_broken_plugin_into_one_error(rel, monkeypatch, tmp_path, source):
    rel.install_plugins(monkeypatch, tmp_path, {"evil": source})
    r = rel.run_cli(["--strict-plugins", "list", "models"])
    assert r.code == 2
    assert "plugin 'evil' (evil-dist" in r.error_line()


def test_blocked_plugin_is_not_even_imported(rel, monkeypatch, tmp_path):
    rel.install_plugins(monkeypatch, tmp_path, {"evil": RAISES_AT_IMPORT})
    r = rel.run_cli(["-p", "no:evil", "list", "models"])
    assert r.code == 0 and "evil" not in r.err, r.err


def test_model_raising_inside_a_training_step_keeps_the_run_consistent(rel, monkeypatch, tmp_path):
    rel.install_plugins(monkeypatch, tmp_path, {"evil": MODEL_RAISES_IN_STEP})
    rd = tmp_path / "run"
    r = rel.run_cli(["run", "--plugin", "broken-gan", "--preset", "tiny", *rel.QUIET, "--run-dir", rd,
                     "--set", "run.ckpt_every=1", "--set", "run.log_every=1"])
    assert r.code != 0
    line = r.error_line()
    assert "boom inside a training step" in line
    rel.metrics_records(rd / "metrics.jsonl")
    from gan.checkpoint import CheckpointManager
    found = CheckpointManager(rd / "checkpoints").latest("broken-gan")
    assert found is not None and found[1]["step"] == 2


def test_model_raising_inside_a_training_step_is_named(rel, monkeypatch, tmp_path):
    rel.install_plugins(monkeypatch, tmp_path, {"evil": MODEL_RAISES_IN_STEP})
    r = rel.run_cli(["run", "--plugin", "broken-gan", "--preset", "tiny", *rel.QUIET, "--run-dir",
                     tmp_path / "run"])
    line = r.error_line()
    assert "evil" in line and "broken-gan" in line, line


@pytest.mark.parametrize("hook", ["gan_on_step_end", "gan_on_checkpoint", "gan_on_run_start"])
def test_lifecycle_hook_raising_is_named(rel, monkeypatch, tmp_path, hook):
    src = HOOK_RAISES.format(hook=hook, args=HOOK_ARGS[hook])
    rel.install_plugins(monkeypatch, tmp_path, {"evil": src})
    r = _toy_run(rel, tmp_path, "--set", "run.log_every=1", "--set", "run.ckpt_every=1")
    assert r.code != 0
    line = r.error_line()
    assert f"boom in {hook}" in line and f"raised by plugin 'evil' in {hook}" in line, line


def test_make_trainer_hook_raising_is_named(rel, monkeypatch, tmp_path):
    rel.install_plugins(monkeypatch, tmp_path, {"evil": HOOK_RAISES.format(
        hook="gan_make_trainer", args=HOOK_ARGS["gan_make_trainer"])})
    r = _toy_run(rel, tmp_path)
    assert r.code != 0
    assert "evil" in r.error_line()


@pytest.mark.parametrize("hook", ["gan_register_commands", "gan_add_cli_options"])
def test_plugin_breaking_the_cli_hooks_does_not_stop_the_cli(rel, monkeypatch, tmp_path, hook):
    src = HOOK_RAISES.format(hook=hook, args=HOOK_ARGS[hook])
    rel.install_plugins(monkeypatch, tmp_path, {"evil": src})
    r = rel.run_cli(["list", "models"])
    assert r.code == 0, r.err
    assert "toy-gan" in r.out and re.search(r"warning: plugin 'evil'.*boom", r.err)


def test_plugin_cannot_silently_replace_a_builtin(rel, monkeypatch, tmp_path):
    rel.install_plugins(monkeypatch, tmp_path, {"evil": SHADOWS_BUILTIN.format(replace="")})
    r = rel.run_cli(["list", "models"])
    assert r.code == 2
    line = r.error_line()
    assert "model 'dcgan' is registered by several plugins: evil, image" in line
    assert "replace=True" in line
    r = rel.run_cli(["-p", "no:evil", "list", "models"])  # the way out
    assert r.code == 0 and "dcgan" in r.out


def test_explicit_override_of_a_builtin_is_visible(rel, monkeypatch, tmp_path):
    rel.install_plugins(monkeypatch, tmp_path, {"evil": SHADOWS_BUILTIN.format(replace=", replace=True")})
    r = rel.run_cli(["list", "models"])
    assert r.code == 0, r.err
    listed = {line.split()[0]: line.split()[1] for line in r.out.splitlines()}
    assert listed["dcgan"] == "evil"
    rows = {row["name"]: row for row in json.loads(rel.run_cli(["plugins", "--json"]).out)}
    assert "dcgan" in rows["evil"]["provides"]["model"]
    assert "dcgan" not in rows["image"]["provides"]["model"]


def test_third_party_plugin_cannot_take_a_builtin_plugin_name(rel, monkeypatch, tmp_path):
    rel.install_plugins(monkeypatch, tmp_path, {"toy": SHADOWS_BUILTIN.format(replace=", replace=True")})
    r = rel.run_cli(["list", "models"])
    assert r.code == 0, r.err
    assert re.search(r"warning: plugin 'toy' \(toy-dist.*already taken by gan_toy.plugin", r.err), r.err
    listed = {line.split()[0]: line.split()[1] for line in r.out.splitlines()}
    assert listed["dcgan"] == "image" and listed["toy-gan"] == "toy"


EXITS_AT_IMPORT = """
import sys
sys.exit(3)
"""

EXITS_IN_HOOK = """
import sys
import gan

@gan.hookimpl
def gan_register_models(registry):
    sys.exit(4)
"""


@pytest.mark.parametrize("args", [["--help"], ["--version"], ["list", "models"]])
@pytest.mark.parametrize("source,code", [(EXITS_AT_IMPORT, "3"), (EXITS_IN_HOOK, "4")],
                         ids=["import", "hook"])
def test_plugin_calling_sys_exit_is_a_named_skipped_plugin(rel, monkeypatch, tmp_path, args, source, code):
    rel.install_plugins(monkeypatch, tmp_path, {"quitter": source, "fine": GOOD_MODEL})
    r = rel.run_cli(args)
    assert r.code == 0, (r.code, r.err)
    warned = [x for x in r.err.splitlines() if "quitter" in x]
    if source is EXITS_IN_HOOK and args[0].startswith("--"):
        assert warned == []  # --help/--version collect no registry: the hook never runs
        return
    assert len(warned) == 1 and warned[0].startswith("warning: plugin 'quitter' (quitter-dist")
    assert f"sys.exit({code})" in warned[0]
    if args == ["list", "models"]:
        assert "fine-gan" in r.out and "toy-gan" in r.out


def test_keyboard_interrupt_from_a_plugin_still_stops(rel, monkeypatch, tmp_path):
    rel.install_plugins(monkeypatch, tmp_path, {"ctrlc": "raise KeyboardInterrupt\n"})
    r = rel.run_cli(["list", "models"])
    assert r.code == 130


@pytest.mark.parametrize("how", ["flag", "env"])
def test_blocking_a_name_that_matches_no_plugin_warns_with_the_valid_names(rel, monkeypatch, tmp_path, how):
    rel.install_plugins(monkeypatch, tmp_path, {"fine": GOOD_MODEL})
    if how == "env":
        monkeypatch.setenv("GANFORGE_DISABLE_PLUGINS", "tensorbord,fine")
        r = rel.run_cli(["list", "models"])
        source = "GANFORGE_DISABLE_PLUGINS"
    else:
        r = rel.run_cli(["-p", "no:tensorbord", "-p", "no:fine", "list", "models"])
        source = "-p no:tensorbord"
    assert r.code == 0, r.err
    warned = [x for x in r.err.splitlines() if "tensorbord" in x]
    assert len(warned) == 1, r.err
    assert warned[0].startswith(f"warning: {source}: no plugin is named 'tensorbord'; plugins: ")
    assert "tensorboard" in warned[0] and "fine" in warned[0] and "toy" in warned[0]
    assert "fine-gan" not in r.out  # the valid name was still blocked

"""The protocols are checked where they matter: ``gan_make_trainer``'s result against
:class:`gan.Trainer`, and reopening a run goes through that hook so a plugin's own trainer reopens
the runs it wrote."""

from __future__ import annotations

import types

import pytest
import torch

import gan
from gan.errors import PluginError
from gan.protocols import Generator, Loss, Network, Trainer, missing_members, protocol_members
from gan.runs import build_recipe, load_run, make_trainer
from gan.testing import fresh_manager
from gan.trainer import AdversarialTrainer

QUIET = [("run.progress", "false"), ("run.tensorboard", "false"), ("run.eval_every", "0"),
         ("run.eval_at_start", "false")]


def test_protocols_name_the_members_callers_use():
    assert {"fit", "resume", "load_state_dict", "step", "status", "is_main"} == set(protocol_members(Trainer))
    assert set(protocol_members(Loss)) == {"d_loss", "g_loss"}
    assert {"forward", "parameters", "state_dict", "load_state_dict", "train", "eval"} <= set(
        protocol_members(Generator))
    assert missing_members(torch.nn.Linear(2, 2), Network) == []
    assert missing_members(object(), Loss) == ["d_loss", "g_loss"]
    assert missing_members(types.SimpleNamespace(d_loss=1, g_loss=len), Loss) == ["d_loss"]


class RecordingTrainer(AdversarialTrainer):
    """A plugin's own trainer (here a subclass; any gan.Trainer will do)."""

    loaded: list[bool] = []

    def load_state_dict(self, state, *, weights_only=False):
        RecordingTrainer.loaded.append(weights_only)
        super().load_state_dict(state, weights_only=weights_only)


def _trainer_plugin(make):
    mod = types.ModuleType("own_trainer")

    @gan.hookimpl
    def gan_make_trainer(recipe, config, run_dir):
        return make(recipe, config, run_dir) if recipe.name == "toy-gan" else None

    mod.gan_make_trainer = gan_make_trainer
    return mod


def test_a_plugins_trainer_trains_and_reopens_its_runs(tmp_path):
    pm = fresh_manager(("toy", "gan_toy.plugin"))
    pm.register_module(_trainer_plugin(lambda r, c, d: RecordingTrainer(r, c, run_dir=d)), "own")
    built = build_recipe("toy-gan", pm=pm, preset="tiny", device="cpu",
                         assignments=[*QUIET, ("run.max_steps", "2")])
    trainer = make_trainer(built, tmp_path / "run", pm=pm)
    assert type(trainer) is RecordingTrainer
    trainer.fit()
    RecordingTrainer.loaded.clear()
    recipe = load_run(tmp_path / "run", device="cpu", pm=pm)
    assert RecordingTrainer.loaded == [True]  # reopened through gan_make_trainer, weights only
    assert torch.equal(recipe.sample(4, seed=1), built.recipe.sample(4, seed=1))


def test_a_trainer_lacking_members_is_one_error_naming_the_plugin(tmp_path):
    pm = fresh_manager(("toy", "gan_toy.plugin"))
    pm.register_module(_trainer_plugin(lambda r, c, d: types.SimpleNamespace(fit=lambda: {})), "half")
    built = build_recipe("toy-gan", pm=pm, preset="tiny", device="cpu", assignments=QUIET)
    with pytest.raises(PluginError) as e:
        make_trainer(built, tmp_path / "run", pm=pm)
    msg = str(e.value)
    assert "\n" not in msg and msg.startswith("plugin 'half': gan_make_trainer returned SimpleNamespace")
    assert "lacks resume, load_state_dict, step, status, is_main" in msg

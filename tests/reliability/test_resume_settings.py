"""Issue 10.3 — a resume continues with the saved settings; --set may change only what is safe
(named, recorded in resume_history.jsonl, and really used); anything shaping the model or data is
refused in one line."""

from __future__ import annotations

import json

import pytest
import torch

from gan.checkpoint import CheckpointManager
from gan.resume import apply_learning_rates, fresh_learning_rates, is_safe_to_change


def _run(rel, rd, *extra):
    return rel.run_cli(["run", "--plugin", "toy", *rel.QUIET, "--run-dir", rd, *extra])


@pytest.fixture
def started(rel, tmp_path):
    """A toy run started with --set steps=30 (not the preset's 4), cut at step 3."""
    rd = tmp_path / "run"
    r = _run(rel, rd, "--preset", "tiny", "--set", "steps=30", "--max-steps", "3")
    assert r.code == 0, r.err
    return rd


def test_resume_without_flags_keeps_the_saved_settings(rel, started):
    r = _run(rel, started, "--resume", "--max-steps", "5")
    assert r.code == 0, r.err
    assert "completed at step 5" in r.out
    saved = json.loads((started / "config.json").read_text())
    assert saved["config"]["steps"] == 30 and saved["config"]["hidden"] == 16  # tiny preset values kept
    history = [json.loads(x) for x in (started / "resume_history.jsonl").read_text().splitlines()]
    assert history[-1]["step"] == 3 and history[-1]["changes"] == {}


def test_safe_changes_are_named_recorded_and_used(rel, started):
    r = _run(rel, started, "--resume", "--max-steps", "5", "--set", "lr=0.05", "--set", "run.log_every=1",
             "--set", "steps=40")
    assert r.code == 0, r.err
    for text in ("resume: lr changed from 0.001 to 0.05", "resume: run.log_every changed from 50 to 1",
                 "resume: steps changed from 30 to 40"):
        assert text in r.err
    record = json.loads((started / "resume_history.jsonl").read_text().splitlines()[-1])
    assert record["changes"]["lr"] == {"from": 0.001, "to": 0.05}
    _, state = CheckpointManager(started / "checkpoints").latest()
    assert state["step"] == 5
    lrs = {g["lr"] for o in state["optimizers"].values() for g in o["param_groups"]}
    assert lrs == {0.05}, "the optimizers kept the old learning rate"
    assert json.loads((started / "config.json").read_text())["config"]["steps"] == 40


@pytest.mark.parametrize("setting", ["hidden=32", "z_dim=4", "layers=2", "loss=hinge", "data.size=512",
                                     "batch_size=16", "beta1=0.9", "stabilise.unrolled_steps=3"])
def test_changes_that_shape_model_or_data_are_refused(rel, started, setting):
    before = rel.snapshot(started)
    r = _run(rel, started, "--resume", "--set", setting)
    assert r.code == 2, r.err
    key = setting.split("=")[0]
    assert f"--set {setting} on --resume: {key} shapes the model or its data" in r.error_line()
    assert rel.snapshot(started) == before


def test_repeating_the_original_command_on_resume_is_no_change(rel, started):
    r = _run(rel, started, "--preset", "tiny", "--set", "steps=30", "--resume", "--max-steps", "4")
    assert r.code == 0, r.err
    assert "resume:" not in r.err.replace("resumed from", "")
    assert "--preset tiny ignored" in r.err


def _shapes(recipe):
    return {f"{m}.{k}": tuple(v.shape) for m, mod in recipe.models.items() for k, v in mod.state_dict().items()}


def _changed(value):
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return value * 2 + 1
    if isinstance(value, float):
        return value * 0.5 if value else 0.1
    return None


@pytest.mark.parametrize("model", ["toy", "dcgan", "pix2pix"])
def test_every_setting_resume_accepts_leaves_the_network_shapes_alone(model):
    """The class, not examples: each recipe setting the resume rule lets through is changed and the
    recipe rebuilt; no parameter or buffer may change shape (the checkpoint must still fit)."""
    from gan.config import RunConfig, field_names, resolve_config
    from gan.plugins import GanPluginManager
    from gan.runs import build_recipe
    pm = GanPluginManager()
    pm.load()
    name = pm.default_model(model)
    cls = pm.registry("model").resolve(name)
    base_cfg = resolve_config(cls.Config, RunConfig(), presets=cls.presets, preset="tiny")
    base = _shapes(build_recipe(name, pm=pm, preset="tiny", run=RunConfig(device="cpu")).recipe)
    safe = [k for k in field_names(base_cfg) if is_safe_to_change(k)]
    assert any("lr" in k for k in safe) and "steps" in safe
    for key in safe:
        obj = base_cfg
        for part in key.split(".")[:-1]:
            obj = getattr(obj, part)
        new = _changed(getattr(obj, key.split(".")[-1]))
        if new is None:
            continue
        built = build_recipe(name, pm=pm, preset="tiny", assignments=[(key, str(new))], run=RunConfig(device="cpu"))
        assert _shapes(built.recipe) == base, f"{model}: resume accepts {key}, which changes the networks"


def test_new_learning_rate_keeps_the_scheduler_progress():
    p = torch.nn.Parameter(torch.zeros(2))
    old = torch.optim.Adam([p], lr=1.0)
    sched = torch.optim.lr_scheduler.LambdaLR(old, lambda s: 1 - s / 10)
    for _ in range(4):
        old.step()
        sched.step()
    saved_opt, saved_sched = old.state_dict(), sched.state_dict()
    new = torch.optim.Adam([p], lr=0.5)  # rebuilt from the new config
    new_sched = torch.optim.lr_scheduler.LambdaLR(new, lambda s: 1 - s / 10)
    fresh = fresh_learning_rates({"G": new})
    new.load_state_dict(saved_opt)
    new_sched.load_state_dict(saved_sched)
    assert new.param_groups[0]["lr"] == pytest.approx(0.6)  # what a plain load gives: the old rate
    apply_learning_rates({"G": new}, {"G": new_sched}, fresh)
    assert new.param_groups[0]["lr"] == pytest.approx(0.3) and new_sched.base_lrs == [0.5]
    new.step()
    new_sched.step()
    assert new.param_groups[0]["lr"] == pytest.approx(0.5 * (1 - 5 / 10))


def test_the_rule_is_by_meaning_of_the_name():
    safe = ["steps", "run.seed", "run.log_every", "lr", "g_lr", "lr_d", "eval.samples", "eval_samples",
            "pretrain_g_epochs", "adversarial_rounds", "d_steps"]
    refused = ["hidden", "z_dim", "data.image_size", "data.max_len", "oracle.seq_len", "batch_size", "loss",
               "ngf", "beta1", "lambda_cycle"]
    assert all(is_safe_to_change(k) for k in safe)
    assert not any(is_safe_to_change(k) for k in refused)

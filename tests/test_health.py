"""The training-health monitor: each alarm fires on a run that fails that way, none on healthy
default presets, and ``on_alarm=stop`` checkpoints before stopping."""

import json

import pytest
import torch

from gan.config import RunConfig
from gan.health import HealthMonitor, HealthThresholds, d_stats
from gan.losses import LeastSquares, NonSaturating, Wasserstein
from gan.runs import build_recipe, make_trainer

PATIENCE = 3


def train(tmp_path, model, assignments=(), prepare=None, **run):
    """A tiny run logging every step; returns (trainer, alarm records of metrics.jsonl)."""
    run = {"eval_at_start": False, **run}
    rc = RunConfig(progress=False, log_every=1, ckpt_every=0, health_patience=PATIENCE, device="cpu", **run)
    built = build_recipe(model, preset="tiny", assignments=list(assignments), run=rc)
    if prepare is not None:
        prepare(built.recipe)
    trainer = make_trainer(built, tmp_path / "run")
    error = None
    try:
        trainer.fit()
    except Exception as e:  # noqa: BLE001 - an exploding run may end in NonFiniteLossError
        error = e
    lines = (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()
    alarms = [r for r in map(json.loads, lines) if "alarm" in r]
    return trainer, alarms, error


def kinds(alarms):
    return {a["alarm"] for a in alarms}


def test_d_stats_accuracy_and_means():
    real, fake = torch.tensor([2.0, -1.0, 3.0, 0.5]), torch.tensor([-2.0, 1.0])
    s = d_stats(real, fake, NonSaturating())
    assert s["acc_real"].item() == pytest.approx(0.75) and s["acc_fake"].item() == pytest.approx(0.5)
    assert s["d_real"].item() == pytest.approx(real.sigmoid().mean().item())
    ls = d_stats(torch.tensor([0.6, 0.4]), torch.tensor([0.2]), LeastSquares())  # threshold 0.5
    assert ls["acc_real"].item() == 0.5 and ls["acc_fake"].item() == 1.0
    w = d_stats(torch.tensor([5.0, 3.0]), torch.tensor([1.0, 4.5]), Wasserstein())  # midpoint 3.375
    assert w["acc_real"].item() == 0.5 and w["acc_fake"].item() == 0.5 and w["d_real"].item() == 4.0


def test_monitor_rules_on_synthetic_intervals():
    m = HealthMonitor(HealthThresholds(patience=3))
    healthy = {"D/loss": 1.2, "G/loss": 0.8, "D/acc_real": 0.7, "D/acc_fake": 0.6, "D/grad_norm": 2.0}
    for step in range(10):
        assert m.observe(step, dict(healthy), ("modes", 8.0)) == []
    # G's loss rising for 3 intervals, by more than half its start: fires once
    fired = [m.observe(10 + i, {**healthy, "G/loss": g}) for i, g in enumerate([1.0, 1.2, 1.4, 1.6, 1.8])]
    assert [kinds(f) for f in fired] == [set(), set(), {"g_loss_rising"}, set(), set()]  # 0.8 → 1.4
    # a small monotone drift is not an alarm
    m2 = HealthMonitor(HealthThresholds(patience=3))
    assert all(m2.observe(i, {"G/loss": 0.8 + 0.01 * i}) == [] for i in range(8))
    # explosion is immediate, and a NaN counts
    assert kinds(m.observe(20, {**healthy, "D/grad_norm": 1e5})) == {"explosion"}
    assert kinds(HealthMonitor().observe(0, {"G/loss": float("nan")})) == {"explosion"}
    # collapse: diversity at most half its best for `patience` intervals
    m3 = HealthMonitor(HealthThresholds(patience=2))
    out = [m3.observe(i, {}, ("modes", v)) for i, v in enumerate([6.0, 8.0, 5.0, 4.0, 3.0])]
    assert [kinds(o) for o in out] == [set(), set(), set(), set(), {"collapse"}]


def test_d_wins_when_g_cannot_learn_and_stop_checkpoints_first(tmp_path):
    def freeze_g(recipe):
        recipe.optimizers["G"].param_groups[0]["lr"] = 1e-12

    trainer, alarms, error = train(tmp_path, "toy-gan", [("steps", "400"), ("lr", "0.01")], freeze_g,
                                   on_alarm="stop")
    assert error is None
    assert kinds(alarms) == {"d_wins"}, alarms
    rec = alarms[0]
    assert rec["acc_real"] >= 0.99 and rec["acc_fake"] >= 0.99
    # on_alarm=stop: the run ends at the alarm, with a checkpoint of that step
    assert trainer.status == "stopped" and trainer.step == rec["step"] < 400
    ckpts = sorted((tmp_path / "run" / "checkpoints").glob("ckpt-*.pt"))
    assert ckpts and f"{trainer.step:08d}" in ckpts[-1].name


def test_explosion_at_learning_rate_10(tmp_path):
    _, alarms, _ = train(tmp_path, "toy-gan", [("steps", "40"), ("lr", "10")], on_alarm="stop")
    assert kinds(alarms) == {"explosion"}, alarms


def test_collapse_when_generator_is_forced_to_a_constant(tmp_path):
    def prepare(recipe):
        last = recipe.models["G"][-1]
        with torch.no_grad():
            last.weight.mul_(30.0)  # spread the samples over the ring first
        base_after = recipe.after_step

        def after_step(stage, step):
            base_after(stage, step)
            if step == 8:  # from here on G outputs one point
                with torch.no_grad():
                    last.weight.zero_()
                    last.bias.copy_(torch.tensor([2.0, 0.0]))
                for group in recipe.optimizers["G"].param_groups:
                    group["lr"] = 0.0
        recipe.after_step = after_step

    trainer, alarms, error = train(tmp_path, "toy-gan", [("steps", "20")], prepare)
    assert error is None
    assert "collapse" in kinds(alarms), alarms
    rec = next(a for a in alarms if a["alarm"] == "collapse")
    assert rec["value"] == 1.0 and rec["best"] >= 4 and 8 < rec["step"] <= 8 + PATIENCE + 1


@pytest.mark.parametrize("model", ["toy-gan", "dcgan", "seqgan"])
def test_default_tiny_presets_raise_no_alarm(tmp_path, model):
    trainer, alarms, error = train(tmp_path, model, eval_at_start=True)  # image: classes covered
    assert error is None
    assert alarms == [] and trainer.health.alarms == []
    logs = [json.loads(x) for x in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    d_keys = {k for r in logs for k in r if k.startswith("D/")}
    assert {"D/acc_real", "D/acc_fake", "D/d_real", "D/d_fake", "D/grad_norm"} <= d_keys
    assert all(0.0 <= r[k] <= 1.0 for r in logs for k in ("D/acc_real", "D/acc_fake") if k in r)

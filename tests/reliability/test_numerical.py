"""Numerical faults: a non-finite loss or gradient stops the run naming phase, step and the last good
checkpoint (exit 2), or skips the step with ``run.on_nonfinite=skip``; no checkpoint ever holds
non-finite weights."""

from __future__ import annotations

import dataclasses
import math

import pytest
import torch

from gan import LossOutput
from gan.checkpoint import CheckpointManager, load_checkpoint
from gan.errors import NonFiniteLossError
from gan.testing import make_recipe, run_recipe

NAN_PLUGIN = """
from dataclasses import dataclass
import gan

@gan.hookimpl
def gan_register_models(registry):
    from gan_toy.toy import ToyConfig, ToyGAN

    @dataclass
    class NanConfig(ToyConfig):
        nan_at: int = -1  # step index whose D loss becomes NaN (fault injection)

    class NanToy(ToyGAN):
        '''The toy GAN with a NaN injected into the D loss at step ``nan_at``.'''
        name = "nan-toy"
        Config = NanConfig

        def loss(self, phase, batch, step, scratch):
            out = super().loss(phase, batch, step, scratch)
            if phase.name == "D" and step == self.config.nan_at:
                out.loss = out.loss * float("nan")
            return out

    registry.add("nan-toy", NanToy)
"""


def _all_finite(state: dict) -> bool:
    return all(torch.isfinite(v).all() for m in state["models"].values() for v in m.values())


@pytest.fixture
def nan_toy(rel, monkeypatch, tmp_path):
    rel.install_plugins(monkeypatch, tmp_path, {"nantoy": NAN_PLUGIN})
    return ["run", "--plugin", "nan-toy", "--preset", "tiny", *rel.QUIET]


def test_nan_loss_stops_run_naming_phase_step_and_last_good_checkpoint(rel, nan_toy, tmp_path):
    rd = tmp_path / "run"
    r = rel.run_cli(nan_toy + ["--run-dir", rd, "--set", "steps=12", "--set", "nan_at=5",
                               "--set", "run.ckpt_every=2", "--set", "run.log_every=50"])
    assert r.code == 2, r.err
    line = r.error_line()
    assert "non-finite loss or gradient in phase 'D' at step 6" in line, line
    assert f"last good checkpoint: {rd / 'checkpoints' / 'ckpt-00000004.pt'}" in line, line
    ckpts = CheckpointManager(rd / "checkpoints").list()
    assert [p.name for p in ckpts] == ["ckpt-00000002.pt", "ckpt-00000004.pt"]
    assert all(_all_finite(load_checkpoint(p)) for p in ckpts)
    rel.metrics_records(rd / "metrics.jsonl")


def test_nan_before_any_checkpoint_says_none_was_written(rel, tmp_path):
    r = rel.run_cli(["run", "--plugin", "toy", "--preset", "tiny", *rel.QUIET, "--run-dir",
                     tmp_path / "run", "--set", "lr=1e30", "--set", "steps=20"])
    assert r.code == 2, r.err
    line = r.error_line()
    assert "non-finite loss or gradient in phase" in line and "at step" in line
    assert "no checkpoint written yet" in line
    assert not CheckpointManager(tmp_path / "run" / "checkpoints").list()


def test_skip_mode_skips_the_bad_step_and_finishes(rel, nan_toy, tmp_path):
    rd = tmp_path / "run"
    r = rel.run_cli(nan_toy + ["--run-dir", rd, "--set", "steps=8", "--set", "nan_at=3",
                               "--set", "run.on_nonfinite=skip", "--set", "run.log_every=1"])
    assert r.code == 0, r.err
    records = rel.metrics_records(rd / "metrics.jsonl")
    skipped = {x["step"]: x["D/skipped"] for x in records if "D/skipped" in x}
    assert skipped == {4: 1.0}, skipped
    assert _all_finite(CheckpointManager(rd / "checkpoints").latest("nan-toy")[1])
    assert all(math.isfinite(x["G/loss"]) for x in records if "G/loss" in x)


# --- a gradient that is non-finite while the loss is finite ---------------------------------------
@pytest.fixture
def nan_grad_gan(linear_gan):
    class NanGrad(linear_gan):
        """G's loss stays finite at step index 3 but its gradient is NaN (sqrt at 0, times 0)."""
        name = "nan-grad"

        def loss(self, phase, batch, step, scratch):
            out = super().loss(phase, batch, step, scratch)
            if phase.name == "G" and step == 3:
                s = sum(p.sum() for p in self.nets.G.parameters())
                out = LossOutput(out.loss + torch.sqrt(s * 0.0), out.logs)
            return out

    return NanGrad


def test_nan_gradient_with_finite_loss_is_caught_when_clipping(nan_grad_gan, tmp_path):
    """With gradient clipping the trainer sees the gradient norm, so this case is covered today."""
    r = make_recipe(nan_grad_gan, steps=10)
    r.phases = lambda stage: [dataclasses.replace(p, grad_clip=1e6) for p in type(r).phases(r, stage)]
    with pytest.raises(NonFiniteLossError, match="phase 'G' at step 4"):
        run_recipe(r, run_dir=tmp_path, ckpt_every=1, log_every=100)
    for p in CheckpointManager(tmp_path / "checkpoints").list():
        assert _all_finite(load_checkpoint(p)), p


def test_nan_gradient_with_finite_loss_stops_before_a_bad_checkpoint(nan_grad_gan, tmp_path):
    r = make_recipe(nan_grad_gan, steps=10)
    with pytest.raises(NonFiniteLossError) as e:
        run_recipe(r, run_dir=tmp_path, ckpt_every=1, log_every=100)
    bad = [p.name for p in CheckpointManager(tmp_path / "checkpoints").list()
           if not _all_finite(load_checkpoint(p))]
    assert not bad, f"checkpoints with non-finite weights: {bad}; error was: {e.value}"
    assert "phase 'G' at step 4" in str(e.value)


def test_skip_mode_skips_a_nan_gradient(nan_grad_gan):
    r = make_recipe(nan_grad_gan, steps=8)
    run_recipe(r, on_nonfinite="skip")
    assert all(torch.isfinite(p).all() for m in r.models.values() for p in m.parameters())


def test_nan_is_reported_as_such_even_when_evaluation_comes_first(rel, tmp_path):
    r = rel.run_cli(["run", "--plugin", "toy", "--preset", "tiny", *rel.QUIET, "--run-dir",
                     tmp_path / "run", "--set", "lr=1e30", "--set", "steps=20",
                     "--set", "run.eval_every=1"])
    assert r.code == 2, r.err
    assert "non-finite loss or gradient in phase" in r.error_line()

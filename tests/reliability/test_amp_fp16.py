"""Issue 10.4 — fp16 mixed precision trains: the GradScaler owns overflowing steps (counted in the
log as amp/overflow_steps), non-finite checks read unscaled values, and a run resumes exactly.
fp16 autocast and GradScaler run on CPU in this torch, so these tests need no GPU."""

from __future__ import annotations

import math

import pytest
import torch

from gan.checkpoint import CheckpointManager, load_checkpoint
from gan.errors import NonFiniteLossError
from gan.testing import make_recipe, run_recipe
from gan.trainer import AMP_MAX_OVERFLOW_STREAK

FP16 = ["--set", "run.amp=fp16", "--set", "run.eval_at_start=false"]


def _train(rel, rd, model, steps, *extra):
    r = rel.run_cli(["run", "--plugin", model, "--preset", "tiny", *rel.QUIET, *FP16, "--run-dir", rd,
                     "--set", f"steps={steps}", "--set", "run.log_every=5", *extra])
    assert r.code == 0, r.err
    return [x for x in rel.metrics_records(rd / "metrics.jsonl") if "amp/scale" in x]


@pytest.mark.parametrize("model,steps,loss_key,mode", [
    ("toy", 60, "D/loss", "stop"), ("dcgan", 30, "D/loss", "stop"), ("toy", 60, "D/loss", "skip"),
    pytest.param("dcgan", 30, "D/loss", "skip", marks=pytest.mark.slow)])
def test_fp16_trains_losses_move_and_overflows_stop_after_the_first_steps(rel, tmp_path, model, steps,
                                                                           loss_key, mode):
    logs = _train(rel, tmp_path / "r", model, steps, "--set", f"run.on_nonfinite={mode}")
    assert len(logs) == steps // 5
    losses = [x[loss_key] for x in logs]
    assert all(math.isfinite(v) for v in losses)
    assert max(losses) - min(losses) > 1e-3, f"fp16 losses never moved: {losses}"
    # Every skipped optimizer step is one of the scaler's overflows, each halving its scale (it
    # grows again only after 2000 clean steps): the count equals the halvings from 2**16, and
    # they are few — the scale settles where the gradients fit and training goes on.
    overflows = sum(x["amp/overflow_steps"] for x in logs)
    assert overflows == math.log2(2**16 / logs[-1]["amp/scale"]), [(x["amp/overflow_steps"], x["amp/scale"]) for x in logs]
    assert overflows <= max(3, steps // 10), [x["amp/overflow_steps"] for x in logs]
    assert logs[-1]["amp/scale"] >= 2**10
    assert not any(k.endswith("/skipped") for x in logs for k in x)


def test_fp16_resume_is_exact(rel, tmp_path):
    _train(rel, tmp_path / "full", "toy", 12, "--set", "run.ckpt_every=6")
    _train(rel, tmp_path / "cut", "toy", 12, "--set", "run.ckpt_every=6", "--max-steps", "6")
    r = rel.run_cli(["run", "--plugin", "toy", *rel.QUIET, "--run-dir", tmp_path / "cut", "--resume"])
    assert r.code == 0, r.err
    a = CheckpointManager(tmp_path / "full" / "checkpoints").latest()[1]
    b = CheckpointManager(tmp_path / "cut" / "checkpoints").latest()[1]
    assert a["step"] == b["step"] == 12
    assert a["scaler"]["scale"] == b["scaler"]["scale"]
    for name in a["models"]:
        for k, v in a["models"][name].items():
            assert torch.equal(v, b["models"][name][k]), f"{name}.{k} differs after resume"


def test_gradients_that_stay_non_finite_still_stop_an_fp16_run(linear_gan, tmp_path):
    """Overflows are the scaler's, but a gradient NaN at every scale is a real fault: once the
    scale has fallen through every fp16 value the run stops, naming phase and step, and no
    checkpoint holds non-finite weights."""
    class AlwaysNanGrad(linear_gan):
        name = "always-nan-grad"

        def loss(self, phase, batch, step, scratch):
            out = super().loss(phase, batch, step, scratch)
            if phase.name == "G" and step >= 2:
                s = sum(p.sum() for p in self.nets.G.parameters())
                out.loss = out.loss + torch.sqrt(s * 0.0)  # finite loss, NaN gradient
            return out

    r = make_recipe(AlwaysNanGrad, steps=200)
    with pytest.raises(NonFiniteLossError, match="phase 'G'"):
        run_recipe(r, run_dir=tmp_path, amp="fp16", ckpt_every=1, log_every=10)
    for p in CheckpointManager(tmp_path / "checkpoints").list():
        state = load_checkpoint(p)
        assert all(torch.isfinite(v).all() for m in state["models"].values() for v in m.values())
        assert state["step"] <= 2 + AMP_MAX_OVERFLOW_STREAK + 10

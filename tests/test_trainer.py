import json
import math

import pytest
import torch

from gan.config import RunConfig
from gan.errors import GanError, NonFiniteLossError
from gan.testing import make_recipe, run_recipe
from gan.trainer import AdversarialTrainer


def _params(recipe):
    return {f"{k}.{n}": p.detach().clone() for k, m in recipe.models.items()
            for n, p in m.named_parameters()}


def test_repeats_and_every_schedule_phases(linear_gan):
    r = make_recipe(linear_gan, steps=6, d_repeats=3, g_every=2)
    run_recipe(r)
    assert r.calls == {"D": 18, "G": 3}


def test_a_repeats_schedule_is_a_function_of_the_step_and_survives_a_resume(linear_gan, tmp_path):
    r = make_recipe(linear_gan, steps=6, d_repeats=2, d_burst="4@0,1,5")
    run_recipe(r)
    assert r.calls == {"D": 4 + 4 + 2 + 2 + 2 + 4, "G": 6}
    straight = make_recipe(linear_gan, steps=6, d_burst="3@0,4")
    run_recipe(straight, ckpt_every=0)
    first = make_recipe(linear_gan, steps=6, d_burst="3@0,4")
    run_recipe(first, steps=3, run_dir=tmp_path)
    second = make_recipe(linear_gan, steps=6, d_burst="3@0,4")
    run_recipe(second, run_dir=tmp_path, resume=True)
    # the counters travel in the checkpoint (as in test_resume_continues_exactly)
    assert first.calls["D"] == 3 + 1 + 1 and second.calls["D"] == straight.calls["D"] == 5 + 1 + 3 + 1
    a, b = _params(straight), _params(second)
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_a_repeats_schedule_that_gives_no_whole_number_is_named(linear_gan):
    r = make_recipe(linear_gan, steps=2, d_burst="-1@1")
    with pytest.raises(GanError, match=r"phase 'D': its repeats schedule gave -1 at step 1"):
        run_recipe(r)


def test_resume_continues_exactly(linear_gan, tmp_path):
    straight = make_recipe(linear_gan, steps=8)
    run_recipe(straight, ckpt_every=0)
    first = make_recipe(linear_gan, steps=8)
    run_recipe(first, steps=4, run_dir=tmp_path)
    second = make_recipe(linear_gan, steps=8)
    t = run_recipe(second, run_dir=tmp_path, resume=True)
    assert t.step == 8 and second.calls == straight.calls
    a, b = _params(straight), _params(second)
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_nonfinite_loss_stops_naming_phase_step_and_checkpoint(linear_gan, tmp_path):
    r = make_recipe(linear_gan, steps=10, nan_at=5)
    with pytest.raises(NonFiniteLossError) as e:
        run_recipe(r, run_dir=tmp_path, ckpt_every=2, log_every=3)
    msg = str(e.value)
    assert "phase 'D' at step 6" in msg and "ckpt-00000004.pt" in msg
    # the checkpoints left behind hold finite weights only
    from gan.checkpoint import CheckpointManager
    _, state = CheckpointManager(tmp_path / "checkpoints").latest()
    assert all(torch.isfinite(v).all() for m in state["models"].values() for v in m.values())


def test_nonfinite_loss_skip_mode_keeps_training(linear_gan):
    r = make_recipe(linear_gan, steps=6, nan_at=2)
    t = run_recipe(r, on_nonfinite="skip")
    assert t.step == 6
    assert all(torch.isfinite(p).all() for m in r.models.values() for p in m.parameters())


def test_sigterm_saves_checkpoint_and_exits_cleanly(linear_gan, tmp_path):
    r = make_recipe(linear_gan, steps=50, sigterm_at=3)
    t = run_recipe(r, run_dir=tmp_path, ckpt_every=0)
    assert t.status == "interrupted" and t.step == 3
    assert (tmp_path / "checkpoints" / "ckpt-00000003.pt").exists()


def test_metrics_jsonl_logging_and_eval_protocol(linear_gan, tmp_path):
    r = make_recipe(linear_gan, steps=6, clip=1.0)
    run_recipe(r, run_dir=tmp_path, log_every=2)
    lines = [json.loads(x) for x in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    train = [x for x in lines if "D/loss" in x]
    assert [x["step"] for x in train] == [2, 4, 6]
    assert all(math.isfinite(x["D/loss"]) and "D/grad_norm" in x for x in train)
    evals = [x for x in lines if "eval/mean_dist" in x]
    assert evals and evals[-1]["protocol"] == {"samples": 256}
    cfg = json.loads((tmp_path / "config.json").read_text())
    assert cfg["model"] == "linear-gan" and cfg["config"]["steps"] == 6


def test_torn_metrics_line_is_dropped_on_reopen(linear_gan, tmp_path):
    r = make_recipe(linear_gan, steps=4)
    run_recipe(r, steps=2, run_dir=tmp_path, log_every=1)
    with open(tmp_path / "metrics.jsonl", "a") as f:
        f.write('{"step": 99, "D/lo')  # a kill mid-write
    r2 = make_recipe(linear_gan, steps=4)
    run_recipe(r2, run_dir=tmp_path, resume=True, log_every=1)
    for line in (tmp_path / "metrics.jsonl").read_text().splitlines():
        json.loads(line)


def test_steps_lost_to_a_kill_are_not_logged_twice_after_resume(linear_gan, tmp_path):
    r = make_recipe(linear_gan, steps=8)
    run_recipe(r, steps=6, run_dir=tmp_path, log_every=1, ckpt_every=4)
    (tmp_path / "checkpoints" / "ckpt-00000006.pt").unlink()  # killed after step 6, before its checkpoint
    t = run_recipe(make_recipe(linear_gan, steps=8), run_dir=tmp_path, resume=True, log_every=1,
                   ckpt_every=4)
    assert t.step == 8
    lines = [json.loads(x) for x in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert [x["step"] for x in lines if "D/loss" in x] == list(range(1, 9))  # 5 and 6 once each


def test_ema_tracks_generator_and_is_checkpointed(linear_gan, tmp_path):
    r = make_recipe(linear_gan, steps=5)
    run_recipe(r, run_dir=tmp_path, ema_decay=0.5)
    ema_w = r.ema["G"].module.weight
    assert not torch.equal(ema_w, r.models["G"].weight)
    from gan.checkpoint import CheckpointManager
    _, state = CheckpointManager(tmp_path / "checkpoints").latest()
    assert torch.equal(state["ema"]["G"]["module.weight"], ema_w.detach())


def test_checkpoint_without_an_ema_restarts_it_from_the_loaded_weights(linear_gan, tmp_path):
    """A run saved without an EMA (before a model's default turned one on, or an import), opened
    with one: sampling must read the loaded generator, not the EMA's copy of a fresh init."""
    from gan.checkpoint import CheckpointManager
    trained = make_recipe(linear_gan, steps=5)
    run_recipe(trained, run_dir=tmp_path, ema_decay=0.0)
    _, state = CheckpointManager(tmp_path / "checkpoints").latest()
    assert not state["ema"]
    fresh = make_recipe(linear_gan, steps=5)
    trainer = AdversarialTrainer(fresh, RunConfig(progress=False, tensorboard=False, ema_decay=0.9))
    assert not torch.equal(fresh.ema["G"].module.weight, trained.models["G"].weight)
    trainer.load_state_dict(state, weights_only=True)
    assert torch.equal(fresh.eval_model("G").weight, trained.models["G"].weight)
    assert int(fresh.ema["G"].n_averaged) == 0  # averaging starts over from the loaded weights


def test_evaluation_does_not_perturb_training(linear_gan):
    a = make_recipe(linear_gan, steps=6)
    run_recipe(a, eval_every=0)
    b = make_recipe(linear_gan, steps=6)
    run_recipe(b, eval_every=1)
    pa, pb = _params(a), _params(b)
    assert all(torch.equal(pa[k], pb[k]) for k in pa)


def test_unknown_phase_module_is_rejected(linear_gan):
    from gan import Phase
    from gan.errors import GanError
    r = make_recipe(linear_gan)
    r.phases = lambda stage: [Phase("X", "nope", "D")]
    with pytest.raises(GanError, match="unknown modules"):
        AdversarialTrainer(r, RunConfig(progress=False))

"""What the base Recipe does so recipes need not: data-stream state, per-phase loss callables."""

from dataclasses import dataclass

import torch
from torch import nn

from gan import LossOutput, Phase, Recipe, Stage
from gan.data import BatchStream
from gan.sampling import NICE_FACTOR, best_indices, nice_sample
from gan.testing import run_recipe


@dataclass
class TwoStreamConfig:
    steps: int = 8
    lr: float = 0.05


class TwoStreamGAN(Recipe):
    """Unpaired-style: D sees a batch of each of two streams of different lengths (so they wrap
    at different steps); it saves no state of its own, and its phases carry their losses."""

    name = "two-stream"
    Config = TwoStreamConfig
    data_kind = "points"
    presets = {"tiny": {}}

    def __init__(self, config, device="cpu", data=None, run=None):
        super().__init__(config, device, data, run)
        g = torch.Generator().manual_seed(0)
        # set out of name order on purpose: the saved order must not depend on __init__
        self.stream_b = BatchStream(torch.randn(24, 2, generator=g) - 2.0, 4, seed=11)
        self.stream_a = BatchStream(torch.randn(40, 2, generator=g) + 2.0, 6, seed=5)
        torch.manual_seed(0)  # the same initial weights in every instance
        self.models["G"] = nn.Linear(2, 2)
        self.models["D"] = nn.Sequential(nn.Linear(2, 8), nn.Tanh(), nn.Linear(8, 1))
        for k in ("G", "D"):
            self.optimizers[k] = torch.optim.Adam(self.models[k].parameters(), lr=config.lr)
        self.loss_calls = {"D": 0, "G": 0}
        self.scored = []

    def stages(self):
        return [Stage("train", self.config.steps)]

    def phases(self, stage):
        return [Phase("D", "D", "D", loss=self.d_loss), Phase("G", "G", "G", fresh_batch=False, loss=self.g_loss)]

    def next_batch(self, stage, phase):
        return torch.cat([next(self.stream_a), next(self.stream_b)])

    def d_loss(self, batch, step, scratch):
        self.loss_calls["D"] += 1
        fake = self.nets.G(torch.randn(batch.shape[0], 2)).detach()
        loss = nn.functional.softplus(-self.nets.D(batch)).mean() + nn.functional.softplus(self.nets.D(fake)).mean()
        return LossOutput(loss)

    def g_loss(self, batch, step, scratch):
        self.loss_calls["G"] += 1
        return LossOutput(nn.functional.softplus(-self.nets.D(self.nets.G(torch.randn(batch.shape[0], 2)))).mean())

    @torch.no_grad()
    def sample(self, n, seed=None):
        g = torch.Generator().manual_seed(seed) if seed is not None else None
        return self.models["G"](torch.randn(n, 2, generator=g))

    def score(self, samples):
        self.scored.append(samples.shape[0])
        return samples[:, 0]  # "more real" = further right: easy to check by hand


def _params(recipe):
    return {f"{k}.{n}": p.detach().clone() for k, m in recipe.models.items() for n, p in m.named_parameters()}


def test_base_recipe_saves_every_public_stream_by_name():
    r = TwoStreamGAN(TwoStreamConfig())
    next(r.stream_a), next(r.stream_b), next(r.stream_b)
    state = r.extra_state()
    assert list(state["streams"]) == ["stream_a", "stream_b"]
    assert state["streams"]["stream_a"]["position"] == 1 and state["streams"]["stream_b"]["position"] == 2
    fresh = TwoStreamGAN(TwoStreamConfig())
    fresh.load_extra_state(state)
    assert torch.equal(next(fresh.stream_a), next(r.stream_a))
    assert torch.equal(next(fresh.stream_b), next(r.stream_b))


def test_streams_saved_in_the_older_top_level_layout_still_load():
    r = TwoStreamGAN(TwoStreamConfig())
    for _ in range(9):  # past the end of stream_a's first epoch (6 batches of 6)
        next(r.stream_a)
    old = {"stream_a": r.stream_a.state_dict(), "pool": {"images": torch.zeros(1)}}
    fresh = TwoStreamGAN(TwoStreamConfig())
    fresh.load_extra_state(old)
    assert fresh.stream_a.state_dict() == r.stream_a.state_dict()
    assert fresh.stream_b.state_dict()["position"] == 0  # absent from the old state: at its start


def test_two_stream_recipe_resumes_exactly_without_writing_extra_state(tmp_path):
    straight = TwoStreamGAN(TwoStreamConfig())
    run_recipe(straight, steps=8, ckpt_every=0)
    first = TwoStreamGAN(TwoStreamConfig())
    run_recipe(first, steps=4, run_dir=tmp_path / "r", ckpt_every=0)
    second = TwoStreamGAN(TwoStreamConfig())
    run_recipe(second, steps=8, run_dir=tmp_path / "r", resume=True, ckpt_every=0)
    a, b = _params(straight), _params(second)
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert straight.extra_state() == second.extra_state()
    # without the stream positions the resumed run would start both streams over and differ
    run_recipe(TwoStreamGAN(TwoStreamConfig()), steps=4, run_dir=tmp_path / "lost", ckpt_every=0)
    lost = TwoStreamGAN(TwoStreamConfig())
    lost.load_extra_state = lambda state: None
    run_recipe(lost, steps=8, run_dir=tmp_path / "lost", resume=True, ckpt_every=0)
    assert any(not torch.equal(a[k], v) for k, v in _params(lost).items())


def test_the_trainer_calls_the_loss_a_phase_carries():
    r = TwoStreamGAN(TwoStreamConfig(steps=3))
    before = _params(r)
    run_recipe(r, steps=3)
    assert r.loss_calls == {"D": 3, "G": 3}
    after = _params(r)
    assert all(not torch.equal(before[k], after[k]) for k in before)


def test_a_phase_without_a_loss_callable_or_loss_method_names_itself():
    r = TwoStreamGAN(TwoStreamConfig())
    try:
        r.loss(Phase("E", "D", "D"), torch.zeros(1, 2), 0, {})
    except NotImplementedError as e:
        assert "phase 'E'" in str(e) and "two-stream" in str(e)
    else:
        raise AssertionError("no error")
    out = r.loss(Phase("D", "D", "D", loss=r.d_loss), torch.zeros(2, 2), 0, {})
    assert out.loss.ndim == 0 and r.loss_calls["D"] == 1


def test_nice_sampler_keeps_the_best_scored_n_of_n_times_factor():
    r = TwoStreamGAN(TwoStreamConfig())
    kept, index = nice_sample(r, 3, seed=7, nice=5)
    candidates = r.sample(15, seed=7)
    assert r.scored == [15]
    order = candidates[:, 0].argsort(descending=True)
    assert torch.equal(index, order[:3]) and torch.equal(kept, candidates[order[:3]])
    assert (kept[:, 0] >= candidates[order[3], 0]).all()  # nothing left out scores higher
    _, index = nice_sample(r, 2, seed=7, nice=True)  # --nice without a number
    assert r.scored[-1] == 2 * NICE_FACTOR
    plain, index = nice_sample(r, 4, seed=7, nice=False)  # no selection, no scoring
    assert torch.equal(plain, r.sample(4, seed=7)) and index.tolist() == [0, 1, 2, 3] and len(r.scored) == 2


def test_best_indices_break_ties_by_candidate_order():
    assert best_indices(torch.tensor([1.0, 3.0, 3.0, 0.0, 3.0]), 2).tolist() == [1, 2]


def test_eval_mode_restores_every_submodule_flag_and_can_keep_dropout():
    from gan.modes import eval_mode
    net = nn.Sequential(nn.Linear(2, 2), nn.Dropout(0.5), nn.BatchNorm1d(2))
    frozen = nn.Sequential(nn.Linear(2, 2)).eval()  # a frozen part that trains in eval mode
    net.append(frozen)
    with eval_mode(net, None, keep_dropout=True):
        assert not net.training and net[1].training and not net[2].training
    assert net.training and net[1].training and net[2].training and not frozen.training
    with eval_mode(net):
        assert not any(m.training for m in net.modules())


def test_optimizer_factory_takes_modules_and_names_a_bad_kind():
    import pytest

    from gan.errors import GanError
    from gan.optim import make_optimizer
    a, b = nn.Linear(2, 2), nn.Linear(2, 1)
    opt = make_optimizer([a, b], 1e-3, (0.5, 0.999))
    assert isinstance(opt, torch.optim.Adam) and len(opt.param_groups[0]["params"]) == 4
    assert opt.param_groups[0]["betas"] == (0.5, 0.999)
    assert isinstance(make_optimizer(a, 5e-5, kind="rmsprop"), torch.optim.RMSprop)
    assert len(make_optimizer(a.parameters(), 1e-3, fused=True).param_groups[0]["params"]) == 2
    with pytest.raises(GanError, match=r"--set optimizer='sgd': expected one of adam, rmsprop"):
        make_optimizer(a, 1e-3, kind="sgd")


def test_one_classifier_cache_policy(monkeypatch, tmp_path):
    from pathlib import Path

    from gan.metrics import classifier_cache
    monkeypatch.setenv("GANFORGE_CACHE", str(tmp_path))
    assert classifier_cache() == tmp_path / "classifiers"
    assert classifier_cache("~/x") == Path("~/x").expanduser()
    assert classifier_cache(enabled=False) is None
    monkeypatch.delenv("GANFORGE_CACHE")
    assert classifier_cache() == Path.home() / ".cache" / "ganforge" / "classifiers"

"""The generator EMA forgets its random start: warmed-up decay min(d, (1+n)/(10+n))."""

import pytest
import torch
from torch import nn
from torch.optim.swa_utils import AveragedModel

from gan.ema import ema_multi_avg_fn, warmed_decay


def test_warmed_decay_ramps_up_to_the_set_decay():
    got = [float(warmed_decay(0.999, torch.tensor(n))) for n in (0, 10, 100, 10_000)]
    assert got[0] == pytest.approx(0.1) and got[1] == pytest.approx(11 / 20)
    assert got[2] == pytest.approx(101 / 110) and got[3] == pytest.approx(0.999)


def _track(decay: float, steps: int) -> tuple[float, float]:
    """A weight walking 0 → steps in unit steps: (its EMA, what a plain EMA would hold)."""
    m = nn.Sequential(nn.Linear(1, 1, bias=False), nn.BatchNorm1d(1))
    nn.init.zeros_(m[0].weight)
    ema = AveragedModel(m, multi_avg_fn=ema_multi_avg_fn(decay), use_buffers=True)
    plain = 0.0
    for i in range(steps):
        with torch.no_grad():
            m[0].weight.add_(1.0)
        m(torch.randn(4, 1))
        ema.update_parameters(m)
        w = float(m[0].weight.detach())
        plain = w if i == 0 else decay * plain + (1 - decay) * w
    assert int(ema.module[1].num_batches_tracked) == steps  # integer buffers are copied
    return float(ema.module[0].weight.detach()), plain


def test_short_runs_are_not_dragged_back_to_the_initial_weights():
    avg, plain = _track(0.999, 1000)
    # the plain EMA still gives the first weights 0.999**999 ≈ 37 % and lags ~630 steps behind
    assert plain < 400
    # the warmed-up one lags by about a tenth of the run
    assert 850 < avg < 1000


def test_long_runs_reach_the_set_decay():
    avg, _ = _track(0.9, 500)
    assert avg == pytest.approx(500 - 0.9 / 0.1, abs=0.05)  # steady-state lag of an EMA on a ramp

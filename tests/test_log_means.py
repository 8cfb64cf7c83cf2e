"""Logged values are means over the times each key was logged, not over training steps.

A discriminator with ``repeats=3`` logs three times per step and a generator with ``every=2`` logs
every other step; dividing their sums by the step count would report D's figures 3× too large and
G's halved (SeqGAN's D/acc read 15.8 with 31 D repeats; WGAN-GP's critic losses were 5× too big).
"""

import json
import os
import sys

import pytest
import torch

from gan import LossOutput
from gan.testing import make_recipe, run_recipe


@pytest.fixture
def recording_gan(linear_gan):
    class Recording(linear_gan):
        """Logs a constant per phase and remembers every loss it returned."""

        name = "recording-gan"

        def __init__(self, *a, **kw):
            super().__init__(*a, **kw)
            self.losses = {"D": [], "G": []}

        def loss(self, phase, batch, step, scratch):
            out = super().loss(phase, batch, step, scratch)
            self.losses[phase.name].append((step, float(out.loss.detach())))
            const = torch.tensor(0.75 if phase.name == "D" else 0.25)
            return LossOutput(out.loss, {**out.logs, "acc": const})

    return Recording


def _train_records(path):
    return [x for x in map(json.loads, path.read_text().splitlines()) if "D/loss" in x or "G/loss" in x]


@pytest.mark.parametrize("d_repeats,g_every", [(3, 1), (1, 2), (5, 3)])
def test_logged_values_are_means_per_key(recording_gan, tmp_path, d_repeats, g_every):
    r = make_recipe(recording_gan, steps=12, d_repeats=d_repeats, g_every=g_every)
    run_recipe(r, run_dir=tmp_path, log_every=6, eval_every=0, sample_every=0)
    records = _train_records(tmp_path / "metrics.jsonl")
    assert [x["step"] for x in records] == [6, 12]
    for rec in records:
        lo, hi = rec["step"] - 6, rec["step"]
        # a constant logged by a phase is that constant, however often the phase ran
        assert rec["D/acc"] == pytest.approx(0.75)
        if "G/acc" in rec:
            assert rec["G/acc"] == pytest.approx(0.25)
        # and the loss is the mean of the losses the phase actually returned in the interval
        for phase in ("D", "G"):
            seen = [v for s, v in r.losses[phase] if lo <= s < hi]
            runs = 6 * d_repeats if phase == "D" else sum(1 for s in range(lo, hi) if s % g_every == 0)
            assert len(seen) == runs
            assert rec[f"{phase}/loss"] == pytest.approx(sum(seen) / len(seen), rel=1e-5)


def test_logging_syncs_per_flush_not_per_step(linear_gan, tmp_path, monkeypatch):
    """The trainer keeps sums on the device: the host syncs of its training steps and log flushes
    grow with the number of log lines, not with the number of steps or phase repeats."""
    calls = {"n": 0}
    for name in ("item", "tolist"):
        orig = getattr(torch.Tensor, name)

        def counted(self, *a, _orig=orig, **kw):
            frame = sys._getframe(1)  # the trainer's own syncs (not torch.optim's CPU step counters)
            own = frame.f_code.co_filename.endswith(os.path.join("gan", "trainer.py"))
            while own and frame is not None:  # ... inside a training step or a log flush
                if (frame.f_code.co_filename.endswith(os.path.join("gan", "trainer.py"))
                        and frame.f_code.co_name in ("train_step", "_flush_logs")):
                    calls["n"] += 1
                    break
                frame = frame.f_back
            return _orig(self, *a, **kw)

        monkeypatch.setattr(torch.Tensor, name, counted)
    syncs = []
    for steps in (8, 32):
        calls["n"] = 0
        r = make_recipe(linear_gan, steps=steps, d_repeats=3, g_every=2)
        run_recipe(r, run_dir=tmp_path / str(steps), log_every=10**6, eval_every=0, sample_every=0,
                   ckpt_every=0)
        syncs.append(calls["n"])
    assert 0 < syncs[0] == syncs[1] <= 3, syncs  # 4× the steps, the same few host syncs

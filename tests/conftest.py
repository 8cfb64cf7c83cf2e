"""Shared test recipes: small, metric-free GANs that exercise the trainer's machinery."""

import os
import signal
from dataclasses import dataclass

import pytest
import torch
from torch import nn

from gan import LossOutput, Phase, Recipe, Stage
from gan.data import BatchStream


@dataclass
class LinearConfig:
    steps: int = 6
    batch_size: int = 8
    d_repeats: int = 1
    g_every: int = 1
    lr: float = 0.05
    nan_at: int = -1  # step at which the D loss becomes NaN (fault injection)
    sigterm_at: int = -1  # step after which the process sends itself SIGTERM
    clip: float = 0.0
    d_burst: str = ""  # "N@S,S,...": N D updates at those steps (a repeats schedule), else d_repeats


class LinearGAN(Recipe):
    """A 2-D affine generator against a linear discriminator, with call counters."""

    name = "linear-gan"
    Config = LinearConfig
    data_kind = "points"
    presets = {"tiny": {"steps": 4}}

    def __init__(self, config, device="cpu", data=None, run=None):
        super().__init__(config, device, data, run)
        g = torch.Generator().manual_seed(0)
        self.real = torch.randn(64, 2, generator=g) + 3.0
        self.stream = BatchStream(self.real, config.batch_size, seed=run.seed if run else 0)
        self.models["G"] = nn.Linear(2, 2).to(self.device)
        self.models["D"] = nn.Sequential(nn.Linear(2, 8), nn.Tanh(), nn.Linear(8, 1)).to(self.device)
        for k in ("G", "D"):
            self.optimizers[k] = torch.optim.Adam(self.models[k].parameters(), lr=config.lr)
        self.calls = {"D": 0, "G": 0}

    def stages(self):
        return [Stage("train", self.config.steps)]

    def phases(self, stage):
        clip = self.config.clip or None
        schedule = None
        if self.config.d_burst:
            n, at = self.config.d_burst.split("@")
            burst_steps = {int(s) for s in at.split(",")}
            schedule = lambda step: int(n) if step in burst_steps else self.config.d_repeats  # noqa: E731
        return [Phase("D", "D", "D", repeats=self.config.d_repeats, grad_clip=clip, repeats_at=schedule),
                Phase("G", "G", "G", every=self.config.g_every, fresh_batch=False)]

    def next_batch(self, stage, phase):
        return next(self.stream)

    def loss(self, phase, batch, step, scratch):
        self.calls[phase.name] += 1
        n = self.nets
        z = torch.randn(batch.shape[0], 2, device=self.device)
        if phase.name == "D":
            with torch.no_grad():
                fake = n.G(z)
            loss = nn.functional.softplus(-n.D(batch)).mean() + nn.functional.softplus(n.D(fake)).mean()
            if step == self.config.nan_at:
                loss = loss * float("nan")
            return LossOutput(loss, {"real": n.D(batch).mean().detach()})
        return LossOutput(nn.functional.softplus(-n.D(n.G(z))).mean())

    def after_step(self, stage, step):
        if step == self.config.sigterm_at:
            os.kill(os.getpid(), signal.SIGTERM)

    @torch.no_grad()
    def sample(self, n, seed=None):
        g = torch.Generator().manual_seed(seed) if seed is not None else None
        return self.eval_model("G")(torch.randn(n, 2, generator=g).to(self.device)).cpu()

    def evaluate(self, full=False):
        return {"mean_dist": float((self.sample(256, seed=0).mean(0) - 3.0).norm()),
                "protocol": {"samples": 256}}

    def extra_state(self):
        return {"stream": self.stream.state_dict(), "calls": dict(self.calls)}

    def load_extra_state(self, state):
        self.stream.load_state_dict(state["stream"])
        self.calls = dict(state["calls"])


@pytest.fixture
def linear_gan():
    return LinearGAN

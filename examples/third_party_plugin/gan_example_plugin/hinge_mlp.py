"""Hinge-loss MLP GAN with a spectrally normalised discriminator, on low-dimensional point clouds.

The objective is the hinge loss of Geometric GAN (Lim & Ye 2017), later the default of SN-GAN
(Miyato et al. 2018) and BigGAN::

    D minimises  mean relu(1 - D(x)) + mean relu(1 + D(G(z)))
    G minimises  -mean D(G(z))

Spectral normalisation of every discriminator layer (Miyato et al. 2018) bounds D's Lipschitz
constant, so D's scores can only differ between real and generated points as much as the points
themselves differ: the critic's gradient always points the generator towards nearby data. It is the
standard companion of the hinge loss; ``--set spectral_norm=false`` turns it off for comparison (on
two-moons both variants learn, see the README's measured figures).

Quality is measured against a fixed reference sample of the target (see :mod:`.metrics`): ``mmd``
(0 when the generated distribution equals the target), and ``precision`` / ``recall`` (the
fraction of generated points on the real manifold, and of real points on the generated one; 1 is
ideal). Precision is the figure that shows the curved shape was learned: a Gaussian fitted to the
mean and covariance of two-moons covers the data (recall ~1) but scores a precision of only ~0.4.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import torch
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

from gan.constraints import Beta, LearningRate, NonNegative, Positive
from gan import GanError, LossOutput, Phase, Recipe, Stage
from gan.data import BatchStream
from gan.sampling import nice_sample
from gan.losses import Hinge

from .metrics import MMD_BANDWIDTHS, mmd2, precision_recall
from .shapes import TwoMoons


def mlp(inp: int, out: int, hidden: int, layers: int, act: type[nn.Module] | Any,
        sn: bool = False) -> nn.Sequential:
    """``layers`` hidden layers of width ``hidden``; ``sn`` wraps every linear layer in SN."""
    wrap = spectral_norm if sn else (lambda m: m)
    mods: list[nn.Module] = []
    d = inp
    for _ in range(layers):
        mods += [wrap(nn.Linear(d, hidden)), act()]
        d = hidden
    mods.append(wrap(nn.Linear(d, out)))
    return nn.Sequential(*mods)


@dataclass
class DataConfig:
    """``--set data.<key>=...`` (ganforge's naming scheme: data settings under ``data``)."""

    size: Positive = 20_000  # training points drawn once from the target


@dataclass
class EvalConfig:
    """``--set eval.<key>=...``: how samples are scored."""

    samples: Positive = 2000  # generated and reference points per evaluation
    knn: Positive = 3  # k of the k-NN manifold in precision/recall (Kynkäänniemi et al. 2019)


@dataclass
class Config:
    steps: NonNegative = 3000  # generator updates
    batch_size: Positive = 256  # samples per batch
    z_dim: int = 8  # noise dimension
    hidden: int = 128  # width of the MLPs
    layers: int = 3  # hidden layers of G and D
    lr: LearningRate = 1e-3  # Adam learning rate of G and D (tuned for 2-D data; no paper trains this setup)
    beta1: Beta = 0.0  # Adam β1 of hinge-loss GANs (SAGAN, Zhang et al. 2019; BigGAN)
    beta2: Beta = 0.9  # Adam β2 (SAGAN)
    d_steps: int = 1  # discriminator updates per generator update (SAGAN, with SN on D)
    spectral_norm: bool = True  # spectral normalisation on every D layer (Miyato et al. 2018)
    plot: bool = True  # write a real-vs-generated scatter PNG with the samples (2-D data)
    data: DataConfig = field(default_factory=DataConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)

    #: version 0.2 took these at the top level; ganforge maps the old names (with a notice)
    renamed: ClassVar[dict[str, str]] = {"num_data": "data.size", "eval_samples": "eval.samples",
                                         "knn": "eval.knn"}


class HingeMLP(Recipe):
    """Hinge-loss MLP GAN with a spectrally normalised discriminator on 2-D point clouds."""

    name = "hinge-mlp"
    Config = Config
    data_kind = "points"
    default_dataset = "two-moons"
    presets = {
        # seconds on CPU: used by contract tests and `gan run ... --preset tiny`
        "tiny": {"steps": 4, "batch_size": 32, "data.size": 256, "hidden": 16, "layers": 1,
                 "eval.samples": 64, "plot": False},
        # a CPU demo in well under a minute: both moons form (precision ~0.8, recall ~0.96)
        "quick": {"steps": 800, "data.size": 4096, "hidden": 64, "layers": 2, "lr": 2e-3,
                  "eval.samples": 1000},
    }

    def __init__(self, config: Config, device: Any = "cpu", data: Any = None, run: Any = None) -> None:
        super().__init__(config, device, data, run)
        c = config
        if data is not None and not callable(getattr(data, "sample", None)):
            raise GanError(f"model {self.name!r} needs a points dataset with a sample(n, generator) "
                           f"method, got {type(data).__name__}")
        self.target = data if data is not None else TwoMoons()
        seed = run.seed if run is not None else 0
        # The data and the reference sample have their own generators: they never consume the
        # global RNG that the trainer seeds and checkpoints for the models.
        g = torch.Generator().manual_seed(seed + 12345)
        self.points = self.target.sample(c.data.size, g).float()
        self.stream = BatchStream(self.points, c.batch_size, seed=seed)
        self.reference = self.target.sample(c.eval.samples, torch.Generator().manual_seed(777)).float()
        self.fixed_z = torch.randn(c.eval.samples, c.z_dim, generator=g)
        dim = self.points.shape[1]
        self.models["G"] = mlp(c.z_dim, dim, c.hidden, c.layers, nn.ReLU).to(self.device)
        self.models["D"] = mlp(dim, 1, c.hidden, c.layers, lambda: nn.LeakyReLU(0.2),
                               sn=c.spectral_norm).to(self.device)
        for k in ("G", "D"):
            self.optimizers[k] = torch.optim.Adam(self.models[k].parameters(), lr=c.lr,
                                                  betas=(c.beta1, c.beta2))
        self.objective = Hinge()

    # --- training -------------------------------------------------------------------------------
    def stages(self) -> list[Stage]:
        return [Stage("train", self.config.steps)]

    def phases(self, stage: Stage) -> list[Phase]:
        return [Phase("D", "D", "D", repeats=self.config.d_steps),
                Phase("G", "G", "G", fresh_batch=False)]

    def next_batch(self, stage: Stage, phase: Phase) -> torch.Tensor:
        return next(self.stream)

    def loss(self, phase: Phase, batch: torch.Tensor, step: int, scratch: dict[str, Any]) -> LossOutput:
        n = self.nets
        z = torch.randn(batch.shape[0], self.config.z_dim, device=self.device)
        if phase.name == "D":
            with torch.no_grad():
                fake = n.G(z)
            real_s, fake_s = n.D(batch).squeeze(1), n.D(fake).squeeze(1)
            # the gap between the mean scores is the margin by which the critic separates them
            return LossOutput(self.objective.d_loss(real_s, fake_s),
                              {"real": real_s.mean(), "fake": fake_s.mean()})
        return LossOutput(self.objective.g_loss(n.D(n.G(z)).squeeze(1)))

    # --- sampling and evaluation ----------------------------------------------------------------
    @torch.no_grad()
    def sample(self, n: int, seed: int | None = None) -> torch.Tensor:
        g = torch.Generator().manual_seed(seed) if seed is not None else None
        z = torch.randn(n, self.config.z_dim, generator=g).to(self.device)
        return self.eval_model("G")(z).float().cpu()

    @torch.no_grad()
    def evaluate(self, full: bool = False) -> dict[str, Any]:
        fake = self.eval_model("G")(self.fixed_z.to(self.device)).float().cpu()
        real = self.reference
        precision, recall = precision_recall(real, fake, k=self.config.eval.knn)
        return {"mmd": mmd2(real, fake), "precision": precision, "recall": recall,
                "protocol": {"samples": len(fake), "reference": f"{len(real)} points, seed 777",
                             "mmd": f"unbiased MMD^2, sum of Gaussian kernels, bandwidths "
                                    f"{list(MMD_BANDWIDTHS)}",
                             "precision_recall": f"Kynkaanniemi et al. 2019, k={self.config.eval.knn}",
                             "target": getattr(self.target, "name", type(self.target).__name__)}}

    def save_samples(self, directory: Path, step: int) -> list[Path]:
        if not self.config.plot or self.points.shape[1] != 2:
            return []
        from .plot import FAKE, REAL, scatter
        fake = self.sample(len(self.reference), seed=0)
        return [scatter([(self.reference, REAL), (fake, FAKE)], directory / f"scatter-{step:08d}.png")]

    @torch.no_grad()
    def score(self, samples: torch.Tensor) -> torch.Tensor:
        """How real the critic finds each point: ranks candidates for ``gan sample --nice``."""
        return self.models["D"](samples.to(self.device)).squeeze(1).cpu()

    @torch.no_grad()
    def export_samples(self, n: int, out_dir: Path, seed: int | None = None,
                       nice: bool | int = False) -> list[str]:
        pts, _ = nice_sample(self, n, seed, nice)  # the core's --nice: best-scored of n × factor
        out_dir.mkdir(parents=True, exist_ok=True)
        rows = [",".join(f"{v:.6f}" for v in p) for p in pts.tolist()]
        (out_dir / "samples.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
        return rows

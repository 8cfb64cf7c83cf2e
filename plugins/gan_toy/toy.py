"""Low-dimensional GANs: the fastest end-to-end path through the framework.

Targets are mixtures with known modes, so quality is measured exactly: which modes the generator
covers, what fraction of its samples are "high quality" (within 3σ of a mode, the criterion of Metz
et al. 2017 and Srivastava et al. 2017 (VEEGAN)), how well the discriminator separates real from
fake, and the Wasserstein distance between generated and real samples.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import torch
from torch import nn

from gan.constraints import Beta, LearningRate, NonNegative, Positive, validate
from gan import LossOutput, Phase, Recipe, Stage
from gan import stabilisers as stab
from gan.checkpoint import atomic_write_text
from gan.data import BatchStream
from gan.health import d_stats
from gan.optim import make_optimizer


# --- distributions -----------------------------------------------------------------------------
@dataclass
class Mixture:
    """An isotropic Gaussian mixture with equal weights."""

    name: str
    modes: torch.Tensor  # (K, D)
    std: float

    @property
    def dim(self) -> int:
        return self.modes.shape[1]

    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        k = torch.randint(len(self.modes), (n,), generator=generator)
        return self.modes[k] + self.std * torch.randn(n, self.dim, generator=generator)


def ring(k: int = 8, radius: float = 2.0, std: float = 0.02) -> Mixture:
    """``k`` Gaussians on a circle (Metz et al. 2017 use 8, radius 2, σ 0.02)."""
    a = torch.arange(k, dtype=torch.float32) * (2 * math.pi / k)
    return Mixture(f"ring-{k}", torch.stack([radius * a.cos(), radius * a.sin()], 1), std)


def grid(side: int = 5, spacing: float = 2.0, std: float = 0.05) -> Mixture:
    """A ``side × side`` grid of Gaussians centred on the origin (VEEGAN's 5×5 grid, σ 0.05)."""
    c = (torch.arange(side, dtype=torch.float32) - (side - 1) / 2) * spacing
    gx, gy = torch.meshgrid(c, c, indexing="ij")
    return Mixture(f"grid-{side * side}", torch.stack([gx.flatten(), gy.flatten()], 1), std)


def gaussian_1d(mean: float = 4.0, std: float = 0.5) -> Mixture:
    """A single 1-D Gaussian N(4, 0.5²) (Goodfellow et al. 2014, Fig. 1)."""
    return Mixture("gaussian-1d", torch.tensor([[mean]]), std)


DISTRIBUTIONS = {"ring-8": ring, "grid-25": grid, "gaussian-1d": gaussian_1d}


def make_distribution(name: str) -> Any:
    """Dataset factory adaptor: ``registry.add("ring-8", make_distribution("ring-8"))``."""
    def factory(root: Path | None, config: Any) -> Mixture:
        from gan import GanError
        if root is not None:
            raise GanError(f"--dataset {name} is generated in code; it takes no --data-root")
        return DISTRIBUTIONS[name]()
    factory.__doc__ = DISTRIBUTIONS[name].__doc__
    return factory


# --- networks ----------------------------------------------------------------------------------
def mlp(inp: int, out: int, hidden: int, layers: int, act: Any) -> nn.Sequential:
    mods: list[nn.Module] = []
    d = inp
    for _ in range(layers):
        mods += [nn.Linear(d, hidden), act()]
        d = hidden
    mods.append(nn.Linear(d, out))
    return nn.Sequential(*mods)


#: activation name (ToyConfig.g_act / d_act) -> module factory
ACTIVATIONS = {"relu": nn.ReLU, "leaky-relu": lambda: nn.LeakyReLU(0.2), "tanh": nn.Tanh}


class Scale(nn.Module):
    """Multiplies its input by a constant (Metz et al. 2017 scale D's input by 1/4 to about [-1, 1])."""

    def __init__(self, factor: float) -> None:
        super().__init__()
        self.factor = factor

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.factor


def orthogonal_init(module: nn.Module, gain: float) -> None:
    """Orthogonal weights scaled by ``gain`` and zero biases for every linear layer."""
    for m in module.modules():
        if isinstance(m, nn.Linear):
            nn.init.orthogonal_(m.weight, gain=gain)
            nn.init.zeros_(m.bias)


@dataclass
class ToyData:
    """The training set (``--set data.<key>=...``)."""

    size: Positive = 50_000  # points drawn once from the target (fixed training set)


@dataclass
class ToyEval:
    """How samples are scored (``--set eval.<key>=...``)."""

    samples: Positive = 2000  # generated points per evaluation


@dataclass
class ToyConfig:
    steps: NonNegative = 3000  # generator updates (~20 s on 2 CPU cores)
    batch_size: Positive = 256  # samples per batch
    z_dim: int = 8  # noise dimension
    hidden: int = 128  # width of the MLPs
    layers: int = 2  # hidden layers of G (and of D unless d_layers is set)
    d_hidden: int = 0  # width of D's MLP; 0 = hidden (Metz et al. 2017: 128)
    d_layers: int = -1  # hidden layers of D; -1 = layers (Metz et al. 2017: 1)
    g_act: str = "relu"  # G's hidden activation: relu | leaky-relu | tanh
    d_act: str = "leaky-relu"  # D's hidden activation (Metz et al. 2017: relu)
    init_gain: float = 0.0  # > 0: orthogonal weights with this gain, zero biases (Metz et al. 2017: 0.8); 0 = torch default
    d_input_scale: float = 1.0  # D multiplies its input by this first (Metz et al. 2017: 0.25)
    lr: LearningRate = 1e-3  # Adam learning rate for G and D
    beta1: Beta = 0.5  # Adam β1 (Radford et al. 2015)
    beta2: Beta = 0.999  # Adam β2
    loss: str = "non-saturating"  # adversarial objective from the loss registry
    gp_weight: float = 0.0  # WGAN-GP penalty weight (10 with loss=wasserstein)
    d_steps: int = 1  # discriminator updates per generator update
    plot: bool = True  # write a real-vs-generated scatter plot PNG with the samples
    data: ToyData = field(default_factory=ToyData)
    eval: ToyEval = field(default_factory=ToyEval)
    stabilise: stab.StabiliserConfig = field(default_factory=stab.StabiliserConfig)  # gan.stabilisers

    #: settings that were top-level keys before (gan.config.canonical_key keeps them working)
    renamed: ClassVar[dict[str, str]] = {"num_data": "data.size", "eval_samples": "eval.samples"}


class ToyGAN(Recipe):
    """MLP generator and discriminator on a low-dimensional mixture (default: 8 Gaussians on a ring)."""

    name = "toy-gan"
    Config = ToyConfig
    data_kind = "points"
    default_dataset = "ring-8"
    presets = {
        "tiny": {"steps": 4, "batch_size": 32, "data.size": 256, "hidden": 16, "layers": 1,
                 "eval.samples": 64, "plot": False},
        "wgan-gp": {"loss": "wasserstein", "gp_weight": 0.1, "d_steps": 5, "beta1": 0.0, "beta2": 0.9,
                    "lr": 1e-4},
        # Metz et al. 2017 (Unrolled GANs), appendix A: G 2×128 ReLU; D scales its input by 1/4, then
        # 1×128 ReLU; orthogonal init gain 0.8; z ~ N(0, I_256); Adam 1e-4 β1 0.5 for both; batch 512;
        # the minimax loss. Add --set stabilise.unrolled_steps=5 (or 10) for the unrolled GAN.
        "metz2017": {"z_dim": 256, "hidden": 128, "layers": 2, "d_hidden": 128, "d_layers": 1, "g_act": "relu",
                     "d_act": "relu", "init_gain": 0.8, "d_input_scale": 0.25, "lr": 1e-4, "beta1": 0.5,
                     "beta2": 0.999, "batch_size": 512, "loss": "minimax"},
    }

    def __init__(self, config: ToyConfig, device: Any = "cpu", data: Mixture | None = None,
                 run: Any = None) -> None:
        super().__init__(config, device, data, run)
        from gan import GanError
        from gan.config import require_counts
        from gan.losses import get_loss
        if data is not None and not isinstance(data, Mixture):
            raise GanError(f"toy-gan needs a Gaussian-mixture dataset ({', '.join(DISTRIBUTIONS)}); "
                           f"got {type(data).__name__}")
        require_counts(config, positive=("z_dim", "hidden", "d_steps"),
                       non_negative=("layers", "gp_weight", "d_hidden"))
        validate(config.data, "data.")  # their declared ranges, for API callers too
        validate(config.eval, "eval.")
        for key in ("g_act", "d_act"):
            if getattr(config, key) not in ACTIVATIONS:
                raise GanError(f"--set {key}={getattr(config, key)!r}: expected one of {', '.join(ACTIVATIONS)}")
        if config.d_layers < -1:
            raise GanError(f"--set d_layers={config.d_layers}: expected 0 or more (-1 = layers)")
        if config.init_gain < 0 or config.d_input_scale <= 0:
            raise GanError(f"--set init_gain={config.init_gain} / d_input_scale={config.d_input_scale}: "
                           f"expected init_gain >= 0 and d_input_scale > 0")
        self.target = data if data is not None else ring()
        seed = run.seed if run is not None else 0
        g = torch.Generator().manual_seed(seed + 12345)
        self.points = self.target.sample(config.data.size, g)
        self.stream = BatchStream(self.points, config.batch_size, seed=seed)
        dim = self.target.dim
        c = config
        d_hidden = c.d_hidden or c.hidden
        d_layers = c.layers if c.d_layers < 0 else c.d_layers
        G = mlp(c.z_dim, dim, c.hidden, c.layers, ACTIVATIONS[c.g_act])
        stab.require_packable(c.stabilise, c.batch_size)
        m = c.stabilise.pack
        d = mlp(dim * m, 1, d_hidden, d_layers, ACTIVATIONS[c.d_act])
        if c.d_input_scale != 1.0:
            d = nn.Sequential(Scale(c.d_input_scale), *d)
        if m > 1:  # PacGAN: every D call scores packs of m samples
            d = nn.Sequential(stab.Pack(m), *d)
        self._d_feature_end = len(d) - 1  # D's last hidden layer ends just before its output layer
        layer = stab.batch_layer(c.stabilise, d_hidden if d_layers else dim * m)
        if layer is not None:  # minibatch discrimination / stddev just before D's output layer
            d = nn.Sequential(*d[:-1], layer, nn.Linear(d[-1].in_features + layer.extra, 1))
        if c.init_gain > 0:
            orthogonal_init(G, c.init_gain)
            orthogonal_init(d, c.init_gain)
        self.models["G"] = G.to(self.device)
        self.models["D"] = d.to(self.device)
        for k in ("G", "D"):
            self.optimizers[k] = make_optimizer(self.models[k], c.lr, (c.beta1, c.beta2))
        stab.scale_lr(self.optimizers["D"], c.stabilise.d_lr_scale)
        self.objective = get_loss(c.loss, registry=self.registries.get("loss"))
        self.fixed_z = torch.randn(c.eval.samples, c.z_dim, generator=g).to(self.device)

    def stages(self) -> list[Stage]:
        # a step: d_steps D batches, then one generator update (what `steps` counts)
        return [Stage("train", self.config.steps, unit="G update")]

    def phases(self, stage: Stage) -> list[Phase]:
        return [Phase("D", "D", "D", repeats=self.config.d_steps, loss=self.d_loss),
                Phase("G", "G", "G", fresh_batch=False, loss=self.g_loss)]

    def next_batch(self, stage: Stage, phase: Phase) -> torch.Tensor:
        return next(self.stream)

    def noise(self, n: int) -> torch.Tensor:
        return torch.randn(n, self.config.z_dim, device=self.device)

    def d_features(self, x: torch.Tensor, d: nn.Module) -> torch.Tensor:
        """D's last hidden layer (feature matching's ``f``), before any minibatch layer."""
        return d[:self._d_feature_end](x)

    def _noised(self, batch: torch.Tensor, step: int) -> tuple[torch.Tensor, float, torch.Tensor]:
        """A phase's latent, instance-noise level and noised real batch (in this RNG order)."""
        z = self.noise(batch.shape[0])
        sigma = stab.instance_noise_std(self.config.stabilise, step, self.config.steps)
        return z, sigma, stab.add_instance_noise(batch, sigma)

    def d_loss(self, batch: torch.Tensor, step: int, scratch: dict) -> LossOutput:
        n, s = self.nets, self.config.stabilise
        z, sigma, real = self._noised(batch, step)
        with torch.no_grad():
            fake = stab.add_instance_noise(n.G(z), sigma)
        real_s, fake_s = n.D(real).squeeze(1), n.D(fake).squeeze(1)
        loss = stab.d_loss(self.objective, s, real_s, fake_s)
        logs = {"real": real_s.mean(), "fake": fake_s.mean(), **d_stats(real_s, fake_s, self.objective)}
        if self.config.gp_weight > 0:
            from gan.losses import gradient_penalty
            gp = gradient_penalty(n.D, batch, fake, weight=self.config.gp_weight)
            loss = loss + gp
            logs["gp"] = gp
        pens = stab.penalties(s, n.D, real, fake)
        logs.update(pens)
        return LossOutput(loss + sum(pens.values()), logs)

    def g_loss(self, batch: torch.Tensor, step: int, scratch: dict) -> LossOutput:
        n, s = self.nets, self.config.stabilise
        z, sigma, real = self._noised(batch, step)
        fake = stab.add_instance_noise(n.G(z), sigma)
        if s.feature_matching:
            with torch.no_grad():
                f_real = self.d_features(real, n.D)
            return LossOutput(stab.feature_matching_loss(f_real, self.d_features(fake, n.D)))
        if s.unrolled_steps:
            D = self.models["D"]

            def d_loss_of(params: dict) -> torch.Tensor:
                return stab.d_loss(self.objective, s, stab.functional(D, params, real).squeeze(1),
                                   stab.functional(D, params, fake).squeeze(1))
            ahead = stab.unrolled_parameters(D, d_loss_of, s.unrolled_steps, self.optimizers["D"],
                                             s.unrolled_second_order)
            return LossOutput(self.objective.g_loss(stab.functional(D, ahead, fake).squeeze(1)))
        return LossOutput(self.objective.g_loss(n.D(fake).squeeze(1)))

    @torch.no_grad()
    def health_diversity(self) -> tuple[str, float]:
        """Modes covered by nearest-mode assignment of 512 fixed-latent samples (a mode counts with
        at least a fifth of its fair share); independent of sample quality, so it measures spread."""
        fake = self.eval_model("G")(self.fixed_z[:512]).float().cpu()
        nearest = torch.cdist(fake, self.target.modes).argmin(1)
        counts = torch.bincount(nearest, minlength=len(self.target.modes))
        return "modes_reached", float((counts >= 0.2 * len(fake) / len(self.target.modes)).sum())

    @torch.no_grad()
    def sample(self, n: int, seed: int | None = None) -> torch.Tensor:
        g = torch.Generator(device="cpu").manual_seed(seed) if seed is not None else None
        z = torch.randn(n, self.config.z_dim, generator=g).to(self.device)
        G = self.eval_model("G")
        return G(z).float().cpu()

    @torch.no_grad()
    def evaluate(self, full: bool = False) -> dict[str, Any]:
        from gan.metrics import wasserstein_exact
        fake = self.eval_model("G")(self.fixed_z).float().cpu()
        n = len(fake)
        real = self.target.sample(n, torch.Generator().manual_seed(777))
        dist = torch.cdist(fake, self.target.modes)
        nearest = dist.argmin(1)
        good = dist.min(1).values <= 3 * self.target.std
        counts = torch.bincount(nearest[good], minlength=len(self.target.modes))
        # A mode counts as covered when it receives at least a fifth of its fair share of the
        # high-quality samples (so a stray point does not count as a mode).
        fair = n / len(self.target.modes)
        covered = int((counts >= 0.2 * fair).sum())
        D = self.models["D"]
        d_real = D(real.to(self.device)).squeeze(1) > 0
        d_fake = D(fake.to(self.device)).squeeze(1) <= 0
        acc = torch.cat([d_real, d_fake]).float().mean().item()
        wd = wasserstein_exact(real[:1000], fake[:1000])
        return {"modes_covered": float(covered), "modes_total": float(len(self.target.modes)),
                "high_quality": good.float().mean().item(), "d_accuracy": acc,
                "wasserstein": float(wd),
                "protocol": {"samples": n, "wasserstein_samples": min(n, 1000),
                             "high_quality": "within 3 std of a mode",
                             "covered": "mode gets >= 20% of a uniform share of high-quality samples",
                             "target": self.target.name}}

    def save_samples(self, directory: Path, step: int) -> list[Path]:
        if not self.config.plot or self.target.dim != 2:
            return []
        from .plot import scatter_png
        fake = self.sample(min(self.config.eval.samples, 2000), seed=0)
        real = self.target.sample(len(fake), torch.Generator().manual_seed(777))
        return [scatter_png(real, fake, directory / f"scatter-{step:08d}.png")]

    @torch.no_grad()
    def score(self, samples: torch.Tensor) -> torch.Tensor:
        """D's raw score of each point (higher = more real)."""
        return self.models["D"](samples.to(self.device)).squeeze(1).float().cpu()

    def export_samples(self, n: int, out_dir: Path, seed: int | None = None,
                       nice: bool | int = False) -> list[str]:
        from gan.sampling import nice_sample
        pts, _ = nice_sample(self, n, seed, nice)
        out_dir.mkdir(parents=True, exist_ok=True)
        path = out_dir / "samples.csv"
        atomic_write_text(path, "\n".join(",".join(f"{v:.6f}" for v in p.tolist()) for p in pts) + "\n")
        return [",".join(f"{v:.4f}" for v in p.tolist()) for p in pts]

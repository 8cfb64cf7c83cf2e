"""CycleGAN: unpaired image-to-image translation with cycle consistency (Zhu et al., ICCV 2017).

Two generators ``G_AB: A → B`` and ``G_BA: B → A`` and two discriminators ``D_B`` (real B vs
``G_AB(a)``) and ``D_A``. With no pairs to supervise them, the generators are tied together by
cycle consistency — translating there and back must return the input::

    L = L_GAN(G_AB, D_B) + L_GAN(G_BA, D_A)
        + λ (||G_BA(G_AB(a)) - a||₁ + ||G_AB(G_BA(b)) - b||₁)          λ = 10
        + 0.5 λ (||G_AB(b) - b||₁ + ||G_BA(a) - a||₁)                    identity loss

with the least-squares adversarial loss (more stable than the log loss). Discriminators are trained
on fakes drawn from a history of 50 past generated images (:class:`~.pool.ImagePool`); their
objective is halved. Adam (2e-4, β = (0.5, 0.999)), learning rate constant for the first half of
training and decayed linearly to zero over the second.

Trainer mapping: phase ``G`` trains both generators (one optimizer over both), phase ``D`` both
discriminators (their losses are independent, so one Adam over both equals two separate ones).
G runs first, as in the reference code, and hands its fakes to D through ``scratch``; the image
pools are recipe state (contents and their RNG are checkpointed for exact resume).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Literal

import torch
import torch.nn.functional as F

from gan import stabilisers as stab
from gan.constraints import Beta, LearningRate, NonNegative, Positive
from gan.errors import GanError
from gan.losses import get_loss
from gan.optim import make_optimizer
from gan.protocols import LossOutput, Phase, Stage

from .common import NOT_FOR_TRANSLATION, TranslationRecipe, mean, to_rgb
from .datasets import UnpairedData, as_float, get_items, iter_batches, make_day2night, num_items
from .settings import CLASSIFIER_RENAMED, ClassifierEvalConfig, DataConfig
from .networks import PatchDiscriminator, ResnetGenerator, init_weights
from .pool import ImagePool


@dataclass
class Config:
    steps: NonNegative = 200_000  # trainer steps (paper: 200 epochs of ~1000 images at batch 1)
    batch_size: Positive = 1  # paper: 1
    lr: LearningRate = 2e-4  # Adam learning rate (paper)
    beta1: Beta = 0.5  # Adam β1 (paper)
    beta2: Beta = 0.999  # Adam β2 (paper)
    decay_steps: int = -1  # final steps of linear LR decay to 0; -1 = the second half (paper)
    lambda_cycle: float = 10.0  # cycle-consistency weight λ (paper)
    lambda_identity: float = 0.5  # identity-loss weight as a fraction of λ (paper: 0.5 λ)
    gan_loss: str = "least-squares"  # paper: LSGAN objective
    pool_size: int = 50  # image history for the discriminators (paper: 50)
    ngf: int = 64  # generator width (paper: c7s1-64)
    ndf: int = 64  # discriminator width (paper: C64)
    n_blocks: int = 9  # residual blocks: 9 for 256×256, 6 for 128×128 (paper)
    n_layers_d: int = 3  # PatchGAN strided layers (3 → 70×70 patches, paper)
    norm: Literal["instance", "batch"] = "instance"  # paper: instance normalisation
    data: DataConfig = field(default_factory=DataConfig)  # paper: 286 → random 256 crops, flips, RGB
    eval: ClassifierEvalConfig = field(default_factory=ClassifierEvalConfig)  # classifier: domain A vs B
    stabilise: stab.StabiliserConfig = field(default_factory=stab.StabiliserConfig)  # gan.stabilisers

    renamed: ClassVar[dict[str, str]] = CLASSIFIER_RENAMED


class CycleGAN(TranslationRecipe):
    """CycleGAN (Zhu et al. 2017): two ResNet generators, two PatchGANs, LSGAN + cycle + identity."""

    name = "cyclegan"
    Config = Config
    data_kind = "unpaired"
    default_dataset = "day2night"
    ema_models = ("G_AB", "G_BA")
    presets = {
        "tiny": {"steps": 4, "batch_size": 2, "data.image_size": 16, "data.load_size": 18, "ngf": 8, "ndf": 8,
                 "n_blocks": 1, "n_layers_d": 2, "pool_size": 3, "data.embedded_size": 32, "eval.samples": 8,
                 "eval.classifier_epochs": 1},
        "toy": {"steps": 3000, "batch_size": 8, "data.image_size": 32, "data.load_size": 36, "ngf": 32,
                "ndf": 32, "n_blocks": 6, "n_layers_d": 2, "data.embedded_size": 2000},
        "paper": {"steps": 200_000, "batch_size": 1, "data.image_size": 256, "data.load_size": 286, "ngf": 64,
                  "ndf": 64, "n_blocks": 9, "n_layers_d": 3, "pool_size": 50, "lambda_cycle": 10.0,
                  "lambda_identity": 0.5, "lr": 2e-4},
    }

    def __init__(self, config: Config, device: Any = "cpu", data: Any = None, run: Any = None) -> None:
        super().__init__(config, device, data, run)
        c = config
        data = data if data is not None else make_day2night(None, c)
        if not isinstance(data, UnpairedData):
            raise GanError(f"cyclegan needs two unpaired image domains, got {type(data).__name__}; "
                           f"use --dataset unaligned (trainA/ trainB/) or day2night")
        self.domains = data
        self.check_patch_size(c.n_layers_d)
        ca, cb = data.channels
        self.adv = get_loss(c.gan_loss, registry=self.registries.get("loss"))
        mk_g = lambda i, o: init_weights(ResnetGenerator(i, o, c.ngf, c.n_blocks, c.norm)).to(self.device)  # noqa: E731
        mk_d = lambda i: init_weights(PatchDiscriminator(i, c.ndf, c.n_layers_d, c.norm)).to(self.device)  # noqa: E731
        self.models["G_AB"], self.models["G_BA"] = mk_g(ca, cb), mk_g(cb, ca)
        self.models["D_A"], self.models["D_B"] = mk_d(ca), mk_d(cb)
        betas = (c.beta1, c.beta2)
        self.optimizers["G"] = make_optimizer([self.models["G_AB"], self.models["G_BA"]], c.lr, betas)
        self.optimizers["D"] = make_optimizer([self.models["D_A"], self.models["D_B"]], c.lr, betas)
        stab.require_applicable(c.stabilise, self.name, NOT_FOR_TRANSLATION)
        stab.scale_lr(self.optimizers["D"], c.stabilise.d_lr_scale)
        decay = c.steps // 2 if c.decay_steps < 0 else c.decay_steps
        self.add_decay("G", decay)
        self.add_decay("D", decay)
        self.stream_a = self.make_stream(data.train_a, offset=0)
        self.stream_b = self.make_stream(data.train_b, offset=7919)  # its own order: unpaired
        self.pool_a = ImagePool(c.pool_size, seed=self.seed + 1)  # fakes of domain A, for D_A
        self.pool_b = ImagePool(c.pool_size, seed=self.seed + 2)  # fakes of domain B, for D_B

    # --- training -----------------------------------------------------------------------------------
    def phases(self, stage: Stage) -> list[Phase]:
        return [Phase("G", ("G_AB", "G_BA"), "G", loss=self.g_loss),
                Phase("D", ("D_A", "D_B"), "D", fresh_batch=False, loss=self.d_loss)]

    def next_batch(self, stage: Stage, phase: Phase) -> tuple[torch.Tensor, torch.Tensor]:
        (a,) = self.augment(next(self.stream_a))
        (b,) = self.augment(next(self.stream_b))
        return a, b

    @property
    def identity_weight(self) -> float:
        same = self.domains.channels[0] == self.domains.channels[1]
        return self.config.lambda_identity * self.config.lambda_cycle if same else 0.0

    def generator_terms(self, a: torch.Tensor, b: torch.Tensor) -> dict[str, torch.Tensor]:
        """Fakes, reconstructions and the cycle / identity L1 terms (unweighted)."""
        n = self.nets
        fake_b, fake_a = n.G_AB(a), n.G_BA(b)
        out = {"fake_b": fake_b, "fake_a": fake_a,
               "cycle_a": F.l1_loss(n.G_BA(fake_b), a), "cycle_b": F.l1_loss(n.G_AB(fake_a), b)}
        if self.identity_weight > 0:
            out["idt_a"] = F.l1_loss(n.G_BA(a), a)
            out["idt_b"] = F.l1_loss(n.G_AB(b), b)
        return out

    def g_loss(self, batch: Any, step: int, scratch: dict[str, Any]) -> LossOutput:
        a, b = batch
        n = self.nets
        t = self.generator_terms(a, b)
        seen_b, seen_a = self.noisy(step, t["fake_b"], t["fake_a"])
        adv_b = self.adv.g_loss(n.D_B(seen_b))
        adv_a = self.adv.g_loss(n.D_A(seen_a))
        cycle = t["cycle_a"] + t["cycle_b"]
        loss = adv_a + adv_b + self.config.lambda_cycle * cycle
        logs = {"adv_a": adv_a.detach(), "adv_b": adv_b.detach(), "cycle": cycle.detach()}
        if "idt_a" in t:
            idt = t["idt_a"] + t["idt_b"]
            loss = loss + self.identity_weight * idt
            logs["identity"] = idt.detach()
        scratch["fake_a"], scratch["fake_b"] = t["fake_a"].detach(), t["fake_b"].detach()
        return LossOutput(loss, logs)

    def d_loss(self, batch: Any, step: int, scratch: dict[str, Any]) -> LossOutput:
        a, b = batch
        n = self.nets
        fake_a, fake_b = scratch.get("fake_a"), scratch.get("fake_b")
        if fake_a is None or fake_b is None:  # D run on its own (no G phase before it this step)
            with torch.no_grad():
                fake_a, fake_b = n.G_BA(b), n.G_AB(a)
        fake_a, fake_b = self.pool_a.query(fake_a), self.pool_b.query(fake_b)
        a, b, fake_a, fake_b = self.noisy(step, a, b, fake_a, fake_b)
        adv_a, pen_a, logs_a = self.d_adversarial(n.D_A, a, fake_a)
        adv_b, pen_b, logs_b = self.d_adversarial(n.D_B, b, fake_b)
        loss_a, loss_b = 0.5 * adv_a, 0.5 * adv_b
        logs = {k: 0.5 * (logs_a[k] + logs_b[k]) for k in logs_a}  # both discriminators' health
        logs.update({"loss_a": loss_a.detach(), "loss_b": loss_b.detach(),
                     "real_a": logs_a.pop("real"), "real_b": logs_b.pop("real")})
        return LossOutput(loss_a + loss_b + pen_a + pen_b, logs)

    def health_diversity(self) -> tuple[str, float] | None:
        return self.input_output_gap(self.eval_model("G_AB"), self._held_out("A", 4))

    # --- inference ------------------------------------------------------------------------------------
    def _held_out(self, domain: str, n: int) -> torch.Tensor:
        ds = self.domains.test_a if domain == "A" else self.domains.test_b
        total = num_items(ds)
        return as_float(get_items(ds, [i % total for i in range(n)])).to(self.device)

    def _generators(self) -> tuple[torch.nn.Module, torch.nn.Module]:
        return self.eval_model("G_AB"), self.eval_model("G_BA")

    def sample(self, n: int, seed: int | None = None) -> torch.Tensor:
        """``G_AB`` applied to the first ``n`` held-out images of domain A (deterministic)."""
        g_ab, g_ba = self._generators()
        with self.inference([g_ab, g_ba], seed=seed):
            x = self._held_out("A", n)
            return torch.cat([g_ab(x[i:i + 16]) for i in range(0, n, 16)])

    def translate(self, x: torch.Tensor, direction: str = "AtoB", **options: Any) -> torch.Tensor:
        g_ab, g_ba = self._generators()
        g = g_ab if direction == "AtoB" else g_ba
        with self.inference([g], seed=0):
            return g(x.to(self.device))

    def evaluate(self, full: bool = False) -> dict[str, Any]:
        """Cycle and identity L1 on held-out images; ``full`` adds FID/KID per target domain on
        features of a domain classifier trained on the real training images, and the fraction of
        translations that classifier assigns to the target domain."""
        g_ab, g_ba = self._generators()
        limit = None if full else self.config.eval.samples
        sums: dict[str, list[torch.Tensor]] = {k: [] for k in ("cycle_a", "cycle_b", "idt_a", "idt_b")}
        fakes: dict[str, list[torch.Tensor]] = {"B": [], "A": []}
        with self.inference([g_ab, g_ba], seed=1234):
            for src, g, back, key in (("A", g_ab, g_ba, "a"), ("B", g_ba, g_ab, "b")):
                ds = self.domains.test_a if src == "A" else self.domains.test_b
                for x in iter_batches(ds, 32, limit):
                    x = as_float(x).to(self.device)
                    y = g(x)
                    sums[f"cycle_{key}"].append((back(y) - x).abs().flatten(1).mean(1))
                    if self.identity_weight > 0:
                        sums[f"idt_{key}"].append((back(x) - x).abs().flatten(1).mean(1))
                    fakes["B" if src == "A" else "A"].append(y.float().cpu())
        out: dict[str, Any] = {k: mean(v) for k, v in sums.items() if v}
        protocol: dict[str, Any] = {"split": "held-out" if self.domains.held_out else "train (no test folders)",
                                    "images_per_domain": {d: sum(t.shape[0] for t in v) for d, v in fakes.items()},
                                    "data": self.domains.source}
        if full:
            from .evaluation import domain_transfer_metrics
            reals = {"A": self.domains.test_a, "B": self.domains.test_b}
            figures, proto = domain_transfer_metrics(
                self, {"A": self.domains.train_a, "B": self.domains.train_b}, reals,
                {d: torch.cat(v) for d, v in fakes.items()})
            out.update(figures)
            protocol.update(proto)
        out["protocol"] = protocol
        return out

    def save_samples(self, directory: Path, step: int) -> list[Path]:
        """Grid rows ``A | G_AB(A) | G_BA(G_AB(A)) | B | G_BA(B) | G_AB(G_BA(B))``."""
        from gan.images import save_grid
        g_ab, g_ba = self._generators()
        k = min(6, num_items(self.domains.test_a), num_items(self.domains.test_b))
        with self.inference([g_ab, g_ba], seed=0):
            a, b = self._held_out("A", k), self._held_out("B", k)
            ab, ba = g_ab(a), g_ba(b)
            cols = [a, ab, g_ba(ab), b, ba, g_ab(ba)]
        rows = torch.stack([to_rgb(t) for t in cols], 1).flatten(0, 1)
        from gan.images import append_progress_row
        return [save_grid(rows, self.sample_path(directory, step), nrow=6,
                          column_labels=("A", "A->B", "A->B->A", "B", "B->A", "B->A->B")),
                append_progress_row(Path(directory) / "progress.png", torch.cat([to_rgb(ab), to_rgb(ba)]))]

    def score(self, samples: torch.Tensor) -> torch.Tensor:
        """D_B's mean patch score of each A→B translation (higher = more real)."""
        d_b = self.models["D_B"]
        with self.inference([d_b], seed=None):
            return torch.cat([d_b(samples[i:i + 16].to(self.device)).flatten(1).mean(1)
                              for i in range(0, samples.shape[0], 16)]).float().cpu()

    def export_samples(self, n: int, out_dir: Path, seed: int | None = None, nice: bool | int = False) -> list[str]:
        """Write ``n`` A→B translations (``nice``: the best-scored, :mod:`gan.sampling`) and an
        A→B→A grid."""
        from gan.images import save_grid, save_image
        from gan.sampling import nice_factor, nice_sample
        out_dir = Path(out_dir)
        g_ab, g_ba = self._generators()
        fake, keep = nice_sample(self, n, seed, nice)
        with self.inference([g_ab, g_ba], seed=seed):
            a = self._held_out("A", n * nice_factor(nice))[keep.to(self.device)]
            rec = torch.cat([g_ba(fake[i:i + 16]) for i in range(0, n, 16)])
        paths = [str(save_image(img, out_dir / f"sample_{i:04d}.png")) for i, img in enumerate(fake)]
        grid = torch.stack([to_rgb(a), to_rgb(fake), to_rgb(rec)], 1).flatten(0, 1)
        paths.append(str(save_grid(grid, out_dir / "grid.png", nrow=3)))
        return paths

    def extra_state(self) -> dict[str, Any]:
        """The image pools (the base class saves both data streams)."""
        return {**super().extra_state(), "pool_a": self.pool_a.state_dict(), "pool_b": self.pool_b.state_dict()}

    def load_extra_state(self, state: dict[str, Any]) -> None:
        super().load_extra_state(state)
        if "pool_a" in state:
            self.pool_a.load_state_dict(state["pool_a"], self.device)
            self.pool_b.load_state_dict(state["pool_b"], self.device)

    # --- gan translate ----------------------------------------------------------------------------------
    def input_channels(self, direction: str = "AtoB", **options: Any) -> int:
        return self.domains.channels[0 if direction == "AtoB" else 1]

    def resolve_translate_options(self, direction: str | None, target_attrs: Any = ()) -> dict[str, Any]:
        if target_attrs:
            raise GanError("--target-attrs applies to stargan only; cyclegan takes --direction AtoB|BtoA")
        direction = direction or "AtoB"
        if direction not in ("AtoB", "BtoA"):
            raise GanError(f"--direction {direction!r}: expected AtoB or BtoA")
        return {"direction": direction}

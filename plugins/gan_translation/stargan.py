"""StarGAN: one generator for translation between many domains (Choi et al., CVPR 2018).

Instead of one generator per pair of domains, a single ``G(x, c)`` takes the target domain label
``c`` — broadcast to label maps and concatenated to the image — and a single discriminator
``D(x) → (D_src, D_cls)`` judges realism and predicts the domain labels::

    L_D = -L_adv + λ_cls · L_cls(D_cls(x), c_org)                   (classify real images right)
    L_G =  L_adv + λ_cls · L_cls(D_cls(G(x, c)), c) + λ_rec · ||x - G(G(x, c), c_org)||₁

with the WGAN-GP adversarial loss, λ_cls = 1, λ_rec = 10, λ_gp = 10. The reconstruction term makes
G change only what the label asks (the rest must survive the round trip). Labels are CelebA-style
independent binary attributes (binary cross-entropy) or one domain out of several (RaFD style,
softmax cross-entropy); see :mod:`.labels`.

Trainer mapping: ``[D, G(every=n_critic)]`` — one critic update per trainer step and a generator
update every ``n_critic`` = 5 steps, i.e. the paper's five critic updates per generator update,
with ``steps`` counted in critic iterations like the reference code (200k iterations, learning
rates decayed linearly over the last 100k).
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
from gan.health import d_stats
from gan.losses import get_loss, gradient_penalty
from gan.optim import make_optimizer
from gan.protocols import LossOutput, Phase, Stage

from .common import NOT_FOR_TRANSLATION, TranslationRecipe, mean, to_rgb
from .datasets import AttributeData, as_float, get_items, iter_batches, make_shape_attributes, num_items
from .labels import LabelSpace
from .settings import CLASSIFIER_RENAMED, ClassifierEvalConfig, DataConfig
from .networks import StarDiscriminator, StarGenerator, auto_repeat


@dataclass
class StarGANData(DataConfig):
    image_size: int = 128  # image side (paper: 128)
    load_size: int = 0  # resize side before a random crop; 0 = image_size (paper: no crop jitter)
    center_crop: int = 0  # central square taken before resizing (paper code: 178 CelebA, 256 RaFD)
    channels: int = 0  # 1 grayscale, 3 RGB, 0 = the files' majority (what StarGAN has always used)
    attrs: tuple[str, ...] = ()  # attributes/domains used; empty = CelebA's five (paper) or all


@dataclass
class Config:
    steps: NonNegative = 200_000  # critic iterations (paper: 200k on CelebA)
    batch_size: Positive = 16  # paper: 16
    g_lr: LearningRate = 1e-4  # generator Adam learning rate (paper)
    d_lr: LearningRate = 1e-4  # discriminator Adam learning rate (paper)
    beta1: Beta = 0.5  # Adam β1 (paper)
    beta2: Beta = 0.999  # Adam β2 (paper)
    n_critic: int = 5  # critic updates per generator update (paper)
    lambda_cls: float = 1.0  # domain classification weight (paper)
    lambda_rec: float = 10.0  # reconstruction (cycle) weight (paper)
    lambda_gp: float = 10.0  # gradient penalty weight (paper)
    decay_steps: int = 100_000  # final iterations of linear LR decay to 0 (paper: last 100k)
    g_conv_dim: int = 64  # generator width (paper)
    d_conv_dim: int = 64  # discriminator width (paper)
    g_repeat_num: int = 6  # generator residual blocks (paper)
    d_repeat_num: int = 0  # critic strided layers; 0 = down to a 2×2 map (paper: 6 at 128 px)
    data: StarGANData = field(default_factory=StarGANData)
    eval: ClassifierEvalConfig = field(default_factory=ClassifierEvalConfig)  # one classifier per attribute group
    stabilise: stab.StabiliserConfig = field(default_factory=stab.StabiliserConfig)  # gan.stabilisers

    renamed: ClassVar[dict[str, str]] = {**CLASSIFIER_RENAMED, "center_crop": "data.center_crop",
                                         "attrs": "data.attrs"}


class StarGAN(TranslationRecipe):
    """StarGAN (Choi et al. 2018): one label-conditioned generator, WGAN-GP critic with a domain head."""

    name = "stargan"
    Config = Config
    data_kind = "attributes"
    default_dataset = "shape-attributes"
    presets = {
        "tiny": {"steps": 4, "batch_size": 4, "data.image_size": 16, "g_conv_dim": 8, "d_conv_dim": 8,
                 "g_repeat_num": 1, "n_critic": 2, "data.embedded_size": 32, "eval.samples": 8,
                 "eval.classifier_epochs": 1, "decay_steps": 2},
        "toy": {"steps": 6000, "batch_size": 16, "data.image_size": 32, "g_conv_dim": 32, "d_conv_dim": 32,
                "g_repeat_num": 3, "data.embedded_size": 2000, "decay_steps": 3000},
        "paper": {"steps": 200_000, "batch_size": 16, "data.image_size": 128, "data.center_crop": 178,
                  "g_conv_dim": 64, "d_conv_dim": 64, "g_repeat_num": 6, "n_critic": 5,
                  "decay_steps": 100_000, "g_lr": 1e-4, "d_lr": 1e-4},
    }

    def __init__(self, config: Config, device: Any = "cpu", data: Any = None, run: Any = None) -> None:
        super().__init__(config, device, data, run)
        c = config
        if c.n_critic < 1:
            raise GanError(f"--set n_critic={c.n_critic}: expected at least 1")
        data = data if data is not None else make_shape_attributes(None, c)
        if not isinstance(data, AttributeData):
            raise GanError(f"stargan needs labelled images (attributes or one folder per domain), got "
                           f"{type(data).__name__}; use --dataset celeba, domain-folders or shape-attributes")
        self.attributes = data
        c.data.attrs = tuple(data.attr_names)  # the resolved list goes into config.json (gan translate)
        self.labels = LabelSpace(data.attr_names, data.groups, data.mode)
        d_repeat = c.d_repeat_num or auto_repeat(c.data.image_size)
        if c.data.image_size % 2 ** d_repeat:
            raise GanError(f"--set data.image_size={c.data.image_size}: must be divisible by 2**d_repeat_num "
                           f"({2 ** d_repeat})")
        ch, dim = data.channels, self.labels.dim
        self.adv = get_loss("wasserstein", registry=self.registries.get("loss"))
        self.models["G"] = StarGenerator(ch, dim, c.g_conv_dim, c.g_repeat_num).to(self.device)
        self.models["D"] = StarDiscriminator(ch, c.data.image_size, dim, c.d_conv_dim, d_repeat).to(self.device)
        self.optimizers["G"] = make_optimizer([self.models["G"]], c.g_lr, (c.beta1, c.beta2))
        self.optimizers["D"] = make_optimizer([self.models["D"]], c.d_lr, (c.beta1, c.beta2))
        stab.require_applicable(c.stabilise, self.name, {**NOT_FOR_TRANSLATION, **{
            k: "StarGAN's critic is a Wasserstein one, with no labels" for k in ("real_label", "soft_labels",
                                                                                 "label_flip")}})
        stab.scale_lr(self.optimizers["D"], c.stabilise.d_lr_scale)
        self.add_decay("G", c.decay_steps)
        self.add_decay("D", c.decay_steps)
        self.stream = self.make_stream(data.train)

    # --- training -----------------------------------------------------------------------------------
    def phases(self, stage: Stage) -> list[Phase]:
        return [Phase("D", "D", "D", loss=self.d_loss),
                Phase("G", "G", "G", every=self.config.n_critic, fresh_batch=False, loss=self.g_loss)]

    def next_batch(self, stage: Stage, phase: Phase) -> tuple[torch.Tensor, torch.Tensor]:
        x, c = next(self.stream)
        (x,) = self.augment(x)
        return x, c.float().to(self.device)

    @staticmethod
    def _target(scratch: dict[str, Any], labels: Any, c_org: torch.Tensor) -> torch.Tensor:
        """One target per step, shared by D and G (reference code)."""
        if "c_trg" not in scratch:
            scratch["c_trg"] = labels.random_targets(c_org)
        return scratch["c_trg"]

    def d_loss(self, batch: Any, step: int, scratch: dict[str, Any]) -> LossOutput:
        x, c_org = batch
        n, cfg = self.nets, self.config
        c_trg = self._target(scratch, self.labels, c_org)
        with torch.no_grad():
            fake = n.G(x, c_trg)
        seen_real, seen_fake = self.noisy(step, x, fake)
        src_real, cls_real = n.D(seen_real)
        src_fake, _ = n.D(seen_fake)
        cls = self.labels.classification_loss(cls_real, c_org)
        gp = gradient_penalty(lambda t: n.D(t)[0], x, fake, weight=cfg.lambda_gp)
        adv = self.adv.d_loss(src_real, src_fake)
        logs = {"wasserstein": -adv.detach(), "cls": cls.detach(), "gp": gp.detach(),
                **d_stats(src_real, src_fake, self.adv)}
        pens = stab.penalties(cfg.stabilise, lambda v: n.D(v)[0], seen_real, seen_fake)
        logs.update(pens)
        return LossOutput(adv + cfg.lambda_cls * cls + gp + sum(pens.values()), logs)

    def g_loss(self, batch: Any, step: int, scratch: dict[str, Any]) -> LossOutput:
        x, c_org = batch
        n, cfg = self.nets, self.config
        c_trg = self._target(scratch, self.labels, c_org)
        fake = n.G(x, c_trg)
        src_fake, cls_fake = n.D(*self.noisy(step, fake))
        adv = self.adv.g_loss(src_fake)
        cls = self.labels.classification_loss(cls_fake, c_trg)
        rec = F.l1_loss(n.G(fake, c_org), x)
        return LossOutput(adv + cfg.lambda_cls * cls + cfg.lambda_rec * rec,
                          {"adv": adv.detach(), "cls": cls.detach(), "rec": rec.detach()})

    # --- inference ------------------------------------------------------------------------------------
    def _held_out(self, n: int) -> tuple[torch.Tensor, torch.Tensor]:
        total = num_items(self.attributes.test)
        x, c = get_items(self.attributes.test, [i % total for i in range(n)])
        return as_float(x).to(self.device), c.float().to(self.device)

    def generate(self, x: torch.Tensor, c: torch.Tensor, batch: int = 32) -> torch.Tensor:
        """``G(x, c)`` in batches with the sampling (EMA) generator; call inside :meth:`inference`."""
        g = self.eval_model("G")
        return torch.cat([g(x[i:i + batch], c[i:i + batch]) for i in range(0, x.shape[0], batch)])

    def sample(self, n: int, seed: int | None = None) -> torch.Tensor:
        """The first ``n`` held-out images, image ``i`` translated to target domain ``i mod K``."""
        x, c = self._held_out(n)
        domains = self.labels.domains
        c_trg = torch.cat([self.labels.apply(c[i:i + 1], domains[i % len(domains)]) for i in range(n)])
        with self.inference([self.eval_model("G")], seed=seed):
            return self.generate(x, c_trg)

    def health_diversity(self) -> tuple[str, float] | None:
        x, c = self._held_out(4)
        domains = self.labels.domains
        c_trg = torch.cat([self.labels.apply(c[i:i + 1], domains[(i + 1) % len(domains)]) for i in range(4)])
        return self.input_output_gap(self.eval_model("G"), x, c_trg)

    def evaluate(self, full: bool = False) -> dict[str, Any]:
        """Cheap: reconstruction L1 and the discriminator's own domain accuracy on real images and
        on translations to every target domain. Full: adds, per target domain, FID/KID on
        domain-classifier features and attribute-transfer accuracy judged by classifiers trained on
        the real images (their own accuracy is reported too)."""
        g, d = self.eval_model("G"), self.models["D"]
        limit = None if full else self.config.eval.samples
        rec, real_acc, fake_acc = [], [], []
        with self.inference([g, d], seed=1234):
            for x, c in iter_batches(self.attributes.test, 32, limit):
                x, c = as_float(x).to(self.device), c.float().to(self.device)
                real_acc.append(self.labels.accuracy(d(x)[1], c))
                for dom in self.labels.domains:
                    c_trg = self.labels.apply(c, dom)
                    fake = g(x, c_trg)
                    fake_acc.append(self.labels.accuracy(d(fake)[1], c_trg))
                    rec.append((g(fake, c) - x).abs().flatten(1).mean(1))
        out: dict[str, Any] = {"rec_l1": mean(rec), "d_cls_acc_real": mean(real_acc),
                               "d_cls_acc_fake": mean(fake_acc)}
        protocol: dict[str, Any] = {"split": "held-out", "data": self.attributes.source,
                                    "images": sum(t.shape[0] for t in real_acc),
                                    "target_domains": [dom.name for dom in self.labels.domains]}
        if full:
            from .evaluation import attribute_transfer_metrics
            figures, proto = attribute_transfer_metrics(self)
            out.update(figures)
            protocol.update(proto)
        out["protocol"] = protocol
        return out

    def _grid(self, k: int, seed: int | None) -> torch.Tensor:
        x, c = self._held_out(k)
        rows = [x]
        with self.inference([self.eval_model("G")], seed=seed):
            for dom in self.labels.domains:
                rows.append(self.generate(x, self.labels.apply(c, dom)))
        return torch.cat([to_rgb(r) for r in rows])

    def save_samples(self, directory: Path, step: int) -> list[Path]:
        """Grid: the first row holds held-out inputs, then one row per target domain."""
        from gan.images import save_grid
        k = min(8, num_items(self.attributes.test))
        from gan.images import append_progress_row
        rows = ["input"] + [f"to {d.name}" for d in self.labels.domains]
        grid = self._grid(k, 0)
        return [save_grid(grid, self.sample_path(directory, step), nrow=k, row_labels=rows),
                append_progress_row(Path(directory) / "progress.png", grid[k::k])]  # input 0, every domain

    def score(self, samples: torch.Tensor) -> torch.Tensor:
        """D's mean real/fake patch score of each translation (higher = more real)."""
        d = self.models["D"]
        with self.inference([d], seed=None):
            return torch.cat([d(samples[i:i + 32].to(self.device))[0].flatten(1).mean(1)
                              for i in range(0, samples.shape[0], 32)]).float().cpu()

    def export_samples(self, n: int, out_dir: Path, seed: int | None = None, nice: bool | int = False) -> list[str]:
        """Write ``n`` translations (image ``i`` to domain ``i mod K``; ``nice``: the best-scored,
        :mod:`gan.sampling`) and a grid with one row per target domain."""
        from gan.images import save_grid, save_image
        from gan.sampling import nice_sample
        out_dir = Path(out_dir)
        fake, _ = nice_sample(self, n, seed, nice)
        paths = [str(save_image(img, out_dir / f"sample_{i:04d}.png")) for i, img in enumerate(fake)]
        k = min(8, num_items(self.attributes.test))
        paths.append(str(save_grid(self._grid(k, seed), out_dir / "grid.png", nrow=k)))
        return paths


    # --- gan translate ----------------------------------------------------------------------------------
    def input_channels(self, **options: Any) -> int:
        return self.attributes.channels

    def resolve_translate_options(self, direction: str | None, target_attrs: Any = ()) -> dict[str, Any]:
        if direction is not None:
            raise GanError("--direction applies to pix2pix/cyclegan; stargan takes --target-attrs")
        return {"targets": self.labels.parse_targets(list(target_attrs))}

    def estimate_labels(self, x: torch.Tensor) -> torch.Tensor:
        """The discriminator's domain head on ``x`` (resized to the training size): the input's
        attributes, used for the ones a ``gan translate`` call leaves unspecified."""
        s = self.config.data.image_size
        small = F.interpolate(x, size=(s, s), mode="bilinear", align_corners=False,
                              antialias=True) if tuple(x.shape[-2:]) != (s, s) else x
        return self.labels.predict(self.models["D"](small)[1])

    def translate(self, x: torch.Tensor, targets: Any = (), seed: int = 0, **options: Any) -> torch.Tensor:
        g, d = self.eval_model("G"), self.models["D"]
        with self.inference([g, d], seed=seed):
            x = x.to(self.device)
            c = self.labels.target_labels(targets, self.estimate_labels(x))
            return g(x, c)

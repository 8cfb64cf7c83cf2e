"""The shared base of every image GAN: data, latent sampling, the adversarial loss skeleton, sample
grids, ``gan sample --nice`` and evaluation.

A family is written by overriding a few hooks of :class:`ImageGANRecipe`:

* ``build_models`` (or just ``add_heads`` to attach auxiliary discriminator heads),
* ``latent`` / ``generator_input`` for what the generator is fed (noise, labels, latent codes),
* ``d_terms`` / ``g_terms`` for extra loss terms (gradient penalty, auxiliary classifier, mutual
  information), or ``d_loss`` / ``g_loss`` wholesale when the objective is different (EBGAN),
* ``sample_grids`` for extra artefacts (class grids, latent traversals),
* ``score`` for how ``gan sample --nice`` ranks samples (default: the discriminator's raw score).

Images travel as uint8 from the dataset to the device and become ``[-1, 1]`` floats in
:meth:`ImageGANRecipe.prepare_batch`. A batch is ``(images, labels)``; unlabelled data gets zero
labels that no model reads.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Literal

import torch
import torch.nn.functional as F
from torch import nn

from gan.constraints import LearningRate, NonNegative, Positive, Probability
from gan import GanError, LossOutput, Phase, Recipe, Stage
from gan import stabilisers as stab
from gan.config import require_counts
from gan.data import BatchStream
from gan.health import d_stats
from gan.images import save_grid, save_image
from gan.modes import eval_mode
from gan.optim import make_optimizer

from .datasets import DataConfig, ImageData, make_digits
from .networks import (Discriminator, build_discriminator, build_generator, init_weights, reset_default_init,
                       spectral_normalise)

FIXED_NOISE_SEED = 1234  # the progress grids show the same latent points at every step


@dataclass
class EvalConfig:
    """How samples are scored (``--set eval.<key>=...``)."""

    samples: int = 1000  # generated and real images for the quick FID during training
    full_samples: int = 10000  # generated and real images for `gan eval` (FID, KID, IS, 1-NN)
    seed: int = 0  # seed of the evaluation samples (the same latent points at every evaluation)
    inception: str | None = None  # local Inception-v3 weights file: use it instead of the classifier
    classifier_images: int = 10000  # real training images the evaluation classifier is trained on
    classifier_epochs: int = 3  # its training epochs (cached afterwards, keyed by data + settings)
    min_accuracy: float = 0.9  # below this held-out accuracy its features are not trusted: figures withheld
    kid_subsets: int = 100  # KID: random subsets of up to 1,000 images (Bińkowski et al.: 100)
    cache: bool = True  # cache the trained classifier on disk
    cache_dir: str | None = None  # where; None = $GANFORGE_CACHE or ~/.cache/ganforge
    nice_factor: int = 8  # retired, not read (`gan sample --nice N` sets it for every model); kept so older runs reopen
    batch_size: Positive = 500  # generation batch size during evaluation and export


#: normalisation in D (gan_image.networks.norm_layer; "spectral" re-parametrises the weights instead)
DNorm = Literal["batch", "layer", "spectral", "none"]


@dataclass
class ImageGANConfig:
    """Settings every image GAN shares; each family overrides the defaults with its paper's values."""

    steps: NonNegative = 10000  # generator updates
    batch_size: Positive = 64  # images per discriminator step
    z_dim: int = 100  # noise dimension
    arch: Literal["mlp", "dcgan", "small-mnist", "auto"] = "dcgan"  # network family (gan_image.networks); auto: by size
    g_arch: Literal["same", "upsample-conv"] = "same"  # G's family: as arch, or PyTorch-GAN's resize-conv G
    g_width: int = 64  # conv nets: channels of G's last hidden layer (doubling towards the input)
    d_width: int = 64  # conv nets: channels of D's first layer (doubling towards the output)
    g_hidden: tuple[int, ...] = (1024, 1024)  # mlp: generator hidden layers
    d_hidden: tuple[int, ...] = (256, 256)  # mlp: discriminator hidden layers
    g_norm: bool = False  # mlp: batch norm in G's hidden layers (the conv nets always have it)
    d_dropout: Probability = 0.0  # mlp: dropout after each of D's hidden layers (Goodfellow et al. 2014)
    # Normalisation in D's hidden layers (DCGAN guideline: batch). On separate real and fake batches
    # it hides a whole batch's per-channel mean and scale from D. Which wins depends on the nets: on
    # the paper's all-convolutional nets batch norm won at 3 MNIST epochs (FID 136 with it, 211
    # without); on the compact FC→conv nets that DCGAN now uses at ≤ 32 px, no norm won (47.2 with
    # DCGANConfig's other settings, before its hinge, R1 and EMA). "batch" with d_joint=true scores real and fake in one batch.
    d_norm: DNorm = "batch"
    d_joint: bool = False  # D scores real and fake images in one batch (shared batch-norm statistics)
    init: Literal["dcgan", "default"] = "dcgan"  # weights N(0, 0.02) (DCGAN paper) or PyTorch's (all families)
    noise: Literal["normal", "uniform"] = "normal"  # z ~ N(0, I) or U(-1, 1) (the DCGAN paper's)
    loss: str = "non-saturating"  # adversarial objective from the loss registry (gan list losses)
    optimizer: Literal["adam", "rmsprop"] = "adam"
    lr: LearningRate = 2e-4  # discriminator learning rate (and G's unless g_lr is set)
    g_lr: LearningRate | None = None  # generator learning rate; None = lr
    betas: tuple[float, float] = (0.5, 0.999)  # Adam betas
    n_critic: int = 1  # discriminator steps per generator step
    data: DataConfig = field(default_factory=DataConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)
    stabilise: stab.StabiliserConfig = field(default_factory=stab.StabiliserConfig)  # gan.stabilisers


#: stabilisers that live in the shared d_loss/g_loss: a family replacing both cannot honour them
#: (only the two-timescale ``d_lr_scale`` applies to every family)
UNSUPPORTED_BY_CUSTOM_LOSSES = tuple(f for f in stab.StabiliserConfig.__dataclass_fields__ if f != "d_lr_scale")

#: the ``tiny`` preset shared by the families: seconds on CPU, used by the contract tests
TINY = {"steps": 4, "batch_size": 8, "z_dim": 8, "g_width": 8, "d_width": 8, "g_hidden": [32],
        "d_hidden": [32], "data.embedded_size": 64, "data.image_size": 16, "eval.samples": 40,
        "eval.full_samples": 40, "eval.classifier_images": 64, "eval.classifier_epochs": 1,
        "eval.cache": False, "eval.batch_size": 32}


@dataclass
class Pass:
    """One discriminator or generator loss computation, handed to the ``d_terms``/``g_terms`` hooks."""

    real: torch.Tensor
    labels: torch.Tensor
    fake: torch.Tensor
    latent: dict[str, torch.Tensor]
    out_real: dict[str, torch.Tensor] | None
    out_fake: dict[str, torch.Tensor]
    logs: dict[str, Any]


def slice_latent(latent: dict[str, torch.Tensor], start: int, stop: int) -> dict[str, torch.Tensor]:
    return {k: v[start:stop] for k, v in latent.items()}


class ImageGANRecipe(Recipe):
    """Base recipe: ``[D × n_critic, G]`` on an :class:`ImageData` set (embedded digits by default).

    Class attributes a family sets:
        label_conditioned_g: G receives the one-hot class (cGAN, AC-GAN); the data must be labelled.
        label_conditioned_d: D receives the one-hot class as extra input planes (cGAN).
    """

    Config = ImageGANConfig
    data_kind = "image"
    default_dataset = "digits"
    presets: ClassVar[dict[str, dict[str, Any]]] = {"tiny": TINY}
    label_conditioned_g: ClassVar[bool] = False
    label_conditioned_d: ClassVar[bool] = False
    #: stabiliser settings a family cannot honour → why (switching one on is then an error)
    unsupported_stabilisers: ClassVar[dict[str, str]] = {}

    def __init__(self, config: Any, device: torch.device | str = "cpu", data: Any = None, run: Any = None) -> None:
        super().__init__(config, device, data, run)
        self.dataset = data if data is not None else make_digits(None, config)
        if not isinstance(self.dataset, ImageData):
            raise GanError(f"model {self.name!r} needs image data, got {type(self.dataset).__name__}")
        self.image_shape: tuple[int, int, int] = self.dataset.shape
        self.num_classes = self.dataset.num_classes
        if (self.label_conditioned_g or self.label_conditioned_d) and self.num_classes < 2:
            raise GanError(f"model {self.name!r} needs labelled data with at least 2 classes; dataset "
                           f"{self.dataset.name!r} ({self.dataset.source}) has none (image folders get "
                           f"labels from one subfolder per class)")
        if config.n_critic < 1 or config.batch_size < 1 or config.steps < 0:
            raise GanError(f"steps, batch_size and n_critic must be positive (got {config.steps}, "
                           f"{config.batch_size}, {config.n_critic})")
        require_counts(config, positive=("z_dim", "g_width", "d_width"))
        for key in ("g_hidden", "d_hidden"):
            if any(v < 1 for v in getattr(config, key)):
                raise GanError(f"--set {key}={','.join(map(str, getattr(config, key)))}: expected "
                               f"positive layer sizes")
        stab.require_applicable(config.stabilise, self.name, self.unsupported_stabilisers)
        self.adversarial = self.build_loss()
        self.build_models()
        # after build_models, so that families building their own nets (EBGAN, LAPGAN) honour it too;
        # the conv nets are built with N(0, 0.02), the MLP nets with PyTorch's init
        for net in self.models.values():
            if config.init == "default":
                reset_default_init(net)
            elif config.init == "dcgan" and self.arch == "mlp":
                init_weights(net)
        for m in self.models.values():
            m.to(self.device)
        self.build_optimizers()
        stab.scale_lr(self.optimizers["D"], config.stabilise.d_lr_scale)
        labels = self.dataset.labels if self.dataset.labels is not None else \
            torch.zeros(len(self.dataset), dtype=torch.long)
        self.stream = BatchStream((self.dataset.images, labels), config.batch_size,
                                  seed=run.seed if run is not None else 0)
        self.fixed_latent = self.grid_latent(64, torch.Generator().manual_seed(FIXED_NOISE_SEED))
        self._evaluator: Any = None

    # --- construction hooks ---------------------------------------------------------------------
    def build_loss(self) -> Any:
        from gan.losses import get_loss
        return get_loss(self.config.loss, registry=self.registries.get("loss"))

    def generator_input_dim(self) -> int:
        return self.config.z_dim + (self.num_classes if self.label_conditioned_g else 0)

    @property
    def arch(self) -> str:
        """The network family built: ``arch``, with ``auto`` resolved by image size (the compact
        MNIST nets up to 32 px, the all-convolutional DCGAN nets above, where the compact nets' fully
        connected layer would grow with the square of the side)."""
        if self.config.arch != "auto":
            return self.config.arch
        return "small-mnist" if max(self.image_shape[1:]) <= 32 else "dcgan"

    def build_models(self) -> None:
        c = self.config
        g_arch = self.arch if c.g_arch == "same" else c.g_arch
        self.models["G"] = build_generator(g_arch, self.generator_input_dim(), self.image_shape,
                                           width=c.g_width, hidden=c.g_hidden, mlp_norm=c.g_norm)
        m = c.stabilise.pack
        stab.require_packable(c.stabilise, c.batch_size)
        c_in, h, w = self.image_shape
        d = build_discriminator(self.arch, (c_in * m, h, w), width=c.d_width, norm=c.d_norm,
                                cond_dim=self.num_classes if self.label_conditioned_d else 0,
                                hidden=c.d_hidden, dropout=c.d_dropout)
        self.attach_batch_layer(d)
        self.add_heads(d)
        if m > 1:
            if self.label_conditioned_d or set(d.heads) != {"adv"}:
                raise GanError(f"--set stabilise.pack={m}: not available for model {self.name!r} (its "
                               f"discriminator labels or decodes each sample; a pack has one output)")
            d.pack = stab.Pack(m)
        if c.d_norm == "spectral":
            spectral_normalise(d)
        self.models["D"] = d

    def attach_batch_layer(self, d: Discriminator) -> None:
        """Minibatch discrimination / stddev between D's body and its heads (``stabilise``)."""
        layer = stab.batch_layer(self.config.stabilise, d.feature_dim)
        if layer is not None:
            d.tail = layer
            d.feature_dim += layer.extra
            d.heads["adv"] = nn.Linear(d.feature_dim, 1)
            init_weights(d.heads["adv"])

    def add_heads(self, d: nn.Module) -> None:
        """Attach auxiliary heads to the discriminator (AC-GAN's classifier, InfoGAN's Q)."""

    def build_optimizers(self) -> None:
        c = self.config
        g_lr = c.g_lr if c.g_lr is not None else c.lr
        for name, lr in (("G", g_lr), ("D", c.lr)):
            self.optimizers[name] = make_optimizer(self.models[name], lr, c.betas, c.optimizer)

    # --- the training loop contract -------------------------------------------------------------
    def stages(self) -> list[Stage]:
        # a step: n_critic D batches, then one generator update (what `steps` counts)
        return [Stage("train", self.config.steps, unit="G update")]

    def phases(self, stage: Stage) -> list[Phase]:
        return [Phase("D", "D", "D", repeats=self.config.n_critic, loss=self._d_phase),
                Phase("G", "G", "G", fresh_batch=False, loss=self._g_phase)]

    def next_batch(self, stage: Stage, phase: Phase) -> Any:
        return next(self.stream)

    def prepare_batch(self, batch: Any) -> tuple[torch.Tensor, torch.Tensor]:
        images, labels = batch
        images = images.to(self.device, non_blocking=True).float().div_(127.5).sub_(1.0)
        if self.run is not None and getattr(self.run, "channels_last", False) and self.device.type == "cuda":
            images = images.contiguous(memory_format=torch.channels_last)
        return images, labels.to(self.device, non_blocking=True)

    def _d_phase(self, batch: Any, step: int, scratch: dict[str, Any]) -> LossOutput:
        self._step = step  # instance noise anneals with the trainer's step
        return self.d_loss(*batch)

    def _g_phase(self, batch: Any, step: int, scratch: dict[str, Any]) -> LossOutput:
        self._step = step
        return self.g_loss(*batch)

    def d_loss(self, real: torch.Tensor, labels: torch.Tensor) -> LossOutput:
        lat = self.latent(real.shape[0], labels)
        with torch.no_grad():
            fake = self.generate(lat, self.nets.G)
        s, sigma = self.config.stabilise, self._noise_std()
        real, fake = stab.add_instance_noise(real, sigma), stab.add_instance_noise(fake, sigma)
        out_r, out_f = self.discriminate_pair(real, labels, fake, lat.get("y"), self.nets.D)
        loss = stab.d_loss(self.adversarial, s, out_r["adv"], out_f["adv"])
        p = Pass(real, labels, fake, lat, out_r, out_f,
                 {"adv": loss.detach(), "real": out_r["adv"].detach().mean(), "fake": out_f["adv"].detach().mean(),
                  **d_stats(out_r["adv"], out_f["adv"], self.adversarial)})
        terms = self.d_terms(p)
        terms.update(stab.penalties(s, lambda v: self.discriminate(v, labels, self.nets.D)["adv"], real, fake,
                                    lambda v: self.discriminate(v, lat.get("y"), self.nets.D)["adv"]))
        return self._with_terms(loss, p, terms)

    def g_loss(self, real: torch.Tensor, labels: torch.Tensor) -> LossOutput:
        lat = self.latent(real.shape[0], labels)
        s, sigma = self.config.stabilise, self._noise_std()
        fake = stab.add_instance_noise(self.generate(lat, self.nets.G), sigma)
        real = stab.add_instance_noise(real, sigma)
        if s.unrolled_steps:
            out_f = self._unrolled_fake(real, labels, fake, lat.get("y"))
        else:
            out_f = self.discriminate_fake(real, labels, fake, lat.get("y"), self.nets.D)
        if s.feature_matching:
            d = self.models["D"]
            with torch.no_grad():
                f_real = d.input_features(real, self.one_hot(labels) if self.label_conditioned_d else None)
            y = self.one_hot(lat["y"]) if self.label_conditioned_d else None
            loss = stab.feature_matching_loss(f_real, d.input_features(fake, y))
        else:
            loss = self.adversarial.g_loss(out_f["adv"])
        key = "feature_matching" if s.feature_matching else "adv"
        p = Pass(real, labels, fake, lat, None, out_f, {key: loss.detach(), "fake": out_f["adv"].detach().mean()})
        return self._with_terms(loss, p, self.g_terms(p))

    def _noise_std(self) -> float:
        return stab.instance_noise_std(self.config.stabilise, getattr(self, "_step", 0), self.config.steps)

    def _unrolled_fake(self, real: torch.Tensor, labels: torch.Tensor, fake: torch.Tensor,
                       fake_labels: torch.Tensor | None) -> dict[str, torch.Tensor]:
        """D's outputs on ``fake`` with D unrolled ``stabilise.unrolled_steps`` Adam/SGD steps of its
        adversarial loss ahead (Metz et al. 2017; auxiliary D terms are not unrolled)."""
        s, d = self.config.stabilise, self.models["D"]
        yr = self.one_hot(labels) if self.label_conditioned_d else None
        yf = self.one_hot(fake_labels) if self.label_conditioned_d else None

        def d_loss_of(params: dict) -> torch.Tensor:
            return stab.d_loss(self.adversarial, s, stab.functional(d, params, real, yr)["adv"],
                               stab.functional(d, params, fake, yf)["adv"])
        ahead = stab.unrolled_parameters(d, d_loss_of, s.unrolled_steps, self.optimizers["D"],
                                         s.unrolled_second_order)
        return stab.functional(d, ahead, fake, yf)

    @staticmethod
    def _with_terms(loss: torch.Tensor, p: Pass, terms: dict[str, torch.Tensor]) -> LossOutput:
        for name, term in terms.items():
            loss = loss + term
            p.logs[name] = term.detach()
        return LossOutput(loss, p.logs)

    def d_terms(self, p: Pass) -> dict[str, torch.Tensor]:
        """Extra discriminator loss terms by log name (added to the adversarial loss); may also put
        diagnostics into ``p.logs``."""
        return {}

    def g_terms(self, p: Pass) -> dict[str, torch.Tensor]:
        """Extra generator loss terms by log name (``p.out_real`` is ``None`` here)."""
        return {}

    # --- latent space ---------------------------------------------------------------------------
    def _draw(self, fn: Any, *args: Any, generator: torch.Generator | None = None, **kw: Any) -> torch.Tensor:
        """Random tensor from ``generator`` (CPU, reproducible sampling) or the global RNG on the device."""
        if generator is None:
            return fn(*args, device=self.device, **kw)
        return fn(*args, generator=generator, **kw).to(self.device)

    def latent(self, n: int, labels: torch.Tensor | None = None,
               generator: torch.Generator | None = None) -> dict[str, torch.Tensor]:
        """Everything the generator is fed for ``n`` samples, as a dict of ``(n, ...)`` tensors.

        ``labels`` fix the classes of label-conditioned models (else uniform). With ``generator``
        the draw is reproducible and the global RNG untouched (sampling, evaluation, grids).
        """
        out = {"z": self.noise(n, self.config.z_dim, generator)}
        if self.label_conditioned_g or self.label_conditioned_d:
            out["y"] = labels.to(self.device) if labels is not None else \
                self._draw(torch.randint, self.num_classes, (n,), generator=generator)
        return out

    def noise(self, n: int, dim: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """``(n, dim)`` noise from the configured distribution (``noise``)."""
        if self.config.noise == "uniform":
            return self._draw(torch.rand, n, dim, generator=generator).mul_(2).sub_(1)
        if self.config.noise != "normal":
            raise GanError(f"--set noise={self.config.noise!r}: expected normal or uniform")
        return self._draw(torch.randn, n, dim, generator=generator)

    def grid_latent(self, n: int, generator: torch.Generator) -> dict[str, torch.Tensor]:
        """The fixed latent points of the progress grid."""
        return self.latent(n, generator=generator)

    def one_hot(self, labels: torch.Tensor) -> torch.Tensor:
        return F.one_hot(labels.long(), self.num_classes).float()

    def generator_input(self, latent: dict[str, torch.Tensor]) -> torch.Tensor:
        if self.label_conditioned_g:
            return torch.cat([latent["z"], self.one_hot(latent["y"])], 1)
        return latent["z"]

    def generate(self, latent: dict[str, torch.Tensor], g: nn.Module) -> torch.Tensor:
        return g(self.generator_input(latent))

    def discriminate(self, images: torch.Tensor, labels: torch.Tensor | None, d: nn.Module) -> dict[str, torch.Tensor]:
        if self.label_conditioned_d:
            return d(images, self.one_hot(labels))
        return d(images)

    def discriminate_pair(self, real: torch.Tensor, real_labels: torch.Tensor | None, fake: torch.Tensor,
                          fake_labels: torch.Tensor | None, d: nn.Module) -> tuple[dict, dict]:
        """D's outputs on a real and a fake batch: two passes, or one pass over both with
        ``d_joint``. Batch norm standardises each channel over the batch, which erases any difference
        in a channel's mean or scale between an all-real and an all-fake batch (with zero biases D is
        then blind to the contrast of a whole batch); a D with batch norm should therefore score both
        halves together, as the compact MNIST nets (and the original InfoGAN code) do."""
        if not self.config.d_joint:
            return self.discriminate(real, real_labels, d), self.discriminate(fake, fake_labels, d)
        labels = None if real_labels is None or fake_labels is None else torch.cat([real_labels, fake_labels])
        out = self.discriminate(torch.cat([real, fake.to(real.dtype)]), labels, d)
        n = out["adv"].shape[0] * real.shape[0] // (real.shape[0] + fake.shape[0])  # packs: fewer rows
        return {k: v[:n] for k, v in out.items()}, {k: v[n:] for k, v in out.items()}

    def discriminate_fake(self, real: torch.Tensor, real_labels: torch.Tensor | None, fake: torch.Tensor,
                          fake_labels: torch.Tensor | None, d: nn.Module) -> dict:
        """D's output on the fake batch for G's step (with ``d_joint``, scored beside the reals so
        G is judged under the same batch statistics as in D's step)."""
        if self.config.d_joint:
            return self.discriminate_pair(real, real_labels, fake, fake_labels, d)[1]
        return self.discriminate(fake, fake_labels, d)

    # --- sampling -------------------------------------------------------------------------------
    @torch.no_grad()
    def generate_eval(self, latent: dict[str, torch.Tensor]) -> torch.Tensor:
        """Images for ``latent`` from the evaluation generator (EMA when kept), in eval mode, in
        batches of ``eval.batch_size``; returned on the CPU as float32."""
        g = self.eval_model("G")
        n = next(iter(latent.values())).shape[0]
        bs = self.config.eval.batch_size
        with eval_mode(g):
            return torch.cat([self.generate(slice_latent(latent, i, i + bs), g).float().cpu()
                              for i in range(0, n, bs)])

    def sample(self, n: int, seed: int | None = None, labels: torch.Tensor | None = None) -> torch.Tensor:
        """``n`` images ``(n, C, H, W)`` in ``[-1, 1]`` on the CPU; ``seed`` makes them reproducible."""
        g = torch.Generator().manual_seed(seed) if seed is not None else None
        return self.generate_eval(self.latent(n, labels, generator=g))

    @torch.no_grad()
    def score(self, images: torch.Tensor, latent: dict[str, torch.Tensor] | None = None) -> torch.Tensor:
        """How real the discriminator finds each image (higher = more real), ``(N,)`` on the CPU;
        a class-conditioned D needs the images' ``latent`` (their labels ``"y"``)."""
        d, latent = self.models["D"], latent or {}
        bs = self.config.eval.batch_size
        out = []
        with eval_mode(d):
            for i in range(0, images.shape[0], bs):
                lat = slice_latent(latent, i, i + bs)
                out.append(self.discriminate(images[i:i + bs].to(self.device), lat.get("y"), d)["adv"].float().cpu())
        return torch.cat(out)

    def export_samples(self, n: int, out_dir: Path, seed: int | None = None, nice: bool | int = False,
                       format: str = "png") -> list[str]:
        """``gan sample``: ``n`` PNG files (or one uint8 ``samples.npy``) in ``out_dir`` and a grid
        beside it; ``nice`` keeps the ``n`` best-scored of more candidates (:mod:`gan.sampling`,
        :mod:`gan_image.export`)."""
        from .export import export_samples
        return export_samples(self, n, out_dir, seed=seed, nice=nice, fmt=format)

    def sample_grids(self) -> dict[str, tuple[torch.Tensor, int]]:
        """Name → (images, images per row) written by :meth:`save_samples`: the fixed-noise grid, and
        for label-conditioned generators one row per class (the same 8 noise vectors in every row)."""
        grids = {"samples": (self.generate_eval(self.fixed_latent), 8)}
        if self.label_conditioned_g:
            grids["classes"] = (self.generate_eval(self.class_grid_latent()), 8)
        return grids

    def class_grid_latent(self, per_class: int = 8, max_classes: int = 20) -> dict[str, torch.Tensor]:
        k = min(self.num_classes, max_classes)
        lat = self.latent(per_class, generator=torch.Generator().manual_seed(FIXED_NOISE_SEED + 1))
        lat = {key: v.repeat(k, *([1] * (v.dim() - 1))) for key, v in lat.items()}
        lat["y"] = torch.arange(k, device=self.device).repeat_interleave(per_class)
        return lat

    def save_samples(self, directory: Path, step: int) -> list[Path]:
        """One PNG per :meth:`sample_grids` entry, plus ``progress.png``: one row of the fixed
        latent points appended per call, so the whole run reads top to bottom."""
        from gan.images import append_progress_row

        directory = Path(directory)
        grids = self.sample_grids()
        paths = [save_grid(images, directory / f"{name}-{step:08d}.png", nrow=nrow)
                 for name, (images, nrow) in grids.items()]
        paths.append(append_progress_row(directory / "progress.png", grids["samples"][0][:8]))
        return paths

    @classmethod
    def import_config(cls, source: str, states: list[Any], **options: Any) -> dict[str, Any]:
        """``gan import``: config values a PyTorch-GAN generator file implies (see :mod:`.anchors`)."""
        from .anchors import import_config
        return import_config(cls, source, states, **options)

    def import_weights(self, source: str, states: list[Any], **options: Any) -> None:
        """``gan import``: load a PyTorch-GAN DCGAN-style generator state dict into G."""
        from .anchors import import_weights
        import_weights(self, source, states, **options)

    def export_modules(self, **options: Any) -> list[Any]:
        """``gan export``: the sampling generator, latent tensors → images (see :mod:`.deploy`)."""
        from .deploy import image_export_modules
        return image_export_modules(self, **options)

    # --- evaluation -----------------------------------------------------------------------------
    @property
    def evaluator(self) -> Any:
        if self._evaluator is None:
            from .evaluation import ImageEvaluator
            self._evaluator = ImageEvaluator(self)
        return self._evaluator

    def evaluate(self, full: bool = False, samples: int | None = None) -> dict[str, Any]:
        """Quick: classifier-feature FID on ``eval.samples``. Full (``gan eval``): FID, KID, IS,
        1-NN accuracy on ``eval.full_samples`` (or ``samples``), against the held-out split, with
        the classifier's accuracy and the protocol (:mod:`gan_image.evaluation`)."""
        return self.evaluator.evaluate(full=full, samples=samples)

    @torch.no_grad()
    def health_diversity(self) -> tuple[str, float] | None:
        """Classes covered by 200 fixed-latent samples, by the evaluation classifier (a class counts
        with a fifth of its fair share). ``None`` for unlabelled data and until the first evaluation
        has trained the classifier: the health monitor never trains one itself."""
        ev = self._evaluator
        if ev is None or ev.task != "classes" or ev._extractor is None:
            return None
        lat = self.latent(200, generator=torch.Generator().manual_seed(FIXED_NOISE_SEED + 2))
        pred = ev.extractor.logits(self.generate_eval(lat)).argmax(1).cpu()
        counts = torch.bincount(pred, minlength=self.num_classes)
        return "classes_covered", float((counts >= 0.2 * len(pred) / self.num_classes).sum())

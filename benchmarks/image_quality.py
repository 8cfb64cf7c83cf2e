"""Sample quality of every image GAN on MNIST at an equal budget, against a plain-PyTorch reference.

Each model trains for ``--steps`` generator steps at batch ``--batch`` (default 1,404 × 128 = three
MNIST epochs, the budget of the common PyTorch tutorials) from the same seed, and so does a
*reference* written here in plain PyTorch, outside the framework: the compact tutorial DCGAN
(G: FC 96→1024→7·7·128, two transposed convolutions; D: two 5×5 conv + max-pool blocks, FC 1024;
U(−1, 1) noise, Adam 3e-4 β (0.5, 0.999), one D step then one G step, non-saturating BCE).

Every model is then scored the same way: 10,000 samples (``--eval-samples``) against the 10,000
MNIST *test* images on the features of the framework's evaluation classifier (trained on MNIST
training images and cached; its test accuracy is printed), giving

* FID and KID (``gan.metrics``; classifier features, so on their scale, not Inception's),
* classes covered (classes that get at least 1 % of the samples by the classifier's argmax) and the
  entropy of that class histogram in bits (uniform over 10 classes = 3.32),
* unsure: the share of samples whose top class the classifier gives less than 90 % probability
  (the test images' own share is printed in the header): samples between two digits, which FID
  charges for but the class histogram hides,
* the FID ratio to the reference trained in the same run,
* images/s: real images fed to D per second of training (batch × critic updates per generator step).

Each row is appended to ``--json`` as soon as its model finishes, and each model's 8×8 sample grid
is written to ``--out``. Usage::

    python benchmarks/image_quality.py --data-root /work/shared/data/mnist
    python benchmarks/image_quality.py --data-root DIR --steps 400 --models dcgan,"dcgan[d_joint=true]"

A model spec ``name[key=value;key=value]`` trains a family with config overrides (for ablations).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import sys
import time
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "core"), str(ROOT / "plugins")]

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from torch import nn  # noqa: E402

ALL_MODELS = "dcgan,gan,cgan,acgan,infogan,wgan,wgan-gp,lsgan,ebgan,lapgan"
COVERED_SHARE = 0.01  # a class counts as covered with at least 1 % of the samples
UNSURE_BELOW = 0.9  # a sample is "unsure" when its top class gets less than this probability


# --- the reference: a compact tutorial DCGAN in plain PyTorch -----------------------------------
class RefGenerator(nn.Module):
    def __init__(self, channels: int = 1, size: int = 28, z_dim: int = 96) -> None:
        super().__init__()
        self.base = size // 4
        self.fc = nn.Sequential(nn.Linear(z_dim, 1024), nn.ReLU(), nn.BatchNorm1d(1024),
                                nn.Linear(1024, self.base ** 2 * 128), nn.ReLU(), nn.BatchNorm1d(self.base ** 2 * 128))
        self.conv = nn.Sequential(nn.ConvTranspose2d(128, 64, 4, 2, 1), nn.ReLU(), nn.BatchNorm2d(64),
                                  nn.ConvTranspose2d(64, channels, 4, 2, 1), nn.Tanh())

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.conv(self.fc(z).view(-1, 128, self.base, self.base))


class RefDiscriminator(nn.Module):
    def __init__(self, channels: int = 1, size: int = 28) -> None:
        super().__init__()
        side = ((size - 4) // 2 - 4) // 2  # 28 → 4 (a 1024-unit flatten, as in the tutorial)
        self.net = nn.Sequential(nn.Conv2d(channels, 32, 5), nn.LeakyReLU(0.01), nn.MaxPool2d(2),
                                 nn.Conv2d(32, 64, 5), nn.LeakyReLU(0.01), nn.MaxPool2d(2), nn.Flatten(),
                                 nn.Linear(64 * side * side, 1024), nn.LeakyReLU(0.01), nn.Linear(1024, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).squeeze(1)


def train_reference(images: torch.Tensor, steps: int, batch: int, seed: int
                    ) -> tuple[Callable[[int, int], torch.Tensor], dict[str, Any]]:
    """Train the tutorial DCGAN on uint8 ``images``; returns ``sample(n, seed)`` and timing."""
    torch.manual_seed(seed)
    c, size = images.shape[1], images.shape[-1]
    g, d = RefGenerator(c, size), RefDiscriminator(c, size)
    opt_g = torch.optim.Adam(g.parameters(), lr=3e-4, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(d.parameters(), lr=3e-4, betas=(0.5, 0.999))
    bce = nn.BCEWithLogitsLoss()
    x_all = images.float().div(127.5).sub(1.0)
    order, pos = torch.randperm(len(x_all)), 0
    ones, zeros = torch.ones(batch), torch.zeros(batch)
    start = time.perf_counter()
    for _ in range(steps):
        if pos + batch > len(order):
            order, pos = torch.randperm(len(x_all)), 0
        real = x_all[order[pos:pos + batch]]
        pos += batch
        z = torch.rand(batch, 96) * 2 - 1
        fake = g(z)
        loss_d = bce(d(real), ones) + bce(d(fake.detach()), zeros)
        opt_d.zero_grad()
        loss_d.backward()
        opt_d.step()
        loss_g = bce(d(fake), ones)
        opt_g.zero_grad()
        loss_g.backward()
        opt_g.step()
    wall = time.perf_counter() - start
    g.eval()

    @torch.no_grad()
    def sample(n: int, sample_seed: int) -> torch.Tensor:
        gen = torch.Generator().manual_seed(sample_seed)
        z = torch.rand(n, 96, generator=gen) * 2 - 1
        return torch.cat([g(z[i:i + 500]) for i in range(0, n, 500)])

    return sample, {"wall_s": wall, "images": steps * batch, "batch_size": batch, "n_critic": 1}


# --- the framework's models ----------------------------------------------------------------------
def parse_spec(spec: str) -> tuple[str, dict[str, str]]:
    """``dcgan[lr=1e-3;d_joint=true]`` → ``("dcgan", {"lr": "1e-3", "d_joint": "true"})``."""
    m = re.fullmatch(r"([\w-]+)(?:\[(.*)\])?", spec.strip())
    if not m:
        raise SystemExit(f"--models: cannot parse {spec!r}; expected NAME or NAME[key=value;...]")
    overrides = {}
    for item in filter(None, (m.group(2) or "").split(";")):
        if "=" not in item:
            raise SystemExit(f"--models {spec!r}: expected key=value, got {item!r}")
        k, v = item.split("=", 1)
        overrides[k.strip()] = v.strip()
    return m.group(1), overrides


def build_recipe(name: str, overrides: dict[str, str], data: Any, steps: int, batch: int, seed: int) -> Any:
    from gan.checkpoint import seed_everything
    from gan.config import RunConfig, apply_mapping, resolve_config
    from gan.plugins import default_manager

    cls = default_manager().registry("model").resolve(name)
    run = RunConfig(seed=seed, device="cpu", amp="off", progress=False, tensorboard=False, log_every=10**9,
                    ckpt_every=0, eval_every=0, sample_every=0)
    for key in [k for k in overrides if k.startswith("run.")]:
        apply_mapping(run, {key[4:]: overrides.pop(key)})
    preset = overrides.pop("preset", None)
    cfg = resolve_config(cls.Config, run, presets=getattr(cls, "presets", {}), preset=preset)
    apply_mapping(cfg, {"steps": steps, "batch_size": batch, **overrides})
    seed_everything(seed)
    return cls(cfg, device=torch.device("cpu"), data=data, run=run)


def train_framework(recipe: Any, ema_sweep: tuple[float, ...] = ()) -> tuple[dict[str, Any], dict[float, Any]]:
    """Train ``recipe``'s single stage; also keeps a generator EMA per ``ema_sweep`` decay (the
    trainer's warmed-up EMA, :mod:`gan.ema`) so one run scores several decays."""
    from gan.ema import averaged
    from gan.trainer import AdversarialTrainer

    trainer = AdversarialTrainer(recipe, recipe.run)
    stage = recipe.stages()[0]
    phases = recipe.phases(stage)
    sweep = {d: averaged(recipe.models["G"], d) for d in ema_sweep}
    start = time.perf_counter()
    for _ in range(stage.steps):
        trainer.train_step(stage, phases)
        for avg in sweep.values():
            avg.update_parameters(recipe.models["G"])
    wall = time.perf_counter() - start
    trainer._check_finite()
    d = next((p for p in phases if p.name == "D"), None)
    d_updates = sum(d.repeats_for(s) for s in range(stage.steps)) if d is not None else stage.steps
    return {"wall_s": wall, "images": d_updates * recipe.config.batch_size,
            "batch_size": recipe.config.batch_size, "n_critic": d.repeats if d is not None else 1}, sweep


# --- scoring -------------------------------------------------------------------------------------
def unsure_share(probs: torch.Tensor) -> float:
    """Share of samples whose top class gets less than ``UNSURE_BELOW`` probability."""
    return float((probs.max(1).values < UNSURE_BELOW).float().mean())


class Scorer:
    """The framework's evaluation classifier and the features of the MNIST test images."""

    def __init__(self, data: Any, n: int) -> None:
        from gan.metrics.frechet import gaussian_stats

        probe = build_recipe("dcgan", {}, data, 0, 64, 0)  # only for its evaluator's classifier
        self.classifier = probe.evaluator.extractor
        self.accuracy = float((self.classifier.logits(data.test_images).argmax(1).cpu() == data.test_labels)
                              .float().mean())
        self.n = min(n, len(data.test_images))
        self.real = self.classifier.features(data.test_images[:self.n]).float().cpu()
        self.real_stats = gaussian_stats(self.real)
        train = self.classifier.features(data.images[:self.n]).float().cpu()
        self.floor = self.real_stats.frechet_distance(gaussian_stats(train))
        self.real_unsure = unsure_share(self.probabilities(self.real))

    def probabilities(self, feats: torch.Tensor) -> torch.Tensor:
        """The classifier's class probabilities ``(N, 10)`` for features computed by it."""
        logits = self.classifier.head(feats.to(next(self.classifier.parameters()).device))
        return torch.softmax(logits.float(), 1).cpu()

    def score(self, images: torch.Tensor) -> dict[str, Any]:
        from gan.metrics.frechet import gaussian_stats
        from gan.metrics.kernel import kernel_inception_distance

        feats = self.classifier.features(images).float().cpu()
        probs = self.probabilities(feats)
        classes = probs.argmax(1)
        hist = torch.bincount(classes, minlength=10).double() / len(classes)
        p = hist[hist > 0]
        kid = kernel_inception_distance(self.real, feats, subsets=100, subset_size=1000)
        return {"fid": float(self.real_stats.frechet_distance(gaussian_stats(feats))), "kid": float(kid.mean),
                "classes_covered": int((hist >= COVERED_SHARE).sum()),
                "class_entropy_bits": max(0.0, float(-(p * p.log2()).sum())),
                "unsure_share": unsure_share(probs),
                "class_shares": [round(float(v), 4) for v in hist]}


def save_grid(images: torch.Tensor, path: Path) -> None:
    from torchvision.utils import save_image
    path.parent.mkdir(parents=True, exist_ok=True)
    save_image(images[:64].clamp(-1, 1) * 0.5 + 0.5, str(path), nrow=8, padding=2, pad_value=1.0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data-root", default="/work/shared/data/mnist", help="folder with the MNIST IDX(.gz) files")
    ap.add_argument("--models", default=ALL_MODELS, help=f"comma-separated model specs (default: {ALL_MODELS})")
    ap.add_argument("--dataset", choices=("mnist", "rgb32"), default="mnist",
                    help="rgb32: the MNIST digits as 3-channel 32-px images in random colours")
    ap.add_argument("--steps", type=int, default=1404, help="generator steps (1404 at batch 128 = 3 epochs)")
    ap.add_argument("--batch", type=int, default=128, help="batch size of every model and the reference")
    ap.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    ap.add_argument("--eval-samples", type=int, default=10000, help="generated samples (and test images)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--no-reference", action="store_true", help="skip the plain-PyTorch reference")
    ap.add_argument("--reference-fid", type=float, help="with --no-reference: the reference FID to divide by")
    ap.add_argument("--ema-sweep", default="", help="comma-separated EMA decays: also score a generator "
                    "EMA of each model per decay (one extra row each, from the same training run)")
    ap.add_argument("--json", type=Path, default=Path("image_quality.json"), help="rows, written as they finish")
    ap.add_argument("--out", type=Path, default=Path("image_quality_grids"), help="sample grids (PNG) go here")
    args = ap.parse_args()
    if args.steps < 1 or args.batch < 1 or args.threads < 1 or args.eval_samples < 2:
        raise SystemExit("--steps, --batch, --threads must be positive and --eval-samples at least 2")
    torch.set_num_threads(args.threads)
    specs = [s for s in re.split(r",(?![^\[]*\])", args.models) if s.strip()]
    parsed = [parse_spec(s) for s in specs]
    try:
        ema_decays = tuple(float(v) for v in args.ema_sweep.split(",") if v.strip())
    except ValueError:
        raise SystemExit(f"--ema-sweep {args.ema_sweep!r}: expected comma-separated decays in (0, 1)") from None
    if any(not 0 < d < 1 for d in ema_decays):
        raise SystemExit(f"--ema-sweep {args.ema_sweep!r}: expected comma-separated decays in (0, 1)")

    from gan import GanError
    from gan_image.datasets import colour_digits, make_mnist
    try:
        data = make_mnist(Path(args.data_root))
        if args.dataset == "rgb32":
            data = colour_digits(data)
    except GanError as e:
        raise SystemExit(str(e)) from None
    if data.test_images is None:
        raise SystemExit(f"--data-root {args.data_root}: the MNIST test files (t10k-*) are needed as reference")
    scorer = Scorer(data, args.eval_samples)
    print(f"# torch {torch.__version__}, {args.threads} thread(s), load {os.getloadavg()[0]:.1f}; "
          f"{args.steps} G steps at batch {args.batch}; {scorer.n} samples vs {scorer.n} test images of "
          f"{data.name} on the framework classifier's features (test accuracy {scorer.accuracy:.4f}); "
          f"train-vs-test FID floor {scorer.floor:.2f}; test images unsure {scorer.real_unsure:.1%}", flush=True)
    header = (f"{'model':28} {'steps':>5} {'batch':>5} {'img/s':>7} {'wall s':>7} {'FID':>8} {'KID':>8} "
              f"{'classes':>7} {'H bits':>6} {'unsure':>6} {'×ref':>6}")
    print(header, flush=True)
    rows: list[dict[str, Any]] = []
    ref_fid = args.reference_fid

    def report(label: str, sample: Callable[[int, int], torch.Tensor], info: dict[str, Any]) -> dict[str, Any]:
        nonlocal ref_fid
        images = sample(scorer.n, args.seed + 1)
        save_grid(images, args.out / f"{re.sub(r'[^A-Za-z0-9_.=-]+', '_', label)}.png")
        row = {"model": label, "steps": args.steps, **info, **scorer.score(images)}
        row["images_per_s"] = info["images"] / info["wall_s"]
        if label == "reference":
            ref_fid = row["fid"]
        row["fid_ratio"] = row["fid"] / ref_fid if ref_fid else None
        row.update(classifier_test_accuracy=scorer.accuracy, fid_floor=scorer.floor, n_samples=scorer.n,
                   test_unsure_share=scorer.real_unsure,
                   threads=args.threads, torch=torch.__version__)
        rows.append(row)
        args.json.write_text(json.dumps(rows, indent=2))
        ratio = f"{row['fid_ratio']:.2f}" if row["fid_ratio"] else "-"
        print(f"{label:28} {args.steps:>5} {info['batch_size']:>5} {row['images_per_s']:>7.0f} "
              f"{info['wall_s']:>7.0f} {row['fid']:>8.2f} {row['kid']:>8.3f} {row['classes_covered']:>7} "
              f"{row['class_entropy_bits']:>6.3f} {row['unsure_share']:>6.1%} {ratio:>6}", flush=True)
        return row

    if not args.no_reference:
        sample, info = train_reference(data.images, args.steps, args.batch, args.seed)
        report("reference", sample, info)
    for spec, (name, overrides) in zip(specs, parsed):
        try:
            recipe = build_recipe(name, dict(overrides), data, args.steps, args.batch, args.seed)
        except GanError as e:
            print(f"{spec.strip():28} failed: {e}", flush=True)
            continue
        info, sweep = train_framework(recipe, ema_decays)
        report(spec.strip(), lambda n, s: recipe.sample(n, seed=s), info)
        for decay, avg in sweep.items():
            kept = dict(recipe.ema)
            recipe.ema["G"] = avg
            report(f"{spec.strip()} ema={decay:g}", lambda n, s: recipe.sample(n, seed=s), info)
            recipe.ema.clear()
            recipe.ema.update(kept)
    if rows and not math.isnan(scorer.floor):
        print(f"# FID ratio = FID / the reference's FID in this run; classes covered = classes with "
              f">= {COVERED_SHARE:.0%} of the samples; rows in {args.json}, grids in {args.out}/")


if __name__ == "__main__":
    main()

"""Where a LAPGAN's error comes from: each pyramid level scored apart on MNIST.

LAPGAN trains every level on the *real* pyramid and chains them only when sampling, so a poor
sample can come from the coarsest generator or from any refiner. This trains ``lapgan`` (with
``--set``-style overrides) for ``--steps`` generator steps at batch 128 and scores, against the
MNIST test images on the evaluation classifier's features (as ``benchmarks/image_quality.py``):

* ``final``: ordinary samples (the whole chain);
* ``refiner noise 0``: the chain with every refiner's noise plane set to 0;
* ``refiners on real coarsest``: the refiners run on real coarsest images (training images
  downsampled), so only the refiners' error remains;
* ``last refiner on real``: only the finest refiner, on real images one level down;
* ``real coarsest upsampled``: no refiner at all (how much the pyramid's coarsest level keeps);
* ``real``: the training images themselves (the floor at this sample count).

Usage::

    python benchmarks/lapgan_levels.py --data-root /work/shared/data/mnist --steps 600
    python benchmarks/lapgan_levels.py --data-root DIR --set stabilise.r1_gamma=10 --set d_dropout=0

A grid (one row per line above) goes to ``--out``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
import image_quality as iq  # noqa: E402  (the same recipe builder and scorer)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data-root", default="/work/shared/data/mnist", help="folder with the MNIST IDX(.gz) files")
    ap.add_argument("--steps", type=int, default=600, help="generator steps at batch 128")
    ap.add_argument("--samples", type=int, default=2000, help="samples per row (and test images)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="lapgan config override")
    ap.add_argument("--out", type=Path, default=Path("lapgan_levels.png"), help="grid of the rows (PNG)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    overrides = {}
    for item in args.set:
        if "=" not in item:
            raise SystemExit(f"--set {item!r}: expected KEY=VALUE")
        k, v = item.split("=", 1)
        overrides[k.strip()] = v.strip()

    from gan.modes import eval_mode
    from gan.trainer import AdversarialTrainer
    from gan_image.datasets import make_mnist
    from gan_image.lapgan import pyramid
    from gan_image.networks import upsample
    from torchvision.utils import save_image

    data = make_mnist(Path(args.data_root))
    scorer = iq.Scorer(data, args.samples)
    recipe = iq.build_recipe("lapgan", overrides, data, args.steps, 128, args.seed)
    trainer = AdversarialTrainer(recipe, recipe.run)
    stage = recipe.stages()[0]
    phases = recipe.phases(stage)
    t0 = time.perf_counter()
    for _ in range(args.steps):
        trainer.train_step(stage, phases)
    print(f"# lapgan {overrides or 'default'}: {args.steps} steps at batch 128 in {time.perf_counter() - t0:.0f} s, "
          f"seed {args.seed}; {args.samples} samples vs test images (classifier accuracy {scorer.accuracy:.4f})")

    g, levels, n = recipe.eval_model("G"), recipe.config.levels, args.samples
    real = data.images[-n:].float() / 127.5 - 1  # training images, not the test images scored against
    with torch.no_grad(), eval_mode(g):
        zs = recipe.noises(recipe.latent(n, generator=torch.Generator().manual_seed(args.seed + 7)))
        pyr = pyramid(real, levels)
        blur = pyr[0]
        for _ in range(levels - 1):
            blur = upsample(blur)
        rows = {
            "final": g.chain(zs)[-1],
            "refiner noise 0": g.chain([zs[0]] + [torch.zeros_like(z) for z in zs[1:]])[-1],
            "refiners on real coarsest": g.refine(pyr[0], zs[1:])[-1],
            "last refiner on real": g.refine(pyr[-2], zs[-1:])[-1],
            "real coarsest upsampled": blur.clamp(-1, 1),
            "real": real,
        }
    print(f"{'row':28s} {'FID':>8s} classes H bits unsure")
    for name, images in rows.items():
        s = scorer.score(images)
        print(f"{name:28s} {s['fid']:8.1f} {s['classes_covered']:7d} {s['class_entropy_bits']:6.2f} "
              f"{s['unsure_share']:6.1%}", flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    save_image(torch.cat([v[:12] for v in rows.values()]).add(1).div(2), args.out, nrow=12)
    print(f"# grid (rows in the order above): {args.out}")


if __name__ == "__main__":
    main()

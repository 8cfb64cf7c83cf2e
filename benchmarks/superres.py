"""×4 super-resolution on natural photos: bicubic vs SRResNet vs SRGAN after a fixed CPU budget,
and ×4 inference speed for a 256×256 output.

Photos (no downloads): the sample images scikit-image ships inside its wheel
(``skimage/data/*.png|jpg``), ≥ 256 px. Held out (scored): ``astronaut`` 512², ``chelsea``
451×300, ``coffee`` 600×400, ``rocket`` 640×427 (RGB). Training: ``hubble_deep_field``,
``retina``, ``ihc``, ``motorcycle_left``/``right`` (RGB) and ``camera``, ``brick``, ``grass``,
``gravel``, ``moon``, ``coins``, ``cell`` (grayscale, read as RGB). They are linked into a
``train/`` + ``test/`` folder and read through the ``sr-folder`` dataset, so the run is exactly
what ``gan run --dataset sr-folder`` would do.

Protocol: SRResNet trains for ``--srresnet-seconds`` of wall time on one thread, then SRGAN
(SRGAN-MSE: pixel-MSE content + 10⁻³ adversarial) starts from that SRResNet checkpoint and trains
for ``--srgan-seconds``. Networks: the ``--preset`` (default ``cpu``: 4 residual blocks, 32
wide, 32-px HR crops) because the paper networks (16 blocks, 96-px crops) make a few hundred
updates at best in that budget; the speed figures are for both sizes. Scores: Y-channel PSNR / SSIM,
8-bit, 4-px border removed (the SR literature's protocol, ``gan_superres.evaluation``), on the
whole held-out photos.

    python benchmarks/superres.py --srresnet-seconds 600 --srgan-seconds 300 --set steps=1000000
    python benchmarks/superres.py --srresnet-seconds 480 --srgan-seconds 240 --set steps=1000000 \
        --set global_skip=true     # G learns the residual over bicubic (not in the paper)
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

TEST = ("astronaut.png", "chelsea.png", "coffee.png", "rocket.jpg")
TRAIN = ("hubble_deep_field.jpg", "retina.jpg", "ihc.png", "motorcycle_left.png", "motorcycle_right.png",
         "camera.png", "brick.png", "grass.png", "gravel.png", "moon.png", "coins.png", "cell.png")


def photo_folder(root: Path) -> Path:
    import skimage
    data = Path(skimage.__file__).parent / "data"
    for split, names in (("train", TRAIN), ("test", TEST)):
        (root / split).mkdir(parents=True, exist_ok=True)
        for name in names:
            (root / split / name).symlink_to(data / name)
    return root


def train_for(model: str, seconds: float, data_root: Path, run_dir: Path, preset: str,
              sets: list[tuple[str, str]]) -> tuple[object, int, float]:
    import torch

    from gan.config import RunConfig
    from gan.runs import build_recipe
    from gan.trainer import AdversarialTrainer
    run = RunConfig(seed=0, device="cpu", progress=False, tensorboard=False, log_every=0, ckpt_every=0)
    built = build_recipe(model, preset=preset, assignments=sets, dataset="sr-folder", data_root=data_root,
                         run=run)
    recipe = built.recipe
    recipe.data_name, recipe.data_root = "sr-folder", str(data_root)
    trainer = AdversarialTrainer(recipe, run, run_dir=run_dir)
    stage = recipe.stages()[0]
    phases = recipe.phases(stage)
    start = time.perf_counter()
    while time.perf_counter() - start < seconds and trainer.stage_step < stage.steps:
        trainer.train_step(stage, phases)
    elapsed = time.perf_counter() - start
    trainer.save_checkpoint()
    torch.set_num_threads(1)
    return recipe, trainer.step, elapsed


def speed(n_blocks: int, width: int, repeats: int = 5) -> float:
    """Median seconds for one ×4 pass 64×64 → 256×256 (RGB, eval mode, no_grad)."""
    import torch

    from gan_superres.srresnet import SRResNetGenerator
    g = SRResNetGenerator(3, width, n_blocks).eval()
    x = torch.rand(1, 3, 64, 64)
    times = []
    with torch.no_grad():
        g(x)
        for _ in range(repeats):
            t = time.perf_counter()
            y = g(x)
            times.append(time.perf_counter() - t)
    assert y.shape == (1, 3, 256, 256)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--srresnet-seconds", type=float, default=600)
    ap.add_argument("--srgan-seconds", type=float, default=300)
    ap.add_argument("--preset", default="cpu")
    ap.add_argument("--set", dest="sets", action="append", default=[], metavar="KEY=VALUE",
                    help="extra config values for both models")
    ap.add_argument("--out", type=Path, default=None, help="also write the figures as JSON here")
    args = ap.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    import torch
    torch.set_num_threads(1)
    sets = [tuple(s.split("=", 1)) for s in args.sets]
    results: dict[str, object] = {"threads": torch.get_num_threads(), "torch": torch.__version__,
                                  "photos": {"train": TRAIN, "test": TEST}}
    with tempfile.TemporaryDirectory() as tmp:
        root = photo_folder(Path(tmp) / "photos")
        sr, steps, secs = train_for("srresnet", args.srresnet_seconds, root, Path(tmp) / "srresnet",
                                    args.preset, sets)
        e = sr.evaluate(full=True)
        results["bicubic"] = {"psnr_y": e["bicubic_psnr_y"], "ssim_y": e["bicubic_ssim_y"]}
        results["srresnet"] = {"psnr_y": e["psnr_y"], "ssim_y": e["ssim_y"], "steps": steps, "seconds": secs}
        results["protocol"] = e["protocol"]
        results["config"] = {k: v for k, v in vars(sr.config).items()}
        print(f"bicubic   PSNR-Y {e['bicubic_psnr_y']:.3f} dB  SSIM-Y {e['bicubic_ssim_y']:.4f}", flush=True)
        print(f"SRResNet  PSNR-Y {e['psnr_y']:.3f} dB  SSIM-Y {e['ssim_y']:.4f}  ({steps} steps, {secs:.0f} s)",
              flush=True)
        gan, gsteps, gsecs = train_for("srgan", args.srgan_seconds, root, Path(tmp) / "srgan", args.preset,
                                       sets + [("init_from", str(Path(tmp) / "srresnet"))])
        e = gan.evaluate(full=True)
        results["srgan"] = {"psnr_y": e["psnr_y"], "ssim_y": e["ssim_y"], "steps": gsteps, "seconds": gsecs}
        print(f"SRGAN-MSE PSNR-Y {e['psnr_y']:.3f} dB  SSIM-Y {e['ssim_y']:.4f}  (+{gsteps} steps, {gsecs:.0f} s)",
              flush=True)
        c = sr.config
        results["speed_256_s"] = {"paper (16 blocks, 64 wide)": speed(16, 64),
                                  f"benchmark ({c.n_blocks} blocks, {c.width} wide)": speed(c.n_blocks, c.width)}
        for k, v in results["speed_256_s"].items():
            print(f"×4 inference 64² → 256², 1 thread, {k}: {v * 1000:.0f} ms", flush=True)
    if args.out:
        args.out.write_text(json.dumps(results, indent=2, default=str) + "\n")


if __name__ == "__main__":
    main()

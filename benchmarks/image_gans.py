"""Speed and quality of the image GANs on MNIST: DCGAN, WGAN-GP and LSGAN.

Each (device, model, variant) trains for a fixed number of generator steps from the same seed on
MNIST read from local IDX files, then reports:

* images/s — real training images consumed per second of training (batch × critic updates per step),
  timed after warm-up steps (which also absorb ``torch.compile``), with the device synchronised;
* speed-up — images/s over the ``fp32`` variant of the same model on the same device, in this run;
* peak memory — CUDA: ``torch.cuda.max_memory_allocated``; CPU: the process's peak RSS (every
  configuration runs in its own process, so the numbers do not mix);
* FID and KID of generated samples against MNIST training images, on the features of the
  framework's domain classifier (trained on MNIST and cached; its test accuracy is printed), with
  ``--eval-samples`` samples each — see ``gan_image.evaluation``.

Variants switch the :class:`gan.config.RunConfig` execution options: ``fp32`` (baseline), ``bf16``
(autocast), ``cl`` (channels_last), ``compile`` (``torch.compile``), combined with ``+``
(``bf16+cl+compile``). CUDA variants run only when a GPU is present.

Usage::

    python benchmarks/image_gans.py --data-root /work/shared/data/mnist --steps 200
    python benchmarks/image_gans.py --data-root DIR --devices cuda --steps 2000 \\
        --cuda-variants fp32,bf16,cl,compile,bf16+cl+compile
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "core"), str(ROOT / "plugins")]

FLAGS = {"fp32": {}, "bf16": {"amp": "bf16"}, "cl": {"channels_last": True}, "compile": {"compile": True}}


def run_config(variant: str, device: str, seed: int):
    from gan.config import RunConfig

    kw = {"amp": "off"}
    for flag in variant.split("+"):
        if flag not in FLAGS:
            raise SystemExit(f"unknown variant flag {flag!r}; use {', '.join(FLAGS)} joined by '+'")
        kw.update(FLAGS[flag])
    return RunConfig(seed=seed, device=device, progress=False, tensorboard=False, log_every=10**9,
                     ckpt_every=0, eval_every=0, sample_every=0, **kw)


def child(spec: dict) -> dict:
    """Train and evaluate one configuration (runs in its own process)."""
    import torch

    from gan.checkpoint import seed_everything
    from gan.config import apply_mapping
    from gan.plugins import default_manager
    from gan.trainer import AdversarialTrainer
    from gan_image.datasets import make_mnist

    device = torch.device(spec["device"])
    pm = default_manager()
    cls = pm.registry("model").resolve(spec["model"])
    cfg = cls.Config()
    overrides = {"steps": spec["steps"] + spec["warmup"], "eval.full_samples": spec["eval_samples"],
                 "eval.classifier_images": spec["classifier_images"],
                 "eval.classifier_epochs": spec["classifier_epochs"], **spec["overrides"]}
    apply_mapping(cfg, overrides)
    run = run_config(spec["variant"], spec["device"], spec["seed"])
    data = make_mnist(Path(spec["data_root"]), cfg)
    seed_everything(run.seed)
    recipe = cls(cfg, device=device, data=data, run=run)
    trainer = AdversarialTrainer(recipe, run)
    stage = recipe.stages()[0]
    phases = recipe.phases(stage)
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    for _ in range(spec["warmup"]):
        trainer.train_step(stage, phases)
    sync()
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats()
    start = time.perf_counter()
    for _ in range(spec["steps"]):
        trainer.train_step(stage, phases)
    sync()
    seconds = time.perf_counter() - start
    trainer._check_finite()
    d = next(p for p in phases if p.name == "D")
    w = spec["warmup"]
    images = sum(d.repeats_for(s) for s in range(w, w + spec["steps"])) * cfg.batch_size
    if device.type == "cuda":
        peak = torch.cuda.max_memory_allocated() / 2**20
    else:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    t_eval = time.perf_counter()
    result = recipe.evaluate(full=True)
    protocol = result.pop("protocol")
    return {**spec, "seconds": seconds, "images_per_s": images / seconds, "steps_per_s": spec["steps"] / seconds,
            "peak_mib": peak, "fid": result["fid"], "kid": result["kid"], "kid_std": result["kid_std"],
            "fid_real_floor": result.get("fid_real_floor"),
            "classifier_accuracy": result.get("classifier_accuracy"), "reference": protocol["reference"],
            "eval_seconds": time.perf_counter() - t_eval, "n_real": protocol["n_real"],
            "n_fake": protocol["n_fake"], "batch_size": cfg.batch_size, "n_critic": d.repeats}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data-root", required=True, help="folder with the MNIST IDX(.gz) files")
    ap.add_argument("--models", default="dcgan,wgan-gp,lsgan")
    ap.add_argument("--devices", default="cpu,cuda", help="cuda is skipped when no GPU is present")
    ap.add_argument("--cpu-variants", default="fp32")
    ap.add_argument("--cuda-variants", default="fp32,bf16,cl,compile,bf16+cl+compile")
    ap.add_argument("--steps", type=int, default=200, help="timed generator steps per configuration")
    ap.add_argument("--warmup", type=int, default=5, help="untimed steps first (compile, allocator)")
    ap.add_argument("--eval-samples", type=int, default=2000, help="generated and real images for FID/KID")
    ap.add_argument("--classifier-images", type=int, default=10000)
    ap.add_argument("--classifier-epochs", type=int, default=3)
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                    help="recipe config override for every model (e.g. batch_size=64, g_width=32)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", type=Path, help="also write all results to this JSON file")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args()

    if args.child:
        print("RESULT " + json.dumps(child(json.loads(args.child))), flush=True)
        return

    import torch

    overrides = dict(item.split("=", 1) for item in args.set)
    devices = [d for d in args.devices.split(",") if d]
    if "cuda" in devices and not torch.cuda.is_available():
        print("# no CUDA device: CUDA configurations skipped")
        devices.remove("cuda")
    print(f"# torch {torch.__version__}, {os.cpu_count()} CPU cores, load average "
          f"{os.getloadavg()[0]:.1f}; {torch.get_num_threads()} torch threads"
          + (f"; {torch.cuda.get_device_name()}" if "cuda" in devices else ""))
    print(f"# {args.steps} timed steps after {args.warmup} warm-up steps; overrides: {overrides or 'none'}")
    header = (f"{'device':6} {'model':8} {'variant':16} {'batch':>5} {'img/s':>9} {'speedup':>7} "
              f"{'peak MiB':>9} {'FID':>9} {'KID':>9} {'train s':>8}")
    print(header)
    results = []
    env = dict(os.environ)
    for device in devices:
        variants = (args.cuda_variants if device == "cuda" else args.cpu_variants).split(",")
        for model in args.models.split(","):
            baseline = None
            for variant in variants:
                spec = {"device": device, "model": model, "variant": variant, "steps": args.steps,
                        "warmup": args.warmup, "eval_samples": args.eval_samples,
                        "classifier_images": args.classifier_images,
                        "classifier_epochs": args.classifier_epochs, "data_root": args.data_root,
                        "overrides": overrides, "seed": args.seed}
                proc = subprocess.run([sys.executable, __file__, "--data-root", args.data_root,
                                       "--child", json.dumps(spec)], capture_output=True, text=True, env=env)
                line = next((ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")), None)
                if proc.returncode or line is None:
                    err = (proc.stderr.strip().splitlines() or ["?"])[-1]
                    print(f"{device:6} {model:8} {variant:16} failed: {err}")
                    continue
                r = json.loads(line[7:])
                baseline = r["images_per_s"] if variant == "fp32" else baseline
                r["speedup"] = r["images_per_s"] / baseline if baseline else None
                results.append(r)
                speed = f"{r['speedup']:.2f}x" if r["speedup"] else "-"
                print(f"{device:6} {model:8} {variant:16} {r['batch_size']:>5} {r['images_per_s']:>9.1f} "
                      f"{speed:>7} {r['peak_mib']:>9.0f} {r['fid']:>9.2f} {r['kid']:>9.4g} "
                      f"{r['seconds']:>8.1f}", flush=True)
    if results:
        r = results[0]
        floor = f"{r['fid_real_floor']:.2f}" if r.get("fid_real_floor") is not None else "n/a"
        print(f"# FID/KID: domain-classifier features (unnormalised, so KID is on their scale, not "
              f"Inception's; held-out accuracy {r['classifier_accuracy']:.4f}), "
              f"{r['n_fake']} generated vs {r['n_real']} images of the {r['reference']}; as many MNIST "
              f"training images score FID {floor} against the same reference (the floor at this sample "
              f"size)")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()

"""Throughput and peak memory of pix2pix, CycleGAN and StarGAN at 256×256.

For every model it measures

* ``infer`` — the generator alone (what ``gan translate`` runs), images per second;
* ``train`` — one full trainer step with the paper networks (every phase: D and G), images per
  second = batch / step time (StarGAN with ``n_critic=1`` so every step holds both phases;
  CycleGAN's step consumes one A and one B image per batch item and counts them as one),

under a baseline and the switchable variants ``channels_last``, ``bf16`` (autocast) and
``compile`` (``torch.compile``), each alone or combined with ``+`` (``bf16+channels_last``).
Speed-ups are ratios to the baseline measured in the same invocation. Each measurement runs in its
own subprocess, so peak memory is per configuration: ``torch.cuda.max_memory_allocated`` on CUDA,
the peak resident set size above the process's size just before the model was built on CPU.

Examples::

    python benchmarks/translation_speed.py --device cpu --iters 3 --warmup 1
    python benchmarks/translation_speed.py --device cuda --variants base,channels_last,bf16,compile,bf16+channels_last+compile
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
MODELS = ("pix2pix", "cyclegan", "stargan")
OPTIONS = ("channels_last", "bf16", "compile")


def _rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def _build(model: str, size: int, batch: int, device: str, opts: set[str]):
    from gan.config import RunConfig, apply_mapping, resolve_config
    from gan_translation.cyclegan import CycleGAN
    from gan_translation.pix2pix import Pix2Pix
    from gan_translation.stargan import StarGAN
    cls = {"pix2pix": Pix2Pix, "cyclegan": CycleGAN, "stargan": StarGAN}[model]
    run = RunConfig(seed=0, device=device, amp="bf16" if "bf16" in opts else "off",
                    compile="compile" in opts, channels_last="channels_last" in opts,
                    progress=False, tensorboard=False)
    cfg = resolve_config(cls.Config, run, presets=cls.presets, preset="paper")
    values = {"data.image_size": size, "data.load_size": size, "batch_size": batch,
              "data.embedded_size": max(8, batch)}
    if model == "stargan":
        values.update({"n_critic": 1, "data.center_crop": 0})
    apply_mapping(cfg, values)
    return cls(cfg, device=device, data=None, run=run), run


def worker(spec: dict) -> dict:
    """One measurement (runs in a fresh process)."""
    import torch
    torch.manual_seed(0)
    device, opts = spec["device"], set(spec["variant"].split("+")) - {"base"}
    if device == "cpu" and spec.get("threads"):
        torch.set_num_threads(spec["threads"])
    cuda = device.startswith("cuda")
    rss0 = _rss_mb()
    recipe, run = _build(spec["model"], spec["size"], spec["batch"], device, opts)
    if cuda:
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    if spec["mode"] == "infer":
        g = recipe.models["G_AB" if spec["model"] == "cyclegan" else "G"].eval()
        x = torch.rand(spec["batch"], g_in_channels(recipe), spec["size"], spec["size"], device=device) * 2 - 1
        cond = ()
        if spec["model"] == "stargan":
            cond = (torch.eye(recipe.labels.dim, device=device)[torch.arange(spec["batch"]) % recipe.labels.dim],)
        if "channels_last" in opts:
            g = g.to(memory_format=torch.channels_last)
            x = x.contiguous(memory_format=torch.channels_last)
        fn = torch.compile(g) if "compile" in opts else g
        amp = torch.autocast(device.split(":")[0], dtype=torch.bfloat16, enabled="bf16" in opts)

        def step() -> None:
            with torch.no_grad(), amp:
                fn(x, *cond)
    else:
        if "channels_last" in opts and not cuda:  # the trainer applies it on CUDA only
            for m in recipe.models.values():
                m.to(memory_format=torch.channels_last)
        from gan.trainer import AdversarialTrainer
        trainer = AdversarialTrainer(recipe, run)
        stage = recipe.stages()[0]
        phases = recipe.phases(stage)

        def step() -> None:
            trainer.train_step(stage, phases)

    t0 = time.perf_counter()
    for _ in range(spec["warmup"]):
        step()
    if cuda:
        torch.cuda.synchronize()
    warm_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    for _ in range(spec["iters"]):
        step()
    if cuda:
        torch.cuda.synchronize()
    elapsed = time.perf_counter() - t0
    if cuda:
        peak = torch.cuda.max_memory_allocated() / 2**20
    else:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 - rss0
    return {**spec, "images_per_s": spec["batch"] * spec["iters"] / elapsed,
            "ms_per_iter": 1000 * elapsed / spec["iters"], "peak_mb": peak, "warmup_s": warm_s,
            "torch": torch.__version__,
            "device_name": torch.cuda.get_device_name() if cuda else f"cpu x{torch.get_num_threads()}"}


def g_in_channels(recipe) -> int:
    return recipe.input_channels(direction="AtoB")


def run_one(spec: dict, timeout: float) -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "core"), str(ROOT / "plugins"), env.get("PYTHONPATH", "")])
    proc = subprocess.run([sys.executable, __file__, "--worker", json.dumps(spec)], env=env,
                          capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        tail = (proc.stderr.strip().splitlines() or ["?"])[-1]
        return {**spec, "error": tail}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--models", default=",".join(MODELS), help="comma-separated subset of pix2pix,cyclegan,stargan")
    p.add_argument("--modes", default="infer,train", help="infer, train or both (comma-separated)")
    p.add_argument("--device", default="auto", help="auto (CUDA when present, else CPU), cpu, cuda, cuda:N")
    p.add_argument("--variants", default=None,
                   help="comma-separated: base and options joined with '+' (channels_last, bf16, compile); "
                        "default CPU: base,channels_last; CUDA: base,channels_last,bf16,compile,"
                        "bf16+channels_last,bf16+channels_last+compile")
    p.add_argument("--size", type=int, default=256, help="image side (default 256)")
    p.add_argument("--batch", type=int, default=1, help="images per iteration (papers: 1 for pix2pix/CycleGAN)")
    p.add_argument("--iters", type=int, default=None, help="timed iterations (default CPU 3, CUDA 30)")
    p.add_argument("--warmup", type=int, default=None, help="untimed iterations first (default CPU 1, CUDA 5)")
    p.add_argument("--threads", type=int, default=0, help="CPU threads (0 = torch default)")
    p.add_argument("--timeout", type=float, default=1800, help="seconds allowed per measurement")
    p.add_argument("--json", action="store_true", help="print one JSON object per measurement too")
    p.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.worker:
        print(json.dumps(worker(json.loads(args.worker))))
        return 0

    import torch
    device = args.device
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    cuda = device.startswith("cuda")
    if cuda and not torch.cuda.is_available():
        p.error("--device cuda: CUDA is not available")
    variants = (args.variants or ("base,channels_last,bf16,compile,bf16+channels_last,bf16+channels_last+compile"
                                  if cuda else "base,channels_last")).split(",")
    if "base" not in variants:
        variants.insert(0, "base")
    for v in variants:
        bad = set(v.split("+")) - {"base", *OPTIONS}
        if bad:
            p.error(f"--variants: unknown option(s) {sorted(bad)}; use base and {', '.join(OPTIONS)}")
    iters = args.iters or (30 if cuda else 3)
    warmup = args.warmup if args.warmup is not None else (5 if cuda else 1)
    models = [m for m in args.models.split(",") if m]
    modes = [m for m in args.modes.split(",") if m]
    for m in models:
        if m not in MODELS:
            p.error(f"--models: unknown model {m!r}; choose from {', '.join(MODELS)}")

    print(f"# translation_speed: {args.size}x{args.size}, batch {args.batch}, {iters} timed iterations "
          f"after {warmup} warm-up, device {device}, torch {torch.__version__}")
    print(f"{'model':<9} {'mode':<6} {'variant':<28} {'img/s':>9} {'ms/iter':>10} {'peak MB':>9} {'speed-up':>9}")
    results = []
    for model in models:
        for mode in modes:
            base = None
            for variant in variants:
                spec = {"model": model, "mode": mode, "variant": variant, "device": device, "size": args.size,
                        "batch": args.batch, "iters": iters, "warmup": warmup, "threads": args.threads}
                r = run_one(spec, args.timeout)
                results.append(r)
                if "error" in r:
                    print(f"{model:<9} {mode:<6} {variant:<28} failed: {r['error']}")
                    continue
                if variant == "base":
                    base = r["images_per_s"]
                ratio = f"{r['images_per_s'] / base:.2f}x" if base else "-"
                print(f"{model:<9} {mode:<6} {variant:<28} {r['images_per_s']:>9.3f} {r['ms_per_iter']:>10.1f} "
                      f"{r['peak_mb']:>9.0f} {ratio:>9}", flush=True)
                if args.json:
                    print(json.dumps(r), flush=True)
    if results and "device_name" in results[0]:
        print(f"# device: {results[0]['device_name']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

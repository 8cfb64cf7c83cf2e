"""Stabilisers on the toy mixtures: modes covered and high-quality samples, per option and seed.

For the 8-Gaussian ring and the 5×5 grid, trains the toy MLP GAN (non-saturating loss) with each
stabiliser of :mod:`gan.stabilisers` switched on alone, plus the plain run and WGAN-GP, over several
seeds, and records the toy evaluation (modes covered: a mode gets at least a fifth of its fair share
of the high-quality samples; high quality: within 3σ of a mode; 2000 samples). CPU, one thread.

Rows are appended to the JSON file as each run finishes (so a long run can be watched and resumed:
rows already present are skipped); the summary table is printed at the end::

    nohup python benchmarks/stabilisers.py --out benchmarks/results/stabilisers.json &
    python benchmarks/stabilisers.py --out ... --summary   # table from the rows so far

Every option is run inside a named *setup* (network, optimiser, batch, loss): ``metz2017`` is the
2-D mixture experiment of Metz et al. 2017 (Unrolled GANs, appendix A), the default for the ring;
``framework`` is the toy plugin's own default config, the default for the grid. ``--setup`` picks
one for every target.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import torch  # noqa: E402
from gan_toy.toy import ToyGAN  # noqa: E402

#: option name → (stabiliser settings, other ToyConfig settings)
OPTIONS: dict[str, tuple[dict, dict]] = {
    "vanilla": ({}, {}),
    "label-smoothing-0.9": ({"real_label": 0.9}, {}),
    "soft-labels": ({"soft_labels": True}, {}),
    "label-flip-0.05": ({"label_flip": 0.05}, {}),
    "instance-noise-0.1": ({"instance_noise": 0.1}, {}),
    "minibatch-discrimination": ({"minibatch_discrimination": 100}, {}),
    "minibatch-stddev": ({"minibatch_stddev": True}, {}),
    "feature-matching": ({"feature_matching": True}, {}),
    "unrolled-5": ({"unrolled_steps": 5}, {}),
    "r1-1.0": ({"r1_gamma": 1.0}, {}),
    "ttur-d4": ({"d_lr_scale": 4.0}, {}),
    "pack-2": ({"pack": 2}, {}),
    "pack-4": ({"pack": 4}, {}),
    "wgan-gp": ({}, {"loss": "wasserstein", "gp_weight": 0.1, "d_steps": 5, "beta1": 0.0, "beta2": 0.9,
                     "lr": 1e-4}),
}
TARGETS = ("ring-8", "grid-25")

#: setup name -> (ToyConfig settings, generator steps by default)
SETUPS: dict[str, tuple[dict, int]] = {
    # Metz et al. 2017, appendix A (the toy plugin's preset of that name); their figure 1 runs to 25k steps
    "metz2017": (ToyGAN.presets["metz2017"], 20000),
    # the toy plugin's defaults: G 2×128 ReLU, D 2×128 LeakyReLU, z 8, Adam 1e-3 β1 0.5, batch 256
    "framework": ({}, 2000),
}
DEFAULT_SETUP = {"ring-8": "metz2017", "grid-25": "framework"}
#: generator steps when neither --steps nor --setup is given: the grid needs about 20x the ring's
#: framework budget before any sample lands within 3σ (at 2,000 steps every option covers 0-2 modes)
DEFAULT_STEPS = {"grid-25": 40000}


def run_one(target: str, option: str, seed: int, steps: int, overrides: dict, setup: str = "framework") -> dict:
    from gan.config import RunConfig, apply_mapping
    from gan.stabilisers import StabiliserConfig
    from gan.trainer import AdversarialTrainer
    from gan_toy.toy import DISTRIBUTIONS, ToyConfig, ToyGAN

    stab, other = OPTIONS[option]
    cfg = ToyConfig(steps=steps, plot=False)
    cfg.eval.samples = 2000
    apply_mapping(cfg, {**SETUPS[setup][0], **other, **overrides})
    cfg.stabilise = StabiliserConfig(**stab)
    run = RunConfig(seed=seed, progress=False, eval_at_start=False, log_every=100, ckpt_every=0,
                    on_alarm="warn")
    recipe = ToyGAN(cfg, "cpu", DISTRIBUTIONS[target](), run=run)
    trainer = AdversarialTrainer(recipe, run)
    t0, c0 = time.perf_counter(), time.process_time()
    res = trainer.fit()
    if trainer.status != "completed":
        raise SystemExit(f"{target} {option} seed {seed}: run {trainer.status} at step {trainer.step}; no row")
    return {"target": target, "setup": setup, "option": option, "seed": seed, "steps": steps,
            "modes_covered": int(res["eval/modes_covered"]), "modes_total": int(res["eval/modes_total"]),
            "high_quality": round(res["eval/high_quality"], 4), "wasserstein": round(res["eval/wasserstein"], 4),
            "alarms": sorted({a["alarm"] for a in trainer.health.alarms}) if trainer.health else [],
            "cpu_s": round(time.process_time() - c0, 1), "wall_s": round(time.perf_counter() - t0, 1),
            "settings": {**stab, **other, **overrides}}


def summary(rows: list[dict]) -> str:
    lines = ["| target | setup, steps | option | modes covered (per seed) | all modes | mean high-quality | CPU s/run |",
             "|---|---|---|---|---|---|---|"]
    seen: dict[tuple, list[dict]] = {}
    for r in rows:
        seen.setdefault((r["target"], r.get("setup", "framework"), r["steps"], r["option"]), []).append(r)
    for (target, setup, steps, option), rs in seen.items():
        rs.sort(key=lambda r: r["seed"])
        total = rs[0]["modes_total"]
        covered = ", ".join(str(r["modes_covered"]) for r in rs)
        full = sum(r["modes_covered"] == total for r in rs)
        hq = sum(r["high_quality"] for r in rs) / len(rs)
        cpu = sum(r["cpu_s"] for r in rs) / len(rs)
        lines.append(f"| {target} | {setup}, {steps} | {option} | {covered} (of {total}) | {full}/{len(rs)} | {hq:.1%} "
                     f"| {cpu:.0f} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=Path("benchmarks/results/stabilisers.json"))
    ap.add_argument("--targets", default=",".join(TARGETS))
    ap.add_argument("--options", default=",".join(OPTIONS))
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--setup", choices=list(SETUPS), default=None,
                    help="network/optimiser setup for every target (default: " +
                         ", ".join(f"{t} {s}" for t, s in DEFAULT_SETUP.items()) + ")")
    ap.add_argument("--steps", type=int, default=None,
                    help="generator updates per run (default: the setup's: " +
                         ", ".join(f"{k} {v[1]}" for k, v in SETUPS.items()) + "; grid-25 in its default setup: "
                         + str(DEFAULT_STEPS["grid-25"]) + ")")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                    help="ToyConfig override for every run (e.g. batch_size=128)")
    ap.add_argument("--summary", action="store_true", help="print the table of the rows so far and exit")
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    rows = json.loads(args.out.read_text())["rows"] if args.out.is_file() else []
    if args.summary:
        print(summary(rows))
        return 0
    overrides = dict(kv.split("=", 1) for kv in args.set)
    for name in args.options.split(","):
        if name not in OPTIONS:
            print(f"--options: unknown {name!r}; choose from {', '.join(OPTIONS)}", file=sys.stderr)
            return 2
    done = {(r["target"], r.get("setup", "framework"), r["option"], r["seed"], r["steps"]) for r in rows}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    for target in args.targets.split(","):
        if target not in TARGETS:
            print(f"--targets: unknown {target!r}; choose from {', '.join(TARGETS)}", file=sys.stderr)
            return 2
    for target in args.targets.split(","):
        setup = args.setup or DEFAULT_SETUP[target]
        if args.steps:
            steps = args.steps
        elif args.setup is None and target in DEFAULT_STEPS:
            steps = DEFAULT_STEPS[target]
        else:
            steps = SETUPS[setup][1]
        for option in args.options.split(","):
            for seed in range(args.seeds):
                if (target, setup, option, seed, steps) in done:
                    continue
                row = run_one(target, option, seed, steps, overrides, setup)
                rows.append(row)
                tmp = args.out.with_suffix(".tmp")
                tmp.write_text(json.dumps({"protocol": {
                    "model": "toy-gan MLP; setups (ToyConfig settings): " + json.dumps(
                        {k: v[0] for k, v in SETUPS.items()}) + "; rows without a setup are 'framework'",
                    "eval": "2000 samples; high quality = within 3σ of a mode; covered = ≥ 20 % of a fair "
                            "share of high-quality samples", "torch": torch.__version__, "threads": 1},
                    "rows": rows}, indent=1) + "\n")
                os.replace(tmp, args.out)
                print(json.dumps({k: row[k] for k in ("target", "setup", "option", "seed", "modes_covered",
                                                         "high_quality", "cpu_s")}), flush=True)
    print(summary(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Soak test: a long toy run with the resident set size (RSS) sampled at intervals.

Runs ``toy-gan`` exactly as ``gan run`` does (plugin manager, recipe, trainer, run directory with
metrics, checkpoints, evaluations and samples) for ``--steps`` steps and samples the process RSS
(``/proc/self/statm``) and the number of live Python objects every ``--interval`` steps. Growth is
measured from the sample at ``--warmup`` steps (allocator pools, lazy imports and caches settle in
the first steps) to the last sample, and as a least-squares slope over the samples after warm-up.
At the end every line of ``metrics.jsonl`` must parse and the newest checkpoint must load.

Prints a table and a summary; exits 1 when the growth exceeds ``--bound-mib`` (or the run
directory is inconsistent), so tests can run it::

    python benchmarks/soak.py                       # 20 000 steps, bound 8 MiB after step 3000
    python benchmarks/soak.py --steps 1500 --interval 150 --warmup 600 --eval-every 300 --json
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path


def rss_bytes() -> int:
    """Current resident set size (Linux); peak RSS elsewhere."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):  # pragma: no cover - non-Linux
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return peak if sys.platform == "darwin" else peak * 1024


def slope(points: list[tuple[int, float]]) -> float:
    """Least-squares slope of ``(x, y)`` points (0 for fewer than two)."""
    if len(points) < 2:
        return 0.0
    n = len(points)
    mx = sum(x for x, _ in points) / n
    my = sum(y for _, y in points) / n
    sxx = sum((x - mx) ** 2 for x, _ in points)
    return sum((x - mx) * (y - my) for x, y in points) / sxx if sxx else 0.0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=20_000)
    ap.add_argument("--interval", type=int, default=1000, help="steps between RSS samples")
    ap.add_argument("--warmup", type=int, default=3000, help="growth is measured from this step")
    ap.add_argument("--bound-mib", type=float, default=8.0, help="allowed RSS growth after warm-up")
    ap.add_argument("--run-dir", type=Path, default=None, help="default: a temporary directory")
    ap.add_argument("--log-every", type=int, default=50)
    ap.add_argument("--ckpt-every", type=int, default=500)
    ap.add_argument("--eval-every", type=int, default=1000)
    ap.add_argument("--sample-every", type=int, default=1000)
    ap.add_argument("--tensorboard", action="store_true", help="also write TensorBoard events")
    ap.add_argument("--json", action="store_true", help="print one JSON summary line at the end")
    args = ap.parse_args(argv)
    if args.interval % args.log_every or args.warmup % args.interval:
        ap.error("--interval must be a multiple of --log-every and --warmup of --interval")

    import torch

    import gan
    from gan.checkpoint import CheckpointManager
    from gan.config import RunConfig
    from gan.plugins import GanPluginManager, set_default_manager
    from gan.runs import build_recipe, make_trainer

    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
    samples: list[dict] = []
    t0 = time.perf_counter()

    class RssProbe:
        """A lifecycle plugin: the trainer calls it at every log step."""

        @gan.hookimpl
        def gan_on_step_end(self, trainer, step, logs):
            if step % args.interval == 0:
                gc.collect()
                samples.append({"step": step, "rss_mib": rss_bytes() / 2**20,
                                "objects": len(gc.get_objects()),
                                "seconds": time.perf_counter() - t0})

    pm = GanPluginManager(entry_points=False).load()
    pm.pm.register(RssProbe(), name="rss-probe")
    set_default_manager(pm)
    tmp = None
    run_dir = args.run_dir
    if run_dir is None:
        tmp = tempfile.TemporaryDirectory(prefix="ganforge-soak-")
        run_dir = Path(tmp.name) / "run"
    run = RunConfig(device="cpu", progress=False, tensorboard=args.tensorboard, log_every=args.log_every,
                    ckpt_every=args.ckpt_every, eval_every=args.eval_every, sample_every=args.sample_every)
    built = build_recipe("toy-gan", pm=pm, preset="tiny", run=run,
                         assignments=[("steps", str(args.steps)), ("plot", "true")])
    rss_start = rss_bytes() / 2**20
    trainer = make_trainer(built, run_dir, pm=pm)
    trainer.fit()
    elapsed = time.perf_counter() - t0

    ok = True
    lines = (run_dir / "metrics.jsonl").read_text(encoding="utf-8").splitlines()
    try:
        for line in lines:
            json.loads(line)
    except json.JSONDecodeError as e:
        print(f"metrics.jsonl: invalid line ({e})")
        ok = False
    latest = CheckpointManager(run_dir / "checkpoints").latest("toy-gan")
    if latest is None or latest[1]["step"] != args.steps:
        print("checkpoints: the final checkpoint is missing or unreadable")
        ok = False

    print(f"{'step':>8} {'RSS MiB':>9} {'objects':>9} {'s':>8}")
    for s in samples:
        print(f"{s['step']:>8} {s['rss_mib']:>9.1f} {s['objects']:>9} {s['seconds']:>8.1f}")
    after = [s for s in samples if s["step"] >= args.warmup]
    if not after:
        print("not enough samples after warm-up (raise --steps or lower --warmup)")
        return 1
    base, last = after[0], samples[-1]
    growth = last["rss_mib"] - base["rss_mib"]
    per_1k = slope([(s["step"], s["rss_mib"]) for s in after]) * 1000
    obj_growth = last["objects"] - base["objects"]
    summary = {"steps": args.steps, "seconds": round(elapsed, 1),
               "steps_per_s": round(args.steps / elapsed, 1), "rss_start_mib": round(rss_start, 1),
               "rss_at_warmup_mib": round(base["rss_mib"], 1), "rss_end_mib": round(last["rss_mib"], 1),
               "rss_growth_mib": round(growth, 2), "rss_slope_mib_per_1k_steps": round(per_1k, 3),
               "object_growth": obj_growth, "metrics_lines": len(lines), "bound_mib": args.bound_mib,
               "within_bound": growth <= args.bound_mib, "run_dir_ok": ok}
    print(f"RSS {base['rss_mib']:.1f} MiB at step {base['step']} -> {last['rss_mib']:.1f} MiB at step "
          f"{last['step']}: growth {growth:+.2f} MiB (bound {args.bound_mib} MiB), slope "
          f"{per_1k:+.3f} MiB per 1000 steps, {obj_growth:+d} Python objects; "
          f"{args.steps / elapsed:.0f} steps/s; {len(lines)} metrics lines valid: {ok}")
    if args.json:
        print(json.dumps(summary, sort_keys=True))
    if tmp is not None:
        tmp.cleanup()
    return 0 if ok and growth <= args.bound_mib else 1


if __name__ == "__main__":
    sys.exit(main())

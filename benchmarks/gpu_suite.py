"""One prepared GPU check that fits a short GPU loan: every CUDA path, SeqGAN rollouts, the paper protocol.

A GPU is typically lent for a short, fixed window, so this script runs unattended and brings every
figure back even when it is cut short: each stage runs in its own process group with its own time
allowance, writes ``stageN.json`` (rewritten after every measurement, so a stage cut short still
returns what it finished) into ``$OUT`` when that variable is set, else ``--out``, and the script
ends with a summary table (``summary.json`` beside the stage files).

    # on the GPU machine (copy ../shared/data/seqgan_oracle into the checkout first: it does not travel)
    python benchmarks/gpu_suite.py --budget-s 480 --oracle-dir gpu_data/seqgan_oracle
    # everywhere else: every stage at tiny sizes on the CPU (a test runs this in CI)
    python benchmarks/gpu_suite.py --dry-run --out /tmp/suite

Stages (their caps are scaled down when ``--budget-s`` is smaller than their sum; time a stage does
not use passes to the later ones):

1. environment (90 s): GPU name, torch/CUDA/cuDNN/NCCL versions; ``pytest -m gpu``; toy and dcgan
   runs through ``gan run`` in fp32, bf16 and fp16 (GradScaler); a 1-process NCCL DDP run (torchrun).
2. rollouts (120 s): SeqGAN rewards at the paper's sizes (batch 64, N 16, T 20, V 5,000, the
   paper's discriminator): the per-prefix loop vs batched, with and without a CUDA graph of the
   T−1 sampling steps and a bf16 discriminator, FLOPs and fractions of the fp32/bf16 matmul rates
   (``benchmarks/seqgan_rollout.py``). Target: ≥ 20× the loop.
3. oracle (300 s): the paper protocol on the authors' oracle (``--oracle-dir``), bf16, with CUDA
   graphs when stage 2 showed they work; NLL-oracle after MLE and after SeqGAN with wall times
   (``benchmarks/seqgan_oracle.py``); cut at the allowance, the curve so far and its rate are kept.
   Target: ≤ 8.736 (the paper's figure).
4. speed (120 s): DCGAN 32×32 batch 64 it/s in fp32, bf16, channels_last, torch.compile;
   CycleGAN 256×256 batch 1 train it/s; evaluation feature extraction images/s (the framework's
   domain classifier, and an Inception-v3 forward at 299 px, randomly initialised: speed only).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PY = sys.executable
STAGES = {1: ("environment", 90.0), 2: ("rollouts", 120.0), 3: ("oracle", 300.0), 4: ("speed", 120.0)}
PAPER_NLL_SEQGAN = 8.736


# --- plumbing ---------------------------------------------------------------------------------------
class Recorder:
    """A stage's results, rewritten atomically to its JSON file after every measurement."""

    def __init__(self, path: Path, stage: int, name: str, allowance: float) -> None:
        self.path, self.start = path, time.monotonic()
        self.data: dict = {"stage": stage, "name": name, "allowance_s": allowance, "status": "running",
                           "results": {}}
        self.deadline = self.start + allowance
        self.flush()

    def left(self) -> float:
        return self.deadline - time.monotonic()

    def add(self, key: str, value) -> None:
        self.data["results"][key] = value
        self.flush()

    def flush(self) -> None:
        self.data["elapsed_s"] = round(time.monotonic() - self.start, 2)
        tmp = self.path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(self.data, indent=2, default=str))
        os.replace(tmp, self.path)


def env_for_children() -> dict:
    env = dict(os.environ)
    paths = [str(ROOT / "core"), str(ROOT / "plugins")]
    env["PYTHONPATH"] = os.pathsep.join(paths + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p])
    env.setdefault("PYTHONUNBUFFERED", "1")
    return env


def run_cmd(cmd: list[str], timeout: float, cwd: Path = ROOT) -> dict:
    """Run ``cmd`` in its own process group; on timeout the whole group is killed."""
    t = time.monotonic()
    if timeout <= 1:
        return {"cmd": " ".join(cmd), "status": "skipped", "why": "no time left in this stage"}
    proc = subprocess.Popen(cmd, cwd=cwd, env=env_for_children(), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        out, _ = proc.communicate(timeout=timeout)
        status = "ok" if proc.returncode == 0 else "failed"
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, _ = proc.communicate()
        status = "timed out"
    lines = (out or "").strip().splitlines()
    return {"cmd": " ".join(cmd), "status": status, "rc": proc.returncode,
            "wall_s": round(time.monotonic() - t, 2), "tail": lines[-12:]}


def read_json(path: Path):
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


# --- stage 1: environment, CUDA test suite, AMP runs, DDP --------------------------------------------
def env_info(device: str) -> dict:
    import torch
    info = {"torch": torch.__version__, "cuda": torch.version.cuda, "device": device,
            "python": sys.version.split()[0]}
    if device == "cuda":
        p = torch.cuda.get_device_properties(0)
        info.update(gpu=torch.cuda.get_device_name(0), capability=f"{p.major}.{p.minor}",
                    memory_gib=round(p.total_memory / 2**30, 1), sm_count=p.multi_processor_count,
                    bf16=torch.cuda.is_bf16_supported(), cudnn=torch.backends.cudnn.version(),
                    nccl=".".join(map(str, torch.cuda.nccl.version())), gpus=torch.cuda.device_count())
    return info


def last_losses(run_dir: Path) -> dict:
    """The last metrics.jsonl record holding losses (what a run ended on)."""
    try:
        lines = (run_dir / "metrics.jsonl").read_text().splitlines()
    except OSError:
        return {}
    for line in reversed(lines):
        try:
            rec = json.loads(line)
        except ValueError:
            continue
        losses = {k: v for k, v in rec.items() if "loss" in k and isinstance(v, (int, float))}
        if losses:
            return {"step": rec.get("step"), **losses}
    return {}


def stage_environment(rec: Recorder, a: argparse.Namespace, work: Path) -> None:
    rec.add("env", env_info(a.device))
    if a.dry_run:  # collect one file's gpu tests only: they skip without CUDA, and collecting all is slow
        cmd = [PY, "-m", "pytest", "-m", "gpu", "-q", "--collect-only", "-p", "no:cacheprovider",
               "plugins/gan_seqgan/tests/test_rollout.py"]
    else:
        cmd = [PY, "-m", "pytest", "-m", "gpu", "-q", "-p", "no:cacheprovider", "-x"]
    r = run_cmd(cmd, rec.left() * 0.4)
    rec.add("pytest_gpu", r)
    steps = "4" if a.dry_run else "100"
    # on a CPU, bf16/fp16 autocast of the image model adds nothing the toy runs don't check
    runs = [(p, amp) for p in ("toy-gan", "dcgan") for amp in ("off", "bf16", "fp16")
            if not (a.dry_run and p == "dcgan" and amp != "off")]
    for i, (plugin, amp) in enumerate(runs):
        rd = work / f"run-{plugin}-{amp}"
        r = run_cmd([PY, "-m", "gan", "run", "--plugin", plugin, "--preset", "tiny", "--device", a.device,
                     "--max-steps", steps, "--run-dir", str(rd), "--set", f"run.amp={amp}",
                     "--set", "run.progress=false"], rec.left() / (len(runs) - i + 1))
        r["last_losses"] = last_losses(rd)
        rec.add(f"run/{plugin}/{amp}", r)
    rd = work / "run-ddp"
    r = run_cmd([PY, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node=1", "-m", "gan", "run",
                 "--plugin", "dcgan", "--preset", "tiny", "--device", a.device, "--max-steps", steps,
                 "--run-dir", str(rd), "--set", "run.progress=false"], rec.left())
    r["backend"] = "nccl" if a.device == "cuda" else "gloo"
    r["replicas"] = read_json(rd / "replicas.json")
    rec.add("ddp_1_process", r)


# --- stage 2: rollout rewards ------------------------------------------------------------------------
def stage_rollouts(rec: Recorder, a: argparse.Namespace, work: Path) -> None:
    script = str(ROOT / "benchmarks" / "seqgan_rollout.py")
    sizes = (["--batch", "4", "--rollouts", "2", "--seq-len", "6", "--vocab", "50", "--matmul-n", "128"]
             if a.dry_run
             else ["--reps", "3"])
    variants = {"loop_and_batched": [], "batched_bf16_d": ["--skip-loop", "--d-dtype", "bf16"],
                "batched_cuda_graphs": ["--skip-loop", "--cuda-graphs"],
                "batched_cuda_graphs_bf16_d": ["--skip-loop", "--cuda-graphs", "--d-dtype", "bf16"]}
    loop_s = None
    for name, extra in variants.items():
        if "--cuda-graphs" in extra and a.device != "cuda":
            rec.add(name, {"status": "skipped", "why": "CUDA graphs need a GPU"})
            continue
        if "bf16" in extra and a.device != "cuda":
            extra = ["--skip-loop"]  # autocast bf16 on a CPU without native bf16 says nothing
        out = work / f"rollout-{name}.json"
        r = run_cmd([PY, script, "--device", a.device, *sizes, *extra, "--json", str(out)],
                    min(rec.left(), 150))
        figures = read_json(out) or {}
        res = figures.get("results", {})
        if "loop" in res:
            loop_s = res["loop"]["seconds"]
        if loop_s and "batched" in res:
            r["speedup_over_loop"] = round(loop_s / res["batched"]["seconds"], 2)
        r["results"] = res
        r["flops"] = figures.get("flops")
        rec.add(name, r)


# --- stage 3: the paper protocol on the authors' oracle -----------------------------------------------
def stage_oracle(rec: Recorder, a: argparse.Namespace, work: Path) -> None:
    script = str(ROOT / "benchmarks" / "seqgan_oracle.py")
    out = work / "oracle.json"
    cmd = [PY, script, "--device", a.device, "--json", str(out)]
    if a.dry_run:
        cmd += ["--protocol", "tiny"]
    else:
        cmd += ["--protocol", "paper", "--amp", "bf16"]
        graphs = read_json(Path(a.out_dir) / "stage2.json") or {}
        ok = graphs.get("results", {}).get("batched_cuda_graphs", {}).get("status") == "ok"
        if ok:
            cmd.append("--cuda-graphs")
        rec.data["cuda_graphs"] = ok
    if a.oracle_dir:
        cmd += ["--oracle-dir", str(a.oracle_dir)]
    r = run_cmd(cmd, rec.left() - 3)
    report = read_json(out) or {}
    curve = report.get("curve", [])
    r["curve"] = curve
    mle = [e for e in curve if str(e.get("at", "")).startswith("MLE")]
    adv = [e for e in curve if str(e.get("at", "")).startswith("adversarial")]
    if mle:
        r["nll_oracle_after_mle"] = mle[-1]["nll_oracle"]
    if adv:
        r["nll_oracle_after_seqgan"] = adv[-1]["nll_oracle"]
        r["rounds_done"] = adv[-1]["at"]
        if not a.dry_run:  # the paper's figure means something only on the authors' oracle
            r["target_met"] = adv[-1]["nll_oracle"] <= PAPER_NLL_SEQGAN
    if len(curve) >= 2:
        span = curve[-1]["wall_s"] - curve[0]["wall_s"]
        r["evaluations_per_minute"] = round(60 * (len(curve) - 1) / span, 2) if span > 0 else None
    r["oracle_check_nll"] = report.get("nll_real_data_under_oracle")
    rec.add("paper_protocol" if not a.dry_run else "tiny_protocol", r)


# --- stage 4: image speed, translation speed, evaluation features -------------------------------------
def dcgan_worker(spec: dict) -> dict:
    """it/s of DCGAN training steps at one variant (runs in a fresh process, so compile is isolated)."""
    import torch

    from gan.config import RunConfig
    from gan.runs import build_recipe, make_trainer

    opts = set(spec["variant"].split("+"))
    run = RunConfig(seed=0, device=spec["device"], amp="bf16" if "bf16" in opts else "off",
                    channels_last="cl" in opts, compile="compile" in opts, progress=False,
                    tensorboard=False, ckpt_every=0, log_every=10**9, eval_every=0, sample_every=0)
    values = [("data.image_size", str(spec["size"])), ("batch_size", str(spec["batch"]))]
    built = build_recipe("dcgan", preset=spec["preset"], assignments=values, run=run)
    trainer = make_trainer(built, None)
    stage = built.recipe.stages()[0]
    phases = built.recipe.phases(stage)
    cuda = spec["device"] == "cuda"
    for _ in range(spec["warmup"]):
        trainer.train_step(stage, phases)
    if cuda:
        torch.cuda.synchronize()
    t = time.perf_counter()
    for _ in range(spec["iters"]):
        trainer.train_step(stage, phases)
    if cuda:
        torch.cuda.synchronize()
    secs = time.perf_counter() - t
    return {"it_per_s": spec["iters"] / secs, "images_per_s": spec["iters"] * spec["batch"] / secs,
            "peak_mib": torch.cuda.max_memory_allocated() / 2**20 if cuda else None}


def features_worker(spec: dict) -> dict:
    """images/s of the evaluation feature extractors."""
    import torch
    import torchvision

    from gan.metrics.extractors import DomainClassifier

    dev, n = torch.device(spec["device"]), spec["images"]
    out = {}
    clf = DomainClassifier(1, 10).to(dev).eval()
    x = torch.rand(n, 1, 28, 28, device=dev) * 2 - 1
    clf.features(x[:256])
    sync = torch.cuda.synchronize if dev.type == "cuda" else (lambda: None)
    sync()
    t = time.perf_counter()
    clf.features(x)
    sync()
    out["domain_classifier_28px"] = n / (time.perf_counter() - t)
    net = torchvision.models.inception_v3(weights=None, aux_logits=False, init_weights=False).to(dev).eval()
    m = spec["inception_images"]
    xi = torch.rand(m, 3, 299, 299, device=dev)
    for dtype in (["fp32", "bf16"] if dev.type == "cuda" else ["fp32"]):
        amp = torch.autocast(dev.type, dtype=torch.bfloat16, enabled=dtype == "bf16")
        with torch.no_grad(), amp:
            net(xi[:8])
            sync()
            t = time.perf_counter()
            for chunk in xi.split(64):
                net(chunk)
            sync()
        out[f"inception_v3_299px_{dtype}"] = m / (time.perf_counter() - t)
    return out


def run_worker(kind: str, spec: dict, timeout: float) -> dict:
    r = run_cmd([PY, __file__, "--worker", kind, json.dumps(spec)], timeout)
    line = next((ln for ln in reversed(r.get("tail", [])) if ln.startswith("RESULT ")), None)
    if line:
        r.update(json.loads(line[7:]))
    return r


def stage_speed(rec: Recorder, a: argparse.Namespace, work: Path) -> None:
    dry = a.dry_run
    variants = ["fp32", "cl"] if dry else ["fp32", "bf16", "cl", "compile", "bf16+cl+compile"]
    base = None
    for v in variants:
        spec = {"device": a.device, "variant": v, "size": 32, "batch": 8 if dry else 64,
                "preset": "tiny" if dry else None, "warmup": 1 if dry else (30 if "compile" in v else 10),
                "iters": 2 if dry else 200}
        r = run_worker("dcgan", spec, min(rec.left() * 0.5, 180))
        if "it_per_s" in r:
            base = r["it_per_s"] if v == "fp32" else base
            r["speedup_over_fp32"] = round(r["it_per_s"] / base, 3) if base else None
        rec.add(f"dcgan32_b{spec['batch']}/{v}", r)
    if dry:
        rec.data["skipped"] = ["dcgan bf16/compile variants (CUDA switches; compile alone takes minutes on CPU)"]
    ts = str(ROOT / "benchmarks" / "translation_speed.py")
    cmd = [PY, ts, "--models", "cyclegan", "--modes", "train", "--device", a.device, "--json"]
    cmd += (["--size", "32", "--iters", "1", "--warmup", "0", "--variants", "base"] if dry
            else ["--size", "256", "--variants", "base,bf16,channels_last"])
    r = run_cmd(cmd, min(rec.left() * 0.6, 180))
    r["measurements"] = [json.loads(ln) for ln in r.get("tail", []) if ln.startswith("{")]
    rec.add("cyclegan_train", r)
    spec = {"device": a.device, "images": 512 if dry else 10000, "inception_images": 2 if dry else 512}
    rec.add("eval_features_images_per_s", run_worker("features", spec, max(rec.left() - 2, 2)))


# --- driver -------------------------------------------------------------------------------------------
RUNNERS = {1: stage_environment, 2: stage_rollouts, 3: stage_oracle, 4: stage_speed}


def child(a: argparse.Namespace) -> None:
    name = STAGES[a.child][0]
    rec = Recorder(Path(a.out_dir) / f"stage{a.child}.json", a.child, name, a.allowance)
    with tempfile.TemporaryDirectory(prefix=f"gpu-suite-{a.child}-") as work:
        try:
            RUNNERS[a.child](rec, a, Path(work))
            rec.data["status"] = "ok"
        except Exception as e:  # noqa: BLE001 - recorded, the suite goes on with the next stage
            rec.data["status"] = "error"
            rec.data["error"] = f"{type(e).__name__}: {e}"
        rec.flush()


def summary_rows(out_dir: Path) -> list[tuple[str, str, str]]:
    rows = []
    for n, (name, _) in STAGES.items():
        data = read_json(out_dir / f"stage{n}.json")
        if data is None:
            rows.append((f"{n} {name}", "not run", ""))
            continue
        rows.append((f"{n} {name}", data.get("status", "?"), f"{data.get('elapsed_s', 0):.0f} s"))
        for key, r in data.get("results", {}).items():
            if not isinstance(r, dict):
                continue
            fig = []
            for k in ("speedup_over_loop", "nll_oracle_after_mle", "nll_oracle_after_seqgan", "target_met",
                      "it_per_s", "speedup_over_fp32", "wall_s"):
                if r.get(k) is not None:
                    v = r[k]
                    fig.append(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}")
            if key == "env":
                fig = [f"{k}={v}" for k, v in r.items()]
            if key == "eval_features_images_per_s":
                fig += [f"{k}={v:.0f}/s" for k, v in r.items() if k.endswith(("px", "fp32", "bf16"))]
            if key == "cyclegan_train":
                fig += [f"{m['variant']}={m['images_per_s']:.3g} it/s" for m in r.get("measurements", [])
                        if "images_per_s" in m]
            rows.append((f"  {key}", r.get("status", ""), ", ".join(fig)))
    return rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--budget-s", type=float, default=None,
                    help="total wall-clock budget of all stages (default 480; 900 with --dry-run, whose "
                         "CPU timings are not the point)")
    ap.add_argument("--out", default="gpu_suite_out", help="where the JSON goes when $OUT is not set")
    ap.add_argument("--oracle-dir", type=Path, default=None,
                    help="folder with the authors' target_params(.py3).pkl and real_data.txt")
    ap.add_argument("--stages", default="1,2,3,4")
    ap.add_argument("--dry-run", action="store_true", help="every stage at tiny sizes on the CPU")
    ap.add_argument("--child", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--allowance", type=float, help=argparse.SUPPRESS)
    ap.add_argument("--out-dir", help=argparse.SUPPRESS)
    ap.add_argument("--device", help=argparse.SUPPRESS)
    ap.add_argument("--worker", nargs=2, help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a.worker:
        import torch
        torch.manual_seed(0)
        fn = {"dcgan": dcgan_worker, "features": features_worker}[a.worker[0]]
        print("RESULT " + json.dumps(fn(json.loads(a.worker[1]))), flush=True)
        return 0
    if a.child:
        child(a)
        return 0

    if a.budget_s is None:
        a.budget_s = 900.0 if a.dry_run else 480.0
    out_dir = Path(os.environ.get("OUT") or a.out).resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    try:
        stages = [int(s) for s in a.stages.split(",") if s.strip()]
        bad = [s for s in stages if s not in STAGES]
    except ValueError:
        bad = [a.stages]
    if bad:
        ap.error(f"--stages: unknown stage(s) {bad}; choose from {sorted(STAGES)}")
    if a.oracle_dir is not None and not a.oracle_dir.is_dir():
        ap.error(f"--oracle-dir {a.oracle_dir}: not a folder (copy ../shared/data/seqgan_oracle into the checkout)")
    import torch
    device = "cuda" if torch.cuda.is_available() and not a.dry_run else "cpu"
    if not a.dry_run and device != "cuda":
        print("# no CUDA device: the suite needs a GPU (use --dry-run to check it on a CPU)", file=sys.stderr)
        return 2
    caps = {s: STAGES[s][1] for s in stages}
    scale = min(1.0, a.budget_s / sum(caps.values()))
    caps = {s: c * scale for s, c in caps.items()}
    start = time.monotonic()
    print(f"# gpu_suite: device {device}, budget {a.budget_s:.0f} s, stages {stages}, out {out_dir}", flush=True)
    for i, s in enumerate(stages):
        remaining = a.budget_s - (time.monotonic() - start)
        later = sum(caps[t] for t in stages[i + 1:])
        allowance = max(min(caps[s], remaining), remaining - later)
        if allowance < 5:
            print(f"# stage {s} {STAGES[s][0]}: skipped, {remaining:.0f} s left", flush=True)
            continue
        print(f"# stage {s} {STAGES[s][0]}: allowance {allowance:.0f} s", flush=True)
        cmd = [PY, __file__, "--child", str(s), "--allowance", str(allowance), "--out-dir", str(out_dir),
               "--device", device] + (["--dry-run"] if a.dry_run else [])
        if a.oracle_dir is not None:
            cmd += ["--oracle-dir", str(a.oracle_dir.resolve())]
        r = run_cmd(cmd, allowance + 15)
        if r["status"] != "ok":  # the stage process itself died or overran: say so in its file
            data = read_json(out_dir / f"stage{s}.json") or {"stage": s, "name": STAGES[s][0], "results": {}}
            data["status"] = r["status"]
            data["tail"] = r.get("tail")
            (out_dir / f"stage{s}.json").write_text(json.dumps(data, indent=2))
    rows = summary_rows(out_dir)
    (out_dir / "summary.json").write_text(json.dumps({"device": device, "budget_s": a.budget_s,
                                                      "wall_s": time.monotonic() - start,
                                                      "rows": rows}, indent=2))
    width = max(len(r[0]) for r in rows)
    print(f"\n{'stage / measurement':<{width}}  {'status':<9}  figures")
    for name, status, figs in rows:
        print(f"{name:<{width}}  {status:<9}  {figs}")
    print(f"# total {time.monotonic() - start:.0f} s; JSON in {out_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

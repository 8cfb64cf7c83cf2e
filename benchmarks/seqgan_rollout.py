"""SeqGAN rollout rewards for one generator step: batched (production) vs a per-prefix loop.

At the paper's sizes (batch 64, N = 16 rollouts, T = 20, vocabulary 5,000, the paper's CNN
discriminator) one reward computation scores 64·16·19 = 19,456 completed rollouts with the
discriminator and draws 64·16·190 = 194,560 tokens from 5,000-way softmaxes. Both versions do the
same useful arithmetic; the script counts it, times both in one run, and measures the machine's
float32 matmul throughput in the same run (right before each version, as a busy machine's speed
drifts) to report the fraction of it each version reaches and its distance from the arithmetic
floor (FLOPs / matmul throughput).

    python benchmarks/seqgan_rollout.py --threads 2            # CPU, a few minutes
    python benchmarks/seqgan_rollout.py --device cuda --d-dtype bf16

Versions:
  loop     — the authors' structure: for each of N rollouts and T−1 prefixes, re-run the prefix,
             sample the rest with torch.multinomial, score the batch with a per-window-size conv2d
             discriminator (gan_seqgan.rollout.rollout_rewards_loop).
  batched  — gan_seqgan.rollout.rollout_rewards: one teacher-forced pass, all rollouts sampled
             together (T−1 steps, inverse-CDF sampling), one discriminator call (unfold + matmul).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import time
from pathlib import Path

sys.path[:0] = [str(Path(__file__).resolve().parents[1] / p) for p in ("core", "plugins")]

import torch  # noqa: E402

from gan_seqgan.discriminator import Discriminator  # noqa: E402
from gan_seqgan.generator import LSTMGenerator  # noqa: E402
from gan_seqgan.rollout import rollout_rewards, rollout_rewards_loop  # noqa: E402


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def best_time(fn, reps: int, device: torch.device) -> tuple[float, object]:
    best, out = float("inf"), None
    for _ in range(reps):
        sync(device)
        t = time.perf_counter()
        out = fn()
        sync(device)
        best = min(best, time.perf_counter() - t)
    return best, out


def matmul_throughput(device: torch.device, n: int = 2048, reps: int = 5,
                      dtype: torch.dtype = torch.float32) -> float:
    """Best-of-``reps`` GFLOP/s of an n×n×n matmul in ``dtype`` (what the arithmetic floor is measured in)."""
    a = torch.randn(n, n, device=device, dtype=dtype)
    b = torch.randn(n, n, device=device, dtype=dtype)
    a @ b
    t, _ = best_time(lambda: a @ b, reps, device)
    return 2 * n ** 3 / t / 1e9


def flop_counts(B: int, N: int, T: int, V: int, E: int, H: int, d: Discriminator) -> dict[str, float]:
    """Useful FLOPs (2 per multiply-add) of one reward computation; the same for both versions."""
    per_seq = d.flops_per_sequence()
    scored = (T - 1) * N * B + B  # completed rollouts + the sequences themselves (last step)
    sampled = N * B * T * (T - 1) // 2  # tokens drawn: T−g for each prefix length g = 1..T−1
    return {
        "d_conv": scored * per_seq["conv"], "d_highway": scored * per_seq["highway"],
        "d_output": scored * per_seq["output"],
        "sampling_projection": sampled * 2 * H * V,  # logits h·W_out for every drawn token
        "lstm_cells": (sampled + B * T) * 2 * (E + H) * 4 * H,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's)")
    ap.add_argument("--reps", type=int, default=1, help="timed repetitions per version (best is kept)")
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--rollouts", type=int, default=16)
    ap.add_argument("--seq-len", type=int, default=20)
    ap.add_argument("--vocab", type=int, default=5000)
    ap.add_argument("--d-dtype", choices=["fp32", "bf16"], default="fp32",
                    help="autocast dtype of the discriminator in the batched version (bf16: CUDA)")
    ap.add_argument("--cuda-graphs", action="store_true",
                    help="batched version: replay the T-1 sampling steps from a CUDA graph (CUDA only)")
    ap.add_argument("--matmul-n", type=int, default=2048, help="side of the matmul that measures throughput")
    ap.add_argument("--skip-loop", action="store_true")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    torch.manual_seed(args.seed)
    B, N, T, V, E, H = args.batch, args.rollouts, args.seq_len, args.vocab, 32, 32
    g = LSTMGenerator(V, E, H, max_len=T).to(device)
    d = Discriminator(V, T).to(device).eval()
    samples = g.sample(B)
    flops = flop_counts(B, N, T, V, E, H, d)
    total = sum(flops.values())
    # the batched version computes convolution windows inside a prefix once (Discriminator.rollout_scores)
    executed = {"loop": total, "batched": total - flops["d_conv"] + d.rollout_conv_flops(N, B)}
    print(f"device {device} ({torch.get_num_threads()} threads on CPU), torch {torch.__version__}")
    print(f"B={B} N={N} T={T} V={V}: {(T - 1) * N * B:,} rollouts, {N * B * T * (T - 1) // 2:,} "
          f"sampled tokens")
    print("useful GFLOP: " + ", ".join(f"{k} {v / 1e9:.1f}" for k, v in flops.items())
          + f"; total {total / 1e9:.1f} (batched executes {executed['batched'] / 1e9:.1f}: shared "
            f"prefix windows)")

    autocast = (torch.autocast(device.type, dtype=torch.bfloat16) if args.d_dtype == "bf16"
                else contextlib.nullcontext())

    graphed = None
    if args.cuda_graphs:
        if device.type != "cuda":
            ap.error("--cuda-graphs needs --device cuda")
        from gan_seqgan.rollout import GraphedCompletions
        t = time.perf_counter()
        graphed = GraphedCompletions(g, N, B, T)
        sync(device)
        print(f"CUDA graph of the sampling loop captured in {time.perf_counter() - t:.2f} s")

    def batched():
        with autocast:
            return rollout_rewards(samples, g, d, N, graphed=graphed)

    results = {}
    versions = [("batched", batched)]
    if not args.skip_loop:
        versions.append(("loop", lambda: rollout_rewards_loop(samples, g, d, N)))
    batched()  # warm-up (allocations, kernel selection)
    for name, fn in versions:
        tput = matmul_throughput(device, n=args.matmul_n)
        secs, rewards = best_time(fn, args.reps, device)
        tput = (tput + matmul_throughput(device, n=args.matmul_n)) / 2  # before and after: the machine's speed drifts
        floor = total / (tput * 1e9)  # the useful arithmetic at the machine's matmul speed
        done = executed[name]
        results[name] = {"seconds": secs, "executed_gflop": done / 1e9, "matmul_gflop_per_s": tput,
                         "executed_gflop_per_s": done / secs / 1e9,
                         "fraction_of_matmul": done / secs / 1e9 / tput,
                         "useful_gflop_per_s": total / secs / 1e9, "floor_seconds": floor,
                         "times_floor": secs / floor, "mean_reward": float(rewards.mean())}
        r = results[name]
        print(f"{name:8s} {secs:8.2f} s  executes {done / 1e9:6.1f} GFLOP at {r['executed_gflop_per_s']:5.1f} "
              f"GFLOP/s = {r['fraction_of_matmul']:.0%} of matmul ({tput:.1f} GFLOP/s); useful "
              f"{r['useful_gflop_per_s']:5.1f} GFLOP/s; floor {floor:.2f} s -> {r['times_floor']:.2f}x floor; "
              f"mean reward {r['mean_reward']:.4f}")
    if device.type == "cuda":  # the GPU's bf16 tensor-core rate, for the fraction the issue asks for
        bf16 = matmul_throughput(device, n=4096, dtype=torch.bfloat16)
        results["bf16_matmul_gflop_per_s"] = bf16
        for name in ("batched", "loop"):
            if name in results:
                results[name]["fraction_of_bf16_matmul"] = results[name]["executed_gflop_per_s"] / bf16
        print(f"bf16 matmul {bf16:,.0f} GFLOP/s; batched reaches "
              f"{results['batched']['fraction_of_bf16_matmul']:.2%} of it")
    if "loop" in results:
        speedup = results["loop"]["seconds"] / results["batched"]["seconds"]
        results["speedup"] = speedup
        print(f"batched is {speedup:.1f}x faster than the loop")
    if args.json:
        args.json.write_text(json.dumps({"args": vars(args) | {"json": str(args.json)}, "flops": flops,
                                         "results": results}, indent=2))


if __name__ == "__main__":
    main()

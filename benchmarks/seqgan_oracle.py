"""SeqGAN's synthetic-data experiment (Yu et al. 2017, Table 1): NLL-oracle after MLE and after SeqGAN.

With the authors' oracle (``--oracle-dir`` holding ``target_params_py3.pkl`` or ``target_params.pkl``
and ``real_data.txt`` from LantaoYu/SeqGAN) the script first checks the oracle: the per-token NLL of
``real_data.txt`` under it must be 5.761. It then trains SeqGAN (MLE pretraining, D pretraining,
adversarial rounds) and prints NLL-oracle along the way with wall times.

    # the paper's protocol (GPU: about an hour on one H100-class GPU; the paper reports 8.736)
    python benchmarks/seqgan_oracle.py --oracle-dir DIR --protocol paper --device cuda
    # a reduced protocol that runs on 2 CPU cores in about 10-15 minutes
    python benchmarks/seqgan_oracle.py --oracle-dir DIR --protocol cpu --threads 2

Paper figures (Table 1, NLL-oracle): random 10.310, MLE 9.038, SeqGAN 8.736; the authors' log
(save/experiment-log.txt) reaches 9.070 after 120 MLE epochs and 8.683 after 150 rounds.
Every flag below overrides the chosen protocol.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path[:0] = [str(Path(__file__).resolve().parents[1] / p) for p in ("core", "plugins")]

import torch  # noqa: E402

from gan.config import RunConfig, apply_mapping  # noqa: E402
from gan.trainer import AdversarialTrainer, resolve_device  # noqa: E402
from gan_seqgan.oracle import (DATA_FILE, OracleConfig, build_oracle_data, read_token_file,  # noqa: E402
                               sequence_nll)
from gan_seqgan.seqgan import PAPER, TINY, Config, SeqGAN  # noqa: E402

PROTOCOLS = {
    # the authors' code: 120 MLE epochs (eval every 5), 50 D d-steps of 3 epochs, 200 rounds of
    # 1 PG step + 5 d-steps of 3 epochs, 9,984 evaluation samples
    "paper": dict(PAPER, **{"eval.samples": 10000}, eval_every_epochs=5, eval_every_rounds=5, test_samples=10000),
    # 2 CPU cores: fewer epochs, rounds and D data; the model and rollouts are the paper's
    "cpu": dict(pretrain_g_epochs=8, pretrain_d_steps=2, adversarial_rounds=8, d_steps=1, d_epochs=1,
                d_samples=1000, **{"eval.samples": 2000}, eval_every_epochs=2, eval_every_rounds=2,
                test_samples=2000),
    # seconds on a CPU: the tests' preset (a small embedded oracle), to check the script runs
    "tiny": dict(TINY, eval_every_epochs=1, eval_every_rounds=1, test_samples=16),
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--oracle-dir", type=Path, default=None,
                    help="folder with the authors' oracle pickle (+ real_data.txt); default: the "
                         "embedded N(0,1) oracle")
    ap.add_argument("--protocol", choices=sorted(PROTOCOLS), default="cpu")
    ap.add_argument("--device", default="auto")
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--seed", type=int, default=0)
    for flag, key in [("--pretrain-epochs", "pretrain_g_epochs"), ("--pretrain-d-steps", "pretrain_d_steps"),
                      ("--rounds", "adversarial_rounds"), ("--d-steps", "d_steps"), ("--d-epochs", "d_epochs"),
                      ("--d-samples", "d_samples"), ("--rollouts", "num_rollouts"),
                      ("--eval-samples", "eval_samples"), ("--eval-every-epochs", "eval_every_epochs"),
                      ("--eval-every-rounds", "eval_every_rounds"), ("--test-samples", "test_samples")]:
        ap.add_argument(flag, dest=key, type=int, default=None)
    ap.add_argument("--rollout-update-rate", dest="rollout_update_rate", type=float, default=None)
    ap.add_argument("--amp", choices=["auto", "off", "bf16", "fp16"], default="off",
                    help="autocast of the trainer (bf16: CUDA)")
    ap.add_argument("--cuda-graphs", action="store_true", help="replay rollout sampling from a CUDA graph")
    ap.add_argument("--json", type=Path, default=None,
                    help="also write the figures here (rewritten after every evaluation, so a run cut "
                         "short leaves its curve)")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    proto = dict(PROTOCOLS[args.protocol])
    for key in list(proto) + ["num_rollouts", "rollout_update_rate"]:
        if getattr(args, key, None) is not None:
            proto[key] = getattr(args, key)
    if args.eval_samples is not None:
        proto["eval.samples"] = args.eval_samples
    eval_epochs, eval_rounds = proto.pop("eval_every_epochs"), proto.pop("eval_every_rounds")
    num_test = proto.pop("test_samples")
    device = resolve_device(args.device)
    report: dict = {"protocol": args.protocol, "settings": proto, "device": str(device),
                    "threads": torch.get_num_threads(), "torch": torch.__version__, "curve": []}
    print(f"device {device}, {torch.get_num_threads()} CPU threads, torch {torch.__version__}")

    cfg = Config()
    apply_mapping(cfg, proto)
    cfg.rollout_cuda_graphs = args.cuda_graphs
    t0 = time.perf_counter()
    if args.oracle_dir is not None:
        data = build_oracle_data(OracleConfig(num_test=num_test), root=args.oracle_dir)
        real = args.oracle_dir / DATA_FILE
        if real.is_file():
            nll_real = sequence_nll(data.oracle, read_token_file(real, data.vocab_size, data.max_len))
            report["nll_real_data_under_oracle"] = nll_real
            print(f"oracle check: NLL of {real} under the oracle = {nll_real:.4f} per token "
                  f"(expected 5.761)")
    else:
        cfg.oracle.num_test = num_test
        data = build_oracle_data(cfg.oracle)
    print(f"data: {data}  ({time.perf_counter() - t0:.1f} s)")

    run = RunConfig(seed=args.seed, device=str(device), progress=False, tensorboard=False,
                    log_every=0, ckpt_every=0, amp=args.amp)
    report["amp"], report["cuda_graphs"] = args.amp, args.cuda_graphs
    torch.manual_seed(args.seed)
    recipe = SeqGAN(cfg, device=device, data=data, run=run)
    eval_time = [0.0]
    evaluate = recipe.evaluate

    def timed_evaluate(full: bool = False):
        t = time.perf_counter()
        out = evaluate(full)
        eval_time[0] += time.perf_counter() - t
        return out

    recipe.evaluate = timed_evaluate
    trainer = AdversarialTrainer(recipe, run)
    stages = recipe.stages()
    bpe = recipe.stream.batches_per_epoch
    print("stages: " + ", ".join(f"{s.name} {s.steps} steps" for s in stages)
          + f"; D phase repeats per d-step {cfg.d_epochs * recipe.d_batches_per_epoch}")
    start = time.perf_counter()

    def record(label: str, res: dict) -> None:
        wall = time.perf_counter() - start
        entry = {"at": label, "step": trainer.step, "nll_oracle": res.get("eval/nll_oracle"),
                 "nll_test": res.get("eval/nll_test"), "wall_s": wall, "train_s": wall - eval_time[0]}
        report["curve"].append(entry)
        print(f"{label:>22s}  NLL-oracle {entry['nll_oracle']:.4f}  NLL-test {entry['nll_test']:.4f}  "
              f"wall {wall:7.1f} s (training {entry['train_s']:7.1f} s)", flush=True)
        if args.json:
            args.json.write_text(json.dumps(report, indent=2))

    record("untrained G", {f"eval/{k}": v for k, v in timed_evaluate().items() if k != "protocol"})
    targets = []
    for e in range(eval_epochs, cfg.pretrain_g_epochs + 1, eval_epochs):
        targets.append((f"MLE epoch {e}", e * bpe))
    if cfg.pretrain_g_epochs % eval_epochs:
        targets.append((f"MLE epoch {cfg.pretrain_g_epochs}", stages[0].steps))
    pre = stages[0].steps + stages[1].steps
    targets.append(("after D pretraining", pre))
    for r in range(eval_rounds, cfg.adversarial_rounds + 1, eval_rounds):
        targets.append((f"adversarial round {r}", pre + r))
    if cfg.adversarial_rounds % eval_rounds:
        targets.append((f"adversarial round {cfg.adversarial_rounds}", pre + stages[2].steps))
    for label, step in targets:
        trainer.config.max_steps = step
        res = trainer.fit()
        if label == "after D pretraining":
            d_t = time.perf_counter() - start
            print(f"{'':>22s}  (D accuracy is logged by the trainer; stage done at {d_t:.1f} s)")
        record(label, res)
    mle = next(e for e in reversed(report["curve"]) if e["at"].startswith("MLE"))
    final = report["curve"][-1]
    report.update(nll_oracle_after_mle=mle["nll_oracle"], nll_oracle_after_seqgan=final["nll_oracle"],
                  wall_s=final["wall_s"], eval_s=eval_time[0])
    print(f"NLL-oracle: after MLE {mle['nll_oracle']:.4f}, after SeqGAN {final['nll_oracle']:.4f} "
          f"(paper: MLE 9.038, SeqGAN 8.736); total {final['wall_s']:.0f} s of which evaluation "
          f"{eval_time[0]:.0f} s")
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()

"""The quick FID logged during training ranks checkpoints the way `gan eval` does.

One short DCGAN run on the embedded digits (16 px) writes six checkpoints and logs the quick FID
(200 generated images against 200 of the held-out split) at each; `gan eval` then scores every
checkpoint with 600 generated images against the whole 600-image held-out split. Both use the
same classifier features and the same reference split, so they must order the checkpoints alike.
"""

from __future__ import annotations

import json

from scipy.stats import spearmanr

from gan.cli import main

CHECKPOINT_EVERY = 15
STEPS = 90
SETTINGS = {
    "steps": STEPS, "batch_size": 32, "z_dim": 32, "g_width": 16, "d_width": 16, "lr": 1e-3,
    "data.embedded_size": 3000,  # + a 600-image held-out split
    "data.image_size": 16,
    # the paper's all-conv nets: they move fast at this size, so the checkpoints differ widely
    "arch": "dcgan", "d_norm": "batch", "init": "dcgan", "noise": "normal",
    "eval.samples": 200, "eval.classifier_images": 1000, "eval.classifier_epochs": 2,
    "eval.batch_size": 500, "eval.kid_subsets": 2,  # KID is not compared here; keep it cheap
    "run.eval_every": CHECKPOINT_EVERY, "run.ckpt_every": CHECKPOINT_EVERY, "run.keep_last": 10,
    "run.eval_at_start": "false", "run.sample_every": 0, "run.log_every": 10**6,
    "run.progress": "false", "run.tensorboard": "false",
}
FULL = 600


def test_quick_and_full_fid_rank_checkpoints_alike(tmp_path, capsys):
    rd = tmp_path / "run"
    sets = [a for k, v in SETTINGS.items() for a in ("--set", f"{k}={v}")]
    assert main(["run", "--plugin", "dcgan", "--run-dir", str(rd), "--device", "cpu", "--seed", "0",
                 *sets]) == 0, capsys.readouterr().err
    capsys.readouterr()
    quick = {}
    for line in (rd / "metrics.jsonl").read_text().splitlines():
        rec = json.loads(line)
        if "eval/fid" in rec:
            quick[rec["step"]] = rec["eval/fid"]
            assert rec["protocol"]["n_fake"] == 200 and "digits test split" in rec["protocol"]["reference"]
    checkpoints = sorted((rd / "checkpoints").glob("ckpt-*.pt"))
    steps = [int(p.stem.split("-")[1]) for p in checkpoints]
    assert steps == list(range(CHECKPOINT_EVERY, STEPS + 1, CHECKPOINT_EVERY)) and set(steps) <= set(quick)
    full = {}
    for step, ckpt in zip(steps, checkpoints):
        assert main(["eval", "--checkpoint", str(ckpt), "--samples", str(FULL), "--json", "--device", "cpu"]) == 0
        rec = json.loads(capsys.readouterr().out)
        p = rec["protocol"]
        assert (p["n_fake"], p["n_real"]) == (FULL, FULL) and rec["classifier_accuracy"] >= 0.9
        assert p["reference"] == "digits test split (drawn after the training images)"
        full[step] = rec["fid"]
    rho = spearmanr([quick[s] for s in steps], [full[s] for s in steps]).statistic
    print("quick", [round(quick[s], 1) for s in steps], "full", [round(full[s], 1) for s in steps], "rho", rho)
    assert rho >= 0.9, (quick, full)
    assert max(full.values()) > 1.5 * min(full.values())  # the checkpoints do differ

"""DDP on CPU (gloo) with 2 processes through torchrun: identical replicas, resumable checkpoints."""

import json
import os
import subprocess
import sys

import pytest
import torch

pytestmark = pytest.mark.skipif(not torch.distributed.is_available(), reason="no torch.distributed")

def torchrun(tmp_path, *args, nproc=2, timeout=240):
    env = dict(os.environ, OMP_NUM_THREADS="1", GANFORGE_DISABLE_PLUGIN_AUTOLOAD="1",
               PYTHONUNBUFFERED="1")
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc-per-node={nproc}",
           "-m", "gan", *args]
    return subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=timeout)


def test_two_process_training_keeps_replicas_identical_and_resumes(tmp_path):
    rd = tmp_path / "run"
    common = ["run", "--plugin", "toy", "--preset", "tiny", "--device", "cpu", "--run-dir", str(rd),
              "--set", "steps=6", "--set", "run.log_every=1"]
    p = torchrun(tmp_path, *common, "--max-steps", "3")
    assert p.returncode == 0, p.stderr[-3000:]
    cfg = json.loads((rd / "config.json").read_text())
    assert cfg["world_size"] == 2
    assert (rd / "checkpoints" / "ckpt-00000003.pt").exists()
    rep = json.loads((rd / "replicas.json").read_text())
    assert len(rep["ranks"]) == 2 and rep["identical"] and rep["ranks"][0] == rep["ranks"][1]
    # metrics are written by rank 0 alone: one line per logged step
    steps = [json.loads(x)["step"] for x in (rd / "metrics.jsonl").read_text().splitlines()
             if "D/loss" in x]
    assert steps == [1, 2, 3]
    p = torchrun(tmp_path, *common, "--resume")
    assert p.returncode == 0, p.stderr[-3000:]
    assert (rd / "checkpoints" / "ckpt-00000006.pt").exists()
    rep = json.loads((rd / "replicas.json").read_text())
    assert rep["identical"] and rep["step"] == 6 and rep["ranks"][0] == rep["ranks"][1]

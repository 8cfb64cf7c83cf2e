"""Distributed faults: a 2-process CPU (gloo) run through torchrun where rank 1 is SIGKILLed (or
sent SIGTERM) mid-run.

The signal is injected by a throwaway third-party plugin, installed as a real entry point (a
``*.dist-info`` folder on ``PYTHONPATH``): its ``gan_on_run_start`` hook wraps the trainer's
``train_step`` on the chosen rank and signals the process before the chosen step.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import torch

from gan.checkpoint import CheckpointManager, load_checkpoint

pytestmark = pytest.mark.skipif(not torch.distributed.is_available(), reason="no torch.distributed")

KILLER = """
import os
import signal
import time

import gan


@gan.hookimpl
def gan_on_run_start(trainer):
    rank, at = int(os.environ.get("KILL_RANK", "-1")), int(os.environ.get("KILL_STEP", "-1"))
    if trainer.rank != rank:
        return
    step = trainer.train_step

    def train_step(stage, phases):
        if trainer.step + 1 == at:
            os.kill(os.getpid(), getattr(signal, os.environ.get("KILL_SIGNAL", "SIGKILL")))
        return step(stage, phases)

    trainer.train_step = train_step


@gan.hookimpl
def gan_on_run_end(trainer, status):
    # A slow clean-up on the surviving rank (a full disk, a slow hook): torchrun SIGTERMs the
    # survivors within 0.1 s of a death, so its signal lands after the trainer's own handler is gone
    # and before the error is printed. The survivor must still say why it stopped.
    if status == "failed" and trainer.rank != int(os.environ.get("KILL_RANK", "-1")):
        time.sleep(float(os.environ.get("SLOW_END", "0")))
"""

KILL_STEP = 7


def _site(root: Path) -> Path:
    site = root / "site"
    info = site / "ganforge_killer-0.1.dist-info"
    info.mkdir(parents=True)
    (site / "ganforge_killer.py").write_text(textwrap.dedent(KILLER))
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: ganforge-killer\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[ganforge.plugins]\nkiller = ganforge_killer\n")
    return site


def _torchrun(rel, cwd: Path, site: Path | None, args: list, timeout: float = 300, **env):
    e = rel.gan_env(**env)
    e.pop("GANFORGE_DISABLE_PLUGIN_AUTOLOAD", None)  # the killer comes as an entry point
    if site is not None:
        e["PYTHONPATH"] = os.pathsep.join(filter(None, [str(site), os.environ.get("PYTHONPATH", "")]))
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node=2",
           "-m", "gan", *map(str, args)]
    t = time.monotonic()
    p = subprocess.run(cmd, cwd=cwd, env=e, capture_output=True, text=True, timeout=timeout)
    return p, time.monotonic() - t


def _args(rd: Path) -> list:
    return ["run", "--plugin", "toy", "--preset", "tiny", "--device", "cpu", "--run-dir", rd,
            "--set", "steps=40", "--set", "run.ckpt_every=2", "--set", "run.log_every=1",
            "--set", "run.progress=false", "--set", "run.tensorboard=false"]


@pytest.fixture(scope="module")
def peer_killed(rel, tmp_path_factory):
    """One torchrun whose rank 1 dies before step KILL_STEP (run once, checked by several tests)."""
    root = tmp_path_factory.mktemp("ddp-kill")
    rd = root / "run"
    p, seconds = _torchrun(rel, root, _site(root), _args(rd), KILL_RANK="1", KILL_STEP=str(KILL_STEP),
                          SLOW_END="1.5")
    return p, seconds, rd


def test_peer_death_fails_the_run_without_hanging_and_leaves_a_resumable_checkpoint(rel, peer_killed):
    p, seconds, rd = peer_killed
    out = p.stdout + p.stderr
    assert p.returncode != 0, out[-3000:]
    assert "completed at step" not in out
    assert re.search(r"rank\s*:\s*1 .*\n.*\n.*exitcode\s*:\s*-9|exitcode: -9\) local_rank: 1", out), out[-3000:]
    ckpts = CheckpointManager(rd / "checkpoints")
    found = ckpts.latest("toy-gan")
    assert found is not None, out[-3000:]
    path, state = found
    assert 2 <= state["step"] < KILL_STEP and len(state["rng"]["per_rank"]) == 2
    for c in ckpts.list():  # nothing torn: every complete checkpoint loads
        load_checkpoint(c, "toy-gan")
    rel.metrics_records(rd / "metrics.jsonl")
    print(f"peer killed: launcher exited {p.returncode} after {seconds:.1f}s; last checkpoint {path.name}")


def test_surviving_rank_explains_the_failure(peer_killed):
    p, _, _ = peer_killed
    errors = [x for x in (p.stdout + p.stderr).splitlines() if x.startswith("error:")]
    assert errors, (p.stdout + p.stderr)[-3000:]
    line = errors[0]
    assert "rerun with --debug" not in line and "GLHF" not in line, line
    assert re.search(r"rank|process|peer", line) and "checkpoint" in line, line


@pytest.mark.slow
def test_run_resumes_after_peer_death(rel, peer_killed):
    p, _, rd = peer_killed
    r, seconds = _torchrun(rel, rd.parent, None, _args(rd) + ["--resume"])
    assert r.returncode == 0, (r.stdout + r.stderr)[-3000:]
    assert "completed at step 40" in r.stdout
    rep = json.loads((rd / "replicas.json").read_text())
    assert rep["identical"] and rep["step"] == 40


def test_a_signal_to_one_rank_stops_every_rank_at_the_same_step_and_the_run_resumes(rel, tmp_path):
    """``kill -TERM`` on one worker (or torchrun forwarding a signal a moment apart): the ranks agree
    to stop after the same step, so the checkpoint's collectives meet and the run resumes to the
    end with identical replicas. A rank stopping alone would hang in them (here: fail within the
    20-s process-group timeout)."""
    rd = tmp_path / "run"
    p, _ = _torchrun(rel, tmp_path, _site(tmp_path), _args(rd), timeout=240, KILL_RANK="1",
                     KILL_STEP=str(KILL_STEP), KILL_SIGNAL="SIGTERM", GANFORGE_DIST_TIMEOUT="20")
    out = p.stdout + p.stderr
    assert p.returncode != 0 and "error:" not in out, out[-3000:]  # interrupted (130), not failed
    assert f"interrupted at step {KILL_STEP}" in p.stdout, out[-3000:]
    found = CheckpointManager(rd / "checkpoints").latest("toy-gan")
    assert found is not None and found[1]["step"] == KILL_STEP, out[-3000:]
    assert json.loads((rd / "status.json").read_text())["status"] == "interrupted"
    r, _ = _torchrun(rel, tmp_path, None, _args(rd) + ["--resume"], timeout=240)
    assert r.returncode == 0, (r.stdout + r.stderr)[-3000:]
    assert "completed at step 40" in r.stdout
    rep = json.loads((rd / "replicas.json").read_text())
    assert rep["identical"] and rep["step"] == 40

"""benchmarks/gpu_suite.py is known to work before it meets a GPU: its dry run, on the CPU."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "gpu_suite.py"


def load_suite():
    spec = importlib.util.spec_from_file_location("gpu_suite", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def dry_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("suite")
    r = subprocess.run([sys.executable, str(SCRIPT), "--dry-run", "--out", str(out)],
                       capture_output=True, text=True, timeout=900, env={**os.environ, "OUT": ""})
    return r, out


def stage(out: Path, n: int) -> dict:
    return json.loads((out / f"stage{n}.json").read_text())


def test_dry_run_runs_every_stage_and_prints_a_summary(dry_run):
    r, out = dry_run
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    assert "stage / measurement" in r.stdout
    for n in (1, 2, 3, 4):
        assert stage(out, n)["status"] == "ok", stage(out, n)
    assert len(json.loads((out / "summary.json").read_text())["rows"]) > 10


def test_stage_figures_are_real_measurements(dry_run):
    _, out = dry_run
    env = stage(out, 1)["results"]
    assert env["pytest_gpu"]["status"] == "ok"
    for key in ("run/toy-gan/off", "run/toy-gan/bf16", "run/toy-gan/fp16", "run/dcgan/off", "ddp_1_process"):
        assert env[key]["status"] == "ok", (key, env[key])
    assert env["run/toy-gan/off"]["last_losses"]  # the run logged losses
    assert env["ddp_1_process"]["replicas"] is not None
    rollouts = stage(out, 2)["results"]
    assert rollouts["loop_and_batched"]["speedup_over_loop"] > 0
    assert rollouts["batched_cuda_graphs"]["status"] == "skipped"
    oracle = stage(out, 3)["results"]["tiny_protocol"]
    assert oracle["nll_oracle_after_mle"] > 0 and oracle["nll_oracle_after_seqgan"] > 0
    speed = stage(out, 4)["results"]
    assert speed["dcgan32_b8/fp32"]["it_per_s"] > 0
    assert speed["cyclegan_train"]["measurements"][0]["images_per_s"] > 0
    assert speed["eval_features_images_per_s"]["inception_v3_299px_fp32"] > 0


def test_a_command_past_its_allowance_is_killed_and_keeps_its_output():
    suite = load_suite()
    r = suite.run_cmd([sys.executable, "-c", "import time; print('started', flush=True); time.sleep(60)"], 2)
    assert r["status"] == "timed out" and r["wall_s"] < 30
    assert r["tail"] == ["started"]


def test_a_stage_cut_short_still_returns_what_it_finished(tmp_path):
    suite = load_suite()
    rec = suite.Recorder(tmp_path / "stage9.json", 9, "x", allowance=60)
    rec.add("first", {"status": "ok", "value": 1.5})
    # the process dies here: the file already holds the finished measurement
    data = json.loads((tmp_path / "stage9.json").read_text())
    assert data["results"]["first"]["value"] == 1.5 and data["status"] == "running"


def test_without_a_gpu_the_real_suite_refuses_in_one_line(tmp_path):
    r = subprocess.run([sys.executable, str(SCRIPT), "--out", str(tmp_path)], capture_output=True, text=True)
    if r.returncode == 0:
        pytest.skip("a GPU is present")
    assert r.returncode == 2 and "--dry-run" in r.stderr and len(r.stderr.strip().splitlines()) == 1

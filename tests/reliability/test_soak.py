"""Memory soak: ``benchmarks/soak.py`` (a toy run with RSS sampled at intervals) stays within its
growth bound, and the run directory it leaves is consistent."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

SOAK = Path(__file__).resolve().parents[2] / "benchmarks" / "soak.py"


def _soak(rel, tmp_path, *args, timeout=600):
    r = subprocess.run([sys.executable, str(SOAK), "--json", "--run-dir", str(tmp_path / "run"), *args],
                       env=rel.gan_env(), capture_output=True, text=True, timeout=timeout, cwd=tmp_path)
    summary = json.loads(r.stdout.strip().splitlines()[-1]) if r.stdout.strip() else {}
    print(r.stdout[-2500:])
    return r, summary


def test_short_soak_has_bounded_rss_growth(rel, tmp_path):
    """1 000 steps with evaluations, samples and checkpoints: after two cycles (lazy imports,
    allocator pools) RSS grows by less than 3 MiB over 600 steps, i.e. no per-step leak above
    ~5 KiB; every metrics line parses and the final checkpoint loads."""
    r, s = _soak(rel, tmp_path, "--steps", "1000", "--interval", "100", "--warmup", "400",
                 "--eval-every", "200", "--sample-every", "200", "--ckpt-every", "100",
                 "--log-every", "50", "--bound-mib", "3")
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    assert s["within_bound"] and s["run_dir_ok"] and s["metrics_lines"] >= 25
    assert s["rss_growth_mib"] < 3


@pytest.mark.slow
def test_20k_step_soak_has_bounded_rss_growth(rel, tmp_path):
    """The full soak (20 000 steps, TensorBoard on): < 8 MiB RSS growth after step 3 000."""
    r, s = _soak(rel, tmp_path, "--tensorboard", timeout=3600)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    assert s["steps"] == 20_000 and s["within_bound"] and s["run_dir_ok"]

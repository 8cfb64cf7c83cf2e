"""Issue 10.6 — failing after training never loses the model: the final checkpoint is written
before the final evaluation, and an evaluation that cannot run on little data is skipped with one
line saying why and what would make it run (the run exits 0)."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from gan.checkpoint import CheckpointManager
from gan.errors import GanError


def _pngs(folder: Path, n: int, size: int = 16) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    for i in range(n):
        Image.fromarray(rng.integers(0, 255, (size, size, 3), dtype=np.uint8)).save(folder / f"{i}.png")
    return folder


def test_small_image_set_trains_saves_and_skips_the_evaluation_in_one_line(rel, tmp_path):
    data = _pngs(tmp_path / "eight" / "x", 8).parent
    rd = tmp_path / "run"
    r = rel.run_cli(["run", "--plugin", "dcgan", "--preset", "tiny", *rel.QUIET, "--run-dir", rd,
                     "--dataset", "folder", "--data-root", data, "--set", "run.eval_at_start=false"])
    assert r.code == 0, r.err
    skipped = [x for x in r.err.splitlines() if "skipped" in x]
    assert len(skipped) == 1 and skipped[0].startswith("warning: evaluation at step 4 skipped: "), r.err
    assert "needs at least 10" in skipped[0] and "the dataset has 8" in skipped[0]
    assert "add images" in skipped[0] and "eval.inception" in skipped[0]  # what would make it run
    assert "Traceback" not in r.err and "UserWarning" not in r.err
    assert CheckpointManager(rd / "checkpoints").latest()[1]["step"] == 4


def test_gan_eval_on_a_tiny_translation_set_says_why_without_internal_names(rel, tmp_path):
    root = tmp_path / "uu"
    for d in ("trainA", "trainB"):
        _pngs(root / d, 2)
    rd = tmp_path / "run"
    r = rel.run_cli(["run", "--plugin", "cyclegan", "--preset", "tiny", *rel.QUIET, "--run-dir", rd,
                     "--dataset", "unaligned", "--data-root", root, "--set", "steps=2", "--set", "batch_size=1"])
    assert r.code == 0, r.err
    r = rel.run_cli(["eval", "--run-dir", rd, "--device", "cpu"])
    assert r.code == 2
    line = r.error_line()
    assert "train_domain_classifier" not in line and "needs at least 10" in line
    assert "use a dataset with at least 10 images" in line


def test_the_final_checkpoint_exists_even_when_the_final_evaluation_fails(rel, monkeypatch, tmp_path):
    from gan_toy.toy import ToyGAN
    real = ToyGAN.evaluate
    calls = {"n": 0}

    def failing(self, full=False):
        calls["n"] += 1
        if calls["n"] > 1:  # the start-of-run baseline works, the final evaluation fails
            raise GanError("evaluation broke")
        return real(self, full)

    monkeypatch.setattr(ToyGAN, "evaluate", failing)
    rd = tmp_path / "run"
    r = rel.run_cli(["run", "--plugin", "toy", "--preset", "tiny", *rel.QUIET, "--run-dir", rd])
    assert r.code == 2 and "evaluation broke" in r.error_line()
    assert CheckpointManager(rd / "checkpoints").latest()[1]["step"] == 4

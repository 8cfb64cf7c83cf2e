"""The translation models' data and evaluation settings live under ``data.*`` and ``eval.*`` as for
every other family; the old top-level names (``--set image_size=``, ``direction=``) still work, and
a run saved with them reopens."""

from __future__ import annotations

import json
import warnings

import torch

from gan.cli import main
from gan.config import RenamedSettingWarning
from gan.runs import load_run


def test_old_top_level_names_still_train_with_one_notice_each(tmp_path, capsys):
    run = tmp_path / "run"
    rc = main(["run", "--plugin", "pix2pix", "--preset", "tiny", "--device", "cpu", "--max-steps", "1",
               "--run-dir", str(run), "--set", "image_size=16", "--set", "direction=BtoA",
               "--set", "run.progress=false", "--set", "run.tensorboard=false"])
    err = capsys.readouterr().err
    assert rc == 0, err
    notices = [ln for ln in err.splitlines() if "now named" in ln]
    assert notices == ["warning: --set image_size: now named data.image_size (the old name still works for now)",
                       "warning: --set direction: now named data.direction (the old name still works for now)"]
    saved = json.loads((run / "config.json").read_text())
    config = saved.get("config", saved)
    assert config["data"]["direction"] == "BtoA" and "direction" not in config


def test_a_checkpoint_saved_with_the_old_names_reopens(tmp_path, capsys):
    run = tmp_path / "run"
    assert main(["run", "--plugin", "cyclegan", "--preset", "tiny", "--device", "cpu", "--max-steps", "1",
                 "--run-dir", str(run), "--set", "data.image_size=12", "--set", "data.load_size=14",
                 "--set", "run.progress=false", "--set", "run.tensorboard=false"]) == 0
    ckpt = next((run / "checkpoints").glob("ckpt-*.pt"))
    state = torch.load(ckpt, weights_only=True)
    config = json.loads(state["config"])
    data, evaluation = config.pop("data"), config.pop("eval")
    config.update(image_size=data["image_size"], load_size=data["load_size"], toy_size=data["embedded_size"],
                  eval_count=evaluation["samples"], classifier_epochs=evaluation["classifier_epochs"])
    state["config"] = json.dumps(config)  # what a run written before the move holds
    torch.save(state, ckpt)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        recipe = load_run(ckpt, device="cpu")
    assert recipe.config.data.image_size == 12 and recipe.config.eval.classifier_epochs == 1
    assert any(issubclass(w.category, RenamedSettingWarning) and "toy_size" in str(w.message) for w in caught)

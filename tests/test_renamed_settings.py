"""One naming scheme across families (``data.*``, ``eval.*``, the model at the top level): a setting
that moved keeps working under its old name, through every way in, with one line naming both keys."""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass, field
from typing import ClassVar

import pytest

from gan.config import RenamedSettingWarning, RunConfig, apply_mapping, load_toml, resolve_config
from gan.errors import GanError
from gan.resume import plan_resume


@dataclass
class Data:
    image_size: int = 64
    direction: str = "AtoB"


@dataclass
class Eval:
    samples: int = 100


@dataclass
class Cfg:
    lr: float = 1e-3
    data: Data = field(default_factory=Data)
    eval: Eval = field(default_factory=Eval)

    renamed: ClassVar[dict[str, str]] = {"image_size": "data.image_size", "direction": "data.direction",
                                         "eval_count": "eval.samples", "old_data": "data"}


def _resolve(**kw):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        cfg = resolve_config(Cfg, RunConfig(), **kw)
    return cfg, [str(w.message) for w in caught if issubclass(w.category, RenamedSettingWarning)]


def test_old_names_work_through_set_preset_and_toml_with_one_line_each(tmp_path):
    cfg, msgs = _resolve(assignments=[("image_size", "32"), ("eval_count", "7"), ("lr", "0.5")])
    assert (cfg.data.image_size, cfg.eval.samples, cfg.lr) == (32, 7, 0.5)
    assert msgs == ["--set image_size: now named data.image_size (the old name still works for now)",
                    "--set eval_count: now named eval.samples (the old name still works for now)"]

    cfg, msgs = _resolve(presets={"p": {"direction": "BtoA"}}, preset="p")
    assert cfg.data.direction == "BtoA"
    assert msgs == ["preset: old setting name(s) direction → data.direction (they still work for now)"]

    toml = tmp_path / "run.toml"
    toml.write_text("[model]\nimage_size = 48\nold_data = {direction = 'BtoA'}\n")
    cfg, msgs = _resolve(toml=load_toml(toml), toml_name=str(toml))
    assert (cfg.data.image_size, cfg.data.direction) == (48, "BtoA")
    assert msgs == [f"{toml} [model]: old setting name(s) image_size → data.image_size, old_data.direction → "
                    f"data.direction (they still work for now)"]  # one line for the whole table


def test_new_names_give_no_notice_and_bad_values_still_name_the_key():
    cfg, msgs = _resolve(assignments=[("data.image_size", "32"), ("eval.samples", "3")])
    assert (cfg.data.image_size, cfg.eval.samples, msgs) == (32, 3, [])
    with pytest.raises(GanError, match=r"--set data.image_size='big': expected int"):
        _resolve(assignments=[("image_size", "big")])
    with pytest.raises(GanError, match="unknown --set key 'imagesize'"):
        _resolve(assignments=[("imagesize", "3")])


def test_a_saved_config_with_old_names_is_read_and_resumed():
    """config.json of a run trained before the move: flat keys map on load and on --resume."""
    saved = {"model": None, "config": {"lr": 0.1, "image_size": 24, "eval_count": 5},
             "run": json.loads(json.dumps({"seed": 3})), "data": None, "data_root": None}
    cfg = Cfg()
    with pytest.warns(RenamedSettingWarning) as caught:
        apply_mapping(cfg, saved["config"], label="saved config")
    assert (cfg.data.image_size, cfg.eval.samples) == (24, 5)
    assert [str(w.message) for w in caught] == [
        "saved config: old setting name(s) image_size → data.image_size, eval_count → eval.samples "
        "(they still work for now)"]

    class Recipe:
        name = None
        Config = Cfg

    with pytest.warns(RenamedSettingWarning):
        plan = plan_resume(Recipe, saved, [("eval_count", "9")])
    assert plan.config["data"]["image_size"] == 24 and plan.config["eval"]["samples"] == 9
    assert "eval.samples" in plan.changes

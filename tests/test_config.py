from dataclasses import dataclass, field
from typing import Literal

import pytest

from gan.config import RunConfig, apply_mapping, load_toml, parse_value, resolve_config, set_value
from gan.errors import GanError


@dataclass
class Inner:
    params: str | None = None
    num: int = 3


@dataclass
class Cfg:
    lr: float = 1e-3
    steps: int = 10
    loss: str = "non-saturating"
    flag: bool = False
    mode: Literal["a", "b"] = "a"
    sizes: tuple[int, ...] = (1, 2)
    oracle: Inner = field(default_factory=Inner)


def test_set_parses_by_field_type():
    cfg = Cfg()
    set_value(cfg, "lr", "2e-4")
    set_value(cfg, "steps", "1_000")
    set_value(cfg, "flag", "true")
    set_value(cfg, "mode", "b")
    set_value(cfg, "sizes", "4,5,6")
    set_value(cfg, "oracle.params", "/tmp/x.pkl")
    assert (cfg.lr, cfg.steps, cfg.flag, cfg.mode, cfg.sizes) == (2e-4, 1000, True, "b", (4, 5, 6))
    assert cfg.oracle.params == "/tmp/x.pkl"
    set_value(cfg, "oracle.params", "none")
    assert cfg.oracle.params is None


@pytest.mark.parametrize("key,value,fragment", [
    ("lr", "fast", "expected float"),
    ("steps", "1.5", "expected int"),
    ("flag", "maybe", "expected bool"),
    ("mode", "c", "'a' | 'b'"),
    ("nope", "1", "unknown config key 'nope'"),
    ("oracle.nope", "1", "unknown config key 'oracle.nope'"),
    ("oracle", "1", "is a group"),
])
def test_bad_values_name_key_value_and_expectation(key, value, fragment):
    with pytest.raises(GanError) as e:
        set_value(Cfg(), key, value)
    assert fragment in str(e.value)
    assert "\n" not in str(e.value)


def test_resolution_order_defaults_preset_toml_set(tmp_path):
    toml = tmp_path / "run.toml"
    toml.write_text('[run]\nseed = 7\n[model]\nsteps = 30\nlr = 0.5\n[model.oracle]\nnum = 9\n')
    run = RunConfig()
    cfg = resolve_config(Cfg, run, presets={"tiny": {"steps": 2, "lr": 0.1}}, preset="tiny",
                         toml=load_toml(toml), assignments=[("lr", "0.25"), ("run.ema_decay", "0.9"),
                                                            ("log_every", "5")])
    assert cfg.steps == 30 and cfg.lr == 0.25 and cfg.oracle.num == 9
    assert run.seed == 7 and run.ema_decay == 0.9 and run.log_every == 5


def test_unknown_preset_and_set_key_list_choices():
    with pytest.raises(GanError, match="unknown preset 'huge'; choose from: paper, tiny"):
        resolve_config(Cfg, RunConfig(), presets={"tiny": {}, "paper": {}}, preset="huge")
    with pytest.raises(GanError, match="valid keys: .*lr.*run.seed"):
        resolve_config(Cfg, RunConfig(), assignments=[("lrr", "1")])


def test_malformed_toml_is_one_line(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("[run\nseed = 1\n")
    with pytest.raises(GanError, match="not valid TOML"):
        load_toml(bad)
    other = tmp_path / "other.toml"
    other.write_text("[weird]\na = 1\n")
    with pytest.raises(GanError, match="unknown table"):
        load_toml(other)
    with pytest.raises(GanError, match="file not found"):
        load_toml(tmp_path / "missing.toml")


def test_toml_values_are_type_checked(tmp_path):
    f = tmp_path / "run.toml"
    f.write_text('[model]\nsteps = "many"\n')
    with pytest.raises(GanError, match="steps"):
        resolve_config(Cfg, RunConfig(), toml=load_toml(f))


def test_parse_value_bool_is_not_int():
    with pytest.raises(GanError):
        parse_value(int, True, "x")
    assert parse_value(float, 3, "x") == 3.0
    cfg = Cfg()
    apply_mapping(cfg, {"oracle": {"num": 5}})
    assert cfg.oracle.num == 5

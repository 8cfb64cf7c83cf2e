"""Validation declared per field (typing.Annotated + gan.constraints.Range), one validator for the
recipe's Config and the RunConfig; no rule is inferred from a field's name."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Annotated

import pytest

from gan.config import RunConfig, resolve_config, validate_ranges
from gan.constraints import Beta, LearningRate, Positive, Range, field_ranges, validate
from gan.errors import GanError


@dataclass
class Inner:
    width: Positive = 4


@dataclass
class Config:
    lr: LearningRate = 2e-4
    g_lr: LearningRate | None = None
    beta1: Beta = 0.5
    lr_warmup_steps: int = 0  # a name the old rules misread as a learning rate
    dropout: Annotated[float, Range(ge=0.0, le=1.0)] = 0.1
    scale: float = 1.0
    widths: tuple[Positive, ...] = (8, 16)
    inner: Inner = field(default_factory=Inner)


def test_a_field_without_a_constraint_takes_any_value_of_its_type():
    cfg = resolve_config(Config, RunConfig(), assignments=[("lr_warmup_steps", "0"), ("scale", "-3")])
    validate_ranges(cfg, RunConfig())
    assert cfg.lr_warmup_steps == 0 and cfg.scale == -3.0


@pytest.mark.parametrize("key,value,message", [
    ("lr", "-1", "lr=-1.0: expected a value > 0"),
    ("lr", "0", "lr=0.0: expected a value > 0"),
    ("g_lr", "0", "g_lr=0.0: expected a value > 0"),
    ("beta1", "1", "beta1=1.0: expected a value in [0, 1)"),
    ("dropout", "1.5", "dropout=1.5: expected a value in [0, 1]"),
    ("widths", "8,0", "widths=(8, 0): expected a value >= 1"),
    ("inner.width", "0", "inner.width=0: expected a value >= 1"),
])
def test_declared_ranges_are_one_line_errors(key, value, message):
    cfg = resolve_config(Config, RunConfig(), assignments=[(key, value)])
    with pytest.raises(GanError) as e:
        validate_ranges(cfg)
    assert str(e.value) == message


def test_optional_constrained_field_may_be_none_and_bounds_are_inclusive_where_declared():
    validate(Config(g_lr=None, beta1=0.0, dropout=1.0))


def test_nan_and_inf_are_refused_for_every_float_setting():
    with pytest.raises(GanError, match=r"scale=nan: expected a finite number"):
        validate(Config(scale=float("nan")))
    with pytest.raises(GanError, match=r"run.ema_decay=inf: expected a finite number"):
        validate_ranges(Config(), RunConfig(ema_decay=float("inf")))


def test_run_config_declares_its_ranges():
    for key, value, text in [("ema_decay", 1.0, "in [0, 1)"), ("keep_last", 0, ">= 1"),
                             ("log_every", -1, ">= 0"), ("max_steps", 0, ">= 1")]:
        with pytest.raises(GanError, match=rf"^run\.{key}=.*: expected a value {__import__('re').escape(text)}$"):
            validate_ranges(Config(), dataclasses.replace(RunConfig(), **{key: value}))


def test_a_configs_own_validate_runs_last():
    @dataclass
    class Paired:
        low: int = 1
        high: int = 2

        def validate(self):
            if self.low > self.high:
                raise GanError(f"low={self.low} > high={self.high}")

    validate(Paired())
    with pytest.raises(GanError, match="low=3 > high=2"):
        validate(Paired(low=3))


def test_range_descriptions():
    assert Range(gt=0.0).describe() == "> 0"
    assert Range(ge=1).describe() == ">= 1"
    assert Range(ge=0.0, lt=1.0).describe() == "in [0, 1)"
    assert Range(le=5).describe() == "<= 5"


def test_builtin_recipes_declare_the_usual_constraints():
    """What the removed name rules used to guess is declared on every built-in Config."""
    from gan.testing import fresh_manager
    from gan.plugins import BUILTIN_PLUGINS
    pm = fresh_manager(*[p for p in BUILTIN_PLUGINS if p[0] != "core"])
    usual = {"lr", "g_lr", "d_lr", "beta1", "beta2", "batch_size", "d_batch_size", "steps"}
    for entry in pm.registry("model").entries():
        cfg = entry.obj.Config
        declared = field_ranges(cfg)
        names = {f.name for f in dataclasses.fields(cfg)} & usual
        assert names <= set(declared), f"{entry.name}: undeclared {sorted(names - set(declared))}"

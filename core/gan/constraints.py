"""Value constraints declared on each config field, and the one validator that checks them.

A field says what values it accepts with :data:`typing.Annotated` — no rule is guessed from a
field's name, so ``lr_warmup_steps: int = 0`` means what it says::

    from gan.constraints import Beta, LearningRate, Positive, Range

    @dataclass
    class Config:
        lr: LearningRate = 2e-4                      # > 0
        g_lr: LearningRate | None = None             # > 0 when set
        beta1: Beta = 0.5                            # in [0, 1)
        batch_size: Positive = 64                    # >= 1
        dropout: Annotated[float, Range(ge=0, le=1)] = 0.1
        lr_warmup_steps: int = 0                     # no constraint beyond its type

:func:`validate` checks every field of a (nested) config dataclass: any float must be finite (no
nan/inf for any setting), and a value outside its :class:`Range` is one :class:`gan.GanError` line
naming the key, the value and the range. A Config may add cross-field checks in a ``validate()``
method raising :class:`gan.GanError`; the validator calls it last.
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from dataclasses import dataclass
from typing import Annotated, Any

from .errors import GanError


@dataclass(frozen=True)
class Range:
    """Bounds a numeric field accepts (``ge``/``gt`` below, ``le``/``lt`` above; ``None``: open)."""

    ge: float | None = None
    gt: float | None = None
    le: float | None = None
    lt: float | None = None

    def accepts(self, v: float) -> bool:
        return not ((self.ge is not None and v < self.ge) or (self.gt is not None and v <= self.gt)
                    or (self.le is not None and v > self.le) or (self.lt is not None and v >= self.lt))

    def describe(self) -> str:
        lo = ("[", self.ge) if self.ge is not None else ("(", self.gt)
        hi = ("]", self.le) if self.le is not None else (")", self.lt)
        fmt = lambda x: f"{x:g}" if isinstance(x, float) else str(x)  # noqa: E731
        if lo[1] is not None and hi[1] is not None:
            return f"in {lo[0]}{fmt(lo[1])}, {fmt(hi[1])}{hi[0]}"
        if lo[1] is not None:
            return f"{'>=' if lo[0] == '[' else '>'} {fmt(lo[1])}"
        if hi[1] is not None:
            return f"{'<=' if hi[0] == ']' else '<'} {fmt(hi[1])}"
        return "any number"


LearningRate = Annotated[float, Range(gt=0.0)]
"""An optimizer learning rate: > 0."""
Beta = Annotated[float, Range(ge=0.0, lt=1.0)]
"""An Adam β1/β2 or a decay factor: in [0, 1)."""
Probability = Annotated[float, Range(ge=0.0, lt=1.0)]
"""A probability that must stay below 1 (dropout rates)."""
Positive = Annotated[int, Range(ge=1)]
"""A size or count that must be at least 1 (batch sizes, widths)."""
NonNegative = Annotated[int, Range(ge=0)]
"""A count that may be 0 (steps of an optional stage, intervals where 0 means off)."""
Fraction = Annotated[float, Range(ge=0.0)]
"""A non-negative float (weights, fractions, minutes)."""


def _ranges(tp: Any) -> list[Range]:
    """The :class:`Range` constraints in ``tp`` (also inside ``X | None`` and ``tuple[X, ...]``,
    where they hold for every item)."""
    origin = typing.get_origin(tp)
    if origin is Annotated:
        return [m for m in tp.__metadata__ if isinstance(m, Range)]
    if origin in (typing.Union, types.UnionType, tuple, list):
        return [r for a in typing.get_args(tp) if a is not Ellipsis for r in _ranges(a)]
    return []


def field_ranges(cls: type) -> dict[str, list[Range]]:
    """``{field name: [Range, ...]}`` for the fields of dataclass ``cls`` that declare one."""
    hints = typing.get_type_hints(cls, include_extras=True)
    return {f.name: r for f in dataclasses.fields(cls) if (r := _ranges(hints.get(f.name)))}


def validate(cfg: Any, prefix: str = "") -> None:
    """Check every field of dataclass ``cfg`` (recursively): floats finite, declared ranges held,
    then the Config's own ``validate()``; the first problem is one :class:`GanError` line."""
    ranges = field_ranges(type(cfg))
    for f in dataclasses.fields(cfg):
        v = getattr(cfg, f.name)
        key = f"{prefix}{f.name}"
        if dataclasses.is_dataclass(v) and not isinstance(v, type):
            validate(v, f"{key}.")
            continue
        values = v if isinstance(v, (list, tuple)) else [v]
        if any(isinstance(x, float) and not math.isfinite(x) for x in values):
            raise GanError(f"{key}={v!r}: expected a finite number (not nan or inf)")
        for r in ranges.get(f.name, ()):
            bad = [x for x in values
                   if isinstance(x, (int, float)) and not isinstance(x, bool) and not r.accepts(x)]
            if bad:
                raise GanError(f"{key}={v!r}: expected a value {r.describe()}")
    if callable(getattr(cfg, "validate", None)):
        cfg.validate()


__all__ = ["Range", "LearningRate", "Beta", "Positive", "NonNegative", "Fraction", "field_ranges",
           "validate"]

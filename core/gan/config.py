"""Run configuration: the trainer's :class:`RunConfig` plus each recipe's ``Config`` dataclass.

Values come, in increasing priority, from the dataclass defaults (the paper's values), a preset
(``--preset tiny``), a TOML file (``--config run.toml``) and ``--set key=value`` flags. Keys are
checked against the dataclass fields and values parsed by the field's type, so ``--set lr=fast``
fails with one line naming the key, the value and the expected type. Dotted keys reach nested
dataclasses (``--set oracle.params=PATH``); ``run.`` addresses :class:`RunConfig` explicitly, and a
bare key that is a RunConfig field and not a recipe field goes to the run.

TOML layout::

    [run]           # RunConfig fields
    seed = 3
    [model]         # the recipe's Config fields (nested tables for nested dataclasses)
    lr = 2e-4

One naming scheme across families: how data is read and shaped lives under ``data.*``, how samples
are scored under ``eval.*``, model and optimisation settings at the top level. A setting that moved
stays accepted under its old name: a Config lists ``renamed = {"image_size": "data.image_size"}``
(old key → new key) and every way in (``--set``, presets, ``--config`` TOML, a saved
``config.json`` on resume or ``gan sample``) maps it, with a :class:`RenamedSettingWarning` naming
the old and new keys: one line per ``--set`` flag, one line per preset, table or saved file.
"""

from __future__ import annotations

import dataclasses
import json
import math
import sys
import types
import typing
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

from .constraints import Fraction, NonNegative, Positive, Range
from .errors import GanError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


@dataclass
class RunConfig:
    """How a run is executed (independent of the model)."""

    seed: int = 0  # seeds torch, numpy, python and the data order
    device: str = "auto"  # auto | cpu | cuda | cuda:N
    max_steps: Positive | None = None  # stop after this many trainer steps in total (all stages; each counts in its stage's unit)
    amp: Literal["auto", "off", "bf16", "fp16"] = "auto"  # auto = bf16 autocast on CUDA, off on CPU
    compile: bool = False  # torch.compile the trained modules
    channels_last: bool = False  # NHWC memory format for conv nets on CUDA
    # EMA of the recipe's generators, sampled and evaluated instead of the last weights (gan.ema);
    # None = the model's default (Recipe.default_ema_decay), 0 = off
    ema_decay: Annotated[float, Range(ge=0.0, lt=1.0)] | None = None
    log_every: NonNegative = 50  # steps between metrics.jsonl lines (a step is the running stage's unit: batch, round ...)
    eval_every: NonNegative = 0  # steps between evaluations; 0 = at the end of each stage only
    eval_at_start: bool = True  # evaluate the untrained model once (the baseline in metrics.jsonl)
    sample_every: NonNegative = 0  # steps between sample snapshots; 0 = automatic (sample_fraction, sample_minutes)
    sample_fraction: Fraction = 0.05  # automatic cadence: a snapshot every 5 % of each stage (0 = off)
    sample_minutes: Fraction = 3.0  # ... and at least every 3 minutes of wall time (0 = off)
    ckpt_every: NonNegative = 500  # steps (of the running stage's unit) between checkpoints (plus one at every stage end and at exit)
    keep_last: Positive = 3  # checkpoints kept (older ones are deleted after a successful write)
    num_workers: NonNegative = 0  # DataLoader workers for file-backed datasets
    on_nonfinite: Literal["stop", "skip"] = "stop"  # what a NaN/inf loss or gradient does
    on_alarm: Literal["warn", "stop", "off"] = "warn"  # health alarms (gan.health): warn, checkpoint+stop, or off
    health_patience: Positive = 5  # log intervals a health condition must hold before its alarm fires
    progress: bool = True  # tqdm progress bar with live losses
    tensorboard: bool = True  # write TensorBoard events when tensorboard is installed


class NonFiniteValueError(GanError):
    """nan or inf given for a float setting."""


class RenamedSettingWarning(FutureWarning):
    """A setting was given under the name it had before it moved (``image_size`` → ``data.image_size``)."""


def canonical_key(cfg: Any, key: str, source: str = "--set") -> str:
    """``key``, or its new name when ``cfg``'s class lists it in ``renamed`` (warning once per key).

    Only a key's first part may have moved (``image_size`` or ``eval_count``); a renamed group maps
    its fields along (``renamed = {"old": "new"}`` sends ``old.x`` to ``new.x``)."""
    new = _new_name(cfg, key)
    if not new:
        return key
    import warnings
    warnings.warn(f"{source} {key}: now named {new} (the old name still works for now)",
                  RenamedSettingWarning, stacklevel=3)
    return new


def _new_name(cfg: Any, key: str) -> str | None:
    renamed = getattr(type(cfg), "renamed", None) or {}
    head, dot, rest = key.partition(".")
    return renamed.get(key) or (renamed.get(head) and f"{renamed[head]}{dot}{rest}") or None


def _type_name(tp: Any) -> str:
    origin = typing.get_origin(tp)
    if origin is Literal:
        return " | ".join(repr(a) for a in typing.get_args(tp))
    if origin in (typing.Union, types.UnionType):
        return " | ".join(_type_name(a) for a in typing.get_args(tp))
    if origin in (tuple, list):
        return f"{origin.__name__} of {_type_name(typing.get_args(tp)[0])} (comma-separated)"
    return getattr(tp, "__name__", str(tp))


def parse_value(tp: Any, raw: Any, key: str, source: str = "--set") -> Any:
    """Parse ``raw`` (a string from the command line, or a TOML value) as type ``tp``.

    ``source`` names where the value came from in error messages (``--set``, a TOML file, ...).
    """
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    bad = GanError(f"{source} {key}={raw!r}: expected {_type_name(tp)}")
    if tp is Any:
        return raw
    if origin in (typing.Union, types.UnionType):
        if type(None) in args and (raw is None or (isinstance(raw, str) and raw.lower() in ("none", "null", ""))):
            return None
        for a in args:
            if a is type(None):
                continue
            try:
                return parse_value(a, raw, key, source)
            except NonFiniteValueError:
                raise
            except GanError:
                pass
        raise bad
    if origin is Literal:
        for a in args:
            if raw == a or (isinstance(raw, str) and str(a) == raw):
                return a
        raise bad
    if origin in (tuple, list):
        items = raw if isinstance(raw, (list, tuple)) else [s for s in str(raw).split(",") if s.strip()]
        inner = args[0] if args else str
        vals = [parse_value(inner, v.strip() if isinstance(v, str) else v, key, source) for v in items]
        return tuple(vals) if origin is tuple else vals
    if tp is bool:
        if isinstance(raw, bool):
            return raw
        s = str(raw).strip().lower()
        if s in ("1", "true", "yes", "on"):
            return True
        if s in ("0", "false", "no", "off"):
            return False
        raise bad
    if tp is int:
        if isinstance(raw, bool):
            raise bad
        try:
            if isinstance(raw, float):
                if not raw.is_integer():
                    raise ValueError
                return int(raw)
            return int(str(raw).replace("_", ""))
        except ValueError:
            raise bad from None
    if tp is float:
        if isinstance(raw, bool):
            raise bad
        try:
            value = float(raw)
        except (TypeError, ValueError):
            raise bad from None
        if not math.isfinite(value):  # nan/inf type-check as floats but no setting means them
            raise NonFiniteValueError(f"{source} {key}={raw!r}: expected a finite number (not nan or inf)")
        return value
    if tp is str:
        if isinstance(raw, (dict, list)):
            raise bad
        return str(raw)
    if dataclasses.is_dataclass(tp):
        raise GanError(f"{source} {key}: is a group; set one of its fields, e.g. {key}."
                       f"{dataclasses.fields(tp)[0].name}=...")
    return raw


def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def field_names(cfg: Any, prefix: str = "") -> list[str]:
    """All settable dotted keys of a (possibly nested) config dataclass."""
    out = []
    for f in dataclasses.fields(cfg):
        v = getattr(cfg, f.name)
        if dataclasses.is_dataclass(v):
            out += field_names(v, f"{prefix}{f.name}.")
        else:
            out.append(prefix + f.name)
    return out


def set_value(cfg: Any, key: str, raw: Any, *, label: str = "config", source: str = "--set") -> None:
    """Set dotted ``key`` on dataclass ``cfg`` from ``raw``, type-checked (old names mapped)."""
    key = canonical_key(cfg, key, source)
    parts = key.split(".")
    target = cfg
    for i, part in enumerate(parts):
        names = {f.name for f in dataclasses.fields(target)}
        if part not in names:
            valid = ", ".join(field_names(cfg))
            raise GanError(f"unknown {label} key {key!r}; valid keys: {valid}")
        if i < len(parts) - 1:
            target = getattr(target, part)
            if not dataclasses.is_dataclass(target):
                raise GanError(f"unknown {label} key {key!r}: {'.'.join(parts[:i + 1])} is not a group")
    tp = _hints(type(target))[parts[-1]]
    setattr(target, parts[-1], parse_value(tp, raw, key, source))


def apply_mapping(cfg: Any, values: dict[str, Any], *, label: str = "config", prefix: str = "",
                  source: str | None = None) -> None:
    """Apply a (possibly nested) mapping such as a preset or a TOML table.

    ``source`` names it in type errors (default: the ``label``). Old setting names in it (a
    ``config.json`` saved before a setting moved) are mapped with one warning line for them all."""
    moved = _apply(cfg, values, label, prefix, source or label)
    if moved:
        import warnings
        names = ", ".join(f"{old} → {new}" for old, new in moved)
        warnings.warn(f"{source or label}: old setting name(s) {names} (they still work for now)",
                      RenamedSettingWarning, stacklevel=2)


def _apply(cfg: Any, values: dict[str, Any], label: str, prefix: str, source: str) -> list[tuple[str, str]]:
    moved = []
    for k, v in values.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            moved += _apply(cfg, v, label, key + ".", source)
            continue
        new = _new_name(cfg, key)
        if new:
            moved.append((key, new))
        set_value(cfg, new or key, v, label=label, source=source)
    return moved


def parse_assignments(items: list[str] | tuple[str, ...]) -> list[tuple[str, str]]:
    out = []
    for item in items:
        if "=" not in item:
            raise GanError(f"--set {item!r}: expected key=value")
        k, v = item.split("=", 1)
        out.append((k.strip(), v.strip()))
    return out


def load_toml(path: str | Path) -> dict[str, Any]:
    p = Path(path)
    try:
        with p.open("rb") as f:
            data = tomllib.load(f)
    except FileNotFoundError:
        raise GanError(f"--config {p}: file not found") from None
    except tomllib.TOMLDecodeError as e:
        raise GanError(f"--config {p}: not valid TOML ({e})") from None
    except (OSError, UnicodeDecodeError) as e:
        raise GanError(f"--config {p}: cannot read ({e})") from None
    unknown = set(data) - {"run", "model"}
    if unknown:
        raise GanError(f"--config {p}: unknown table(s) {sorted(unknown)}; expected [run] and [model]")
    return data


def resolve_config(config_cls: type, run: RunConfig, *, presets: dict[str, dict] | None = None,
                   preset: str | None = None, toml: dict[str, Any] | None = None,
                   assignments: list[tuple[str, str]] = (), toml_name: str = "config file") -> Any:
    """Build the recipe config: defaults → preset → TOML ``[model]`` → ``--set``; also fills ``run``."""
    cfg = config_cls()
    if preset:
        presets = presets or {}
        if preset not in presets:
            from .errors import choices_error
            raise choices_error("preset", preset, presets)
        apply_mapping(cfg, presets[preset], label="preset")
    if toml:
        apply_mapping(run, toml.get("run", {}), label="run config", source=f"{toml_name} [run]")
        apply_mapping(cfg, toml.get("model", {}), label="model config", source=f"{toml_name} [model]")
    recipe_keys = set(field_names(cfg))
    run_keys = set(field_names(run))
    for key, raw in assignments:
        key = key if key.startswith("run.") else canonical_key(cfg, key)
        if key.startswith("run."):
            set_value(run, key[4:], raw, label="run config")
        elif key.split(".")[0] in {k.split(".")[0] for k in recipe_keys}:
            set_value(cfg, key, raw, label="model config")
        elif key in run_keys:
            set_value(run, key, raw, label="run config")
        else:
            valid = ", ".join(sorted(recipe_keys) + [f"run.{k}" for k in sorted(run_keys)])
            raise GanError(f"unknown --set key {key!r}; valid keys: {valid}")
    return cfg


def validate_ranges(cfg: Any, run: RunConfig | None = None, prefix: str = "") -> None:
    """Reject values of the right type but outside their meaning (``lr=-1``, ``batch_size=0``,
    ``nan``): the constraints each field declares (:mod:`gan.constraints`), one validator for the
    recipe's Config and the :class:`RunConfig` alike."""
    from .constraints import validate
    validate(cfg, prefix)
    if run is not None:
        validate(run, "run.")


def require_counts(cfg: Any, *, positive: Sequence[str] = (), non_negative: Sequence[str] = ()) -> None:
    """One-line errors for sizes and counts that type-check but no model can use (a zero width
    reaches torch as an obscure convolution error; a negative count silently trains nothing).

    Recipes call it from ``__init__`` so the check holds for the API and tests as well as the CLI.
    Names ``cfg`` lacks are skipped, so a base class can list the fields of all its subclasses.
    """
    for names, low, text in ((positive, 1, "a positive integer"), (non_negative, 0, "0 or more")):
        for key in names:
            v = getattr(cfg, key, None)
            if v is not None and v < low:
                raise GanError(f"--set {key}={v}: expected {text}")


def to_jsonable(obj: Any) -> Any:
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: to_jsonable(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, (list, tuple)):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, dict):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, Path):
        return str(obj)
    return obj


def dump_json(obj: Any) -> str:
    return json.dumps(to_jsonable(obj), indent=2, sort_keys=True)

"""``gan run --resume``: continue a run with the settings it was started with.

A resumed run starts from the run directory's saved ``config.json`` (model config and run
settings), never from the new command line's defaults or preset. ``--set`` (and ``--config``) may
change what is safe to change mid-run — schedule lengths (``steps``, ``*_steps``, ``*_epochs``,
``*_rounds``), learning rates, evaluation, sample and ``run.*`` settings; each change is named on
one line and appended to ``resume_history.jsonl``. Anything else shapes the model or its data and
would not match the checkpoint (or silently train something else), so it is refused.
``--max-steps`` and ``--device`` belong to one invocation and are never inherited.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .config import RunConfig, apply_mapping, canonical_key, field_names, set_value, to_jsonable
from .errors import GanError
from .rundir import RESUME_HISTORY, append_jsonl

#: run settings that belong to one invocation (a resumed run does not inherit them)
PER_INVOCATION = ("max_steps", "device")


def is_safe_to_change(key: str) -> bool:
    """Settings a resume may change: they steer the schedule, optimizers' step sizes, logging and
    evaluation, but never the shape of a network or the data it sees."""
    parts = key.split(".")
    head, last = parts[0], parts[-1]
    if head == "run":
        return True
    if head == "stabilise":  # the objective itself (e.g. stabilise.unrolled_steps switches unrolling on)
        return False
    if last == "lr" or last.startswith("lr_") or last.endswith("_lr"):
        return True
    if last == "steps" or last.endswith(("_steps", "_epochs", "_rounds")):
        return True
    return head == "eval" or head.startswith(("eval_", "sample_", "log_")) or head == "plot"


@dataclass
class ResumePlan:
    """What a resumed run is built from."""

    config: dict[str, Any]  # the recipe config, saved values with the accepted changes
    run: RunConfig
    dataset: str | None
    data_root: str | None
    changes: dict[str, tuple[Any, Any]] = field(default_factory=dict)

    def lines(self) -> list[str]:
        return [f"resume: {k} changed from {old!r} to {new!r}" for k, (old, new) in self.changes.items()]


def saved_settings(run_dir: Path) -> dict[str, Any]:
    """``config.json`` of ``run_dir``; a run without a readable one falls back to the copy in its
    newest loadable checkpoint."""
    path = run_dir / "config.json"
    try:
        saved = json.loads(path.read_text(encoding="utf-8"))
        if isinstance(saved, dict) and isinstance(saved.get("config"), dict) and isinstance(saved.get("run"), dict):
            return saved
    except (OSError, ValueError):
        pass
    from .checkpoint import CheckpointManager
    latest = CheckpointManager(run_dir / "checkpoints").latest()
    if latest is None:
        raise GanError(f"--resume: no checkpoint in {run_dir / 'checkpoints'} (and no readable {path})")
    ckpt, state = latest
    try:
        return {"model": state["model"], "config": json.loads(state["config"]),
                "run": json.loads(state["run"]), "data": None, "data_root": None}
    except (KeyError, TypeError, ValueError):
        raise GanError(f"--resume: {path} is missing and checkpoint {ckpt} holds no config") from None


def _flatten(table: dict[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    out: list[tuple[str, Any]] = []
    for k, v in table.items():
        out += _flatten(v, f"{prefix}{k}.") if isinstance(v, dict) else [(f"{prefix}{k}", v)]
    return out


def plan_resume(recipe_cls: type, saved: dict[str, Any], assignments: list[tuple[str, Any]],
                *, toml: dict[str, Any] | None = None, dataset: str | None = None,
                data_root: str | Path | None = None, run_dir: Path | None = None) -> ResumePlan:
    """The settings a resume runs with: saved ones plus the safe changes asked for."""
    where = f"run {run_dir}" if run_dir is not None else "the run"
    if saved.get("model") not in (None, recipe_cls.name):
        raise GanError(f"--resume: {where} trained model {saved.get('model')!r}, not {recipe_cls.name!r}; "
                       f"pass --plugin {saved.get('model')}")
    cfg = recipe_cls.Config()
    apply_mapping(cfg, saved["config"], label="saved config", source=f"{where} config.json")
    run = RunConfig()
    apply_mapping(run, {k: v for k, v in saved["run"].items() if k not in PER_INVOCATION},
                  label="saved run config", source=f"{where} config.json")
    if saved.get("data") is not None and dataset is not None and dataset != saved.get("data"):
        raise GanError(f"--dataset {dataset!r} on --resume: {where} trained on {saved['data']!r}; the data "
                       f"shapes the model, so start a new run (another --run-dir) to change it")
    requested: list[tuple[str, Any, str | None]] = []  # (key, value, TOML table or None for --set)
    if toml:
        requested += [(f"run.{k}", v, "run") for k, v in _flatten(toml.get("run", {}))]
        requested += [(k, v, "model") for k, v in _flatten(toml.get("model", {}))]
    requested += [(k, v, None) for k, v in assignments]
    recipe_heads = {k.split(".")[0] for k in field_names(cfg)}
    run_keys = set(field_names(run))
    changes: dict[str, tuple[Any, Any]] = {}
    for key, raw, table in requested:
        if table == "model" or not key.startswith("run."):
            key = canonical_key(cfg, key, "--set" if table is None else f"--config [{table}]")
        if table == "model":  # a TOML [model] key is never routed to the run
            target, sub, shown = cfg, key, key
        elif key.startswith("run."):
            target, sub, shown = run, key[4:], key
        elif key.split(".")[0] in recipe_heads:
            target, sub, shown = cfg, key, key
        elif key in run_keys:
            target, sub, shown = run, key, f"run.{key}"
        else:
            valid = ", ".join(sorted(field_names(cfg)) + [f"run.{k}" for k in sorted(run_keys)])
            raise GanError(f"unknown --set key {key!r}; valid keys: {valid}")
        trial = copy.deepcopy(target)  # type and key errors first, exactly as for a new run
        set_value(trial, sub, raw, label="run config" if target is run else "model config")
        old, new = _get(target, sub), _get(trial, sub)
        if new == old:
            continue
        if not is_safe_to_change(shown):
            raise GanError(f"--set {key}={raw} on --resume: {sub} shapes the model or its data ({where} has "
                           f"{old!r}); a resume may change only steps, learning rates, eval.* and run.* "
                           f"settings; start a new run (another --run-dir) to change it")
        set_value(target, sub, raw, label="run config" if target is run else "model config")
        if sub.split(".")[-1] not in PER_INVOCATION or target is not run:
            changes[shown] = (old, new)
    saved_root = saved.get("data_root")
    return ResumePlan(to_jsonable(cfg), run, dataset if dataset is not None else (saved.get("data") if saved_root else None),
                      str(data_root) if data_root is not None else saved_root, changes)


def _get(obj: Any, dotted: str) -> Any:
    for part in dotted.split("."):
        obj = getattr(obj, part)
    return copy.deepcopy(obj) if dataclasses.is_dataclass(obj) else obj


def fresh_learning_rates(optimizers: dict[str, Any]) -> dict[str, list[float]]:
    """Each optimizer's per-group initial learning rate, as built from the (new) config."""
    return {k: [g.get("initial_lr", g["lr"]) for g in o.param_groups] for k, o in optimizers.items()}


def apply_learning_rates(optimizers: dict[str, Any], schedulers: dict[str, Any],
                         fresh: dict[str, list[float]]) -> None:
    """After a checkpoint's optimizer state was loaded (which restores the old learning rates):
    rescale every group whose configured rate changed, keeping the scheduler's progress (the
    current rate is scaled by new/old, and the scheduler's base rate becomes the new one)."""
    for name, opt in optimizers.items():
        for i, group in enumerate(opt.param_groups):
            if name not in fresh or i >= len(fresh[name]):
                continue
            old, new = group.get("initial_lr", group["lr"]), fresh[name][i]
            if old == new:
                continue
            group["lr"] = group["lr"] * (new / old) if old else new
            if "initial_lr" in group:
                group["initial_lr"] = new
            for s in schedulers.values():
                if getattr(s, "optimizer", None) is opt and i < len(getattr(s, "base_lrs", [])):
                    s.base_lrs[i] = new
                    if hasattr(s, "_last_lr"):
                        s._last_lr = [g["lr"] for g in opt.param_groups]


def record_resume(run_dir: Path, plan: ResumePlan, step: int, checkpoint: Path | None) -> None:
    """Append this resume (step, checkpoint, every change) to ``resume_history.jsonl``."""
    append_jsonl(run_dir / RESUME_HISTORY, {
        "time": time.strftime("%Y-%m-%dT%H:%M:%S"), "step": step,
        "checkpoint": str(checkpoint) if checkpoint is not None else None,
        "changes": {k: {"from": to_jsonable(o), "to": to_jsonable(n)} for k, (o, n) in plan.changes.items()}})

"""Building recipes from names and flags, and reopening finished runs.

``build_recipe`` is what ``gan run`` does before training: resolve the model, build its Config
(defaults → preset → TOML → ``--set``), resolve the dataset, seed, and construct the recipe on its
device. ``load_run`` reopens a run directory (or one checkpoint) for ``gan sample``, ``gan eval``
and ``gan translate``: it rebuilds the recipe from ``config.json`` and loads the newest readable
checkpoint's weights.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from .checkpoint import CheckpointManager, load_checkpoint, seed_everything
from .config import RunConfig, apply_mapping, resolve_config
from .errors import GanError, PluginError, choices_error
from .plugins import GanPluginManager
from .protocols import Trainer, missing_members
from .registry import load_ref
from .trainer import AdversarialTrainer, resolve_device


@dataclass
class BuiltRun:
    recipe: Any
    run: RunConfig
    model: str
    dataset: str | None


def check_run_dir(run_dir: Path) -> Path:
    """A run directory is a plain path that must not be a file; parents are created on write."""
    p = Path(run_dir).expanduser()
    if p.exists() and not p.is_dir():
        raise GanError(f"--run-dir {p}: exists and is not a directory")
    return p.resolve()


def resolve_dataset(pm: GanPluginManager, recipe_cls: type, dataset: str | None,
                    data_root: str | Path | None, cfg: Any) -> tuple[Any, str | None]:
    kinds = getattr(recipe_cls, "data_kinds", None) or (recipe_cls.data_kind,)
    datasets = pm.registry("dataset")
    if dataset is None:
        if data_root is not None:
            fitting = [e.name for e in datasets.entries() if e.meta.get("kind") in kinds]
            raise GanError(f"--data-root needs --dataset NAME for model {recipe_cls.name!r}; "
                           f"choose from: {', '.join(fitting) or '(none)'}")
        return None, recipe_cls.default_dataset
    entry = datasets.entry(dataset)
    if entry.meta.get("kind") not in kinds:
        fitting = [e.name for e in datasets.entries() if e.meta.get("kind") in kinds]
        raise GanError(f"--dataset {dataset!r} holds {entry.meta.get('kind')} data but model "
                       f"{recipe_cls.name!r} needs {'/'.join(kinds)}; choose from: {', '.join(fitting)}")
    root = Path(data_root).expanduser() if data_root is not None else None
    return entry.obj(root, cfg), dataset


def build_recipe(model: str, *, pm: GanPluginManager | None = None, preset: str | None = None,
                 config_file: str | Path | None = None, assignments: list[tuple[str, str]] = (),
                 dataset: str | None = None, data_root: str | Path | None = None,
                 run: RunConfig | None = None, device: str | None = None,
                 config_values: dict[str, Any] | None = None, data: Any = None) -> BuiltRun:
    pm = pm or GanPluginManager().load()  # no process-wide manager: a caller may hand its own
    name = pm.default_model(model)
    recipe_cls = pm.registry("model").resolve(name)
    run = run or RunConfig()
    toml = None
    if config_file is not None:
        from .config import load_toml
        toml = load_toml(config_file)
    if config_values is not None:  # reopening a run: the resolved config wins
        cfg = recipe_cls.Config()
        apply_mapping(cfg, config_values, label="saved config")
    else:
        cfg = resolve_config(recipe_cls.Config, run, presets=getattr(recipe_cls, "presets", {}),
                             preset=preset, toml=toml, assignments=list(assignments),
                             toml_name=f"--config {config_file}" if config_file is not None else "config file")
    if device is not None:
        run.device = device
    dev = resolve_device(run.device)
    if dev.type == "cuda" and dev.index is None and torch.distributed.is_initialized():
        dev = torch.device("cuda", torch.cuda.current_device())
    from .config import validate_ranges
    validate_ranges(cfg, run)
    from .sizes import allocation_guard
    if data is not None:  # rebuilt from what a run saved (load_run); the files are not read
        data_name = dataset
    else:
        with allocation_guard(f"loading the data for model {name!r}", cfg):
            data, data_name = resolve_dataset(pm, recipe_cls, dataset, data_root, cfg)
    seed_everything(run.seed)
    try:
        with allocation_guard(f"building model {name!r}", cfg, cumulative=True):
            recipe = recipe_cls.create(pm.registries(), cfg, device=dev, data=data, run=run)
    except (ValueError, TypeError, ZeroDivisionError) as e:
        # a value the type check let through but the model cannot use (torch's own checks)
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise GanError(f"model {name!r} cannot be built with this config: {first}") from None
    recipe.data_name = data_name
    recipe.data_root = str(Path(data_root).expanduser().resolve()) if data_root is not None else None
    return BuiltRun(recipe, run, name, data_name)


def make_trainer(built: BuiltRun, run_dir: Path | None, pm: GanPluginManager | None = None,
                 cli_options: dict[str, Any] | None = None) -> Trainer:
    """The trainer of ``built`` from the ``gan_make_trainer`` hook (``gan run`` and reopening a run
    alike, so a plugin's own trainer also reopens its runs), checked against :class:`gan.Trainer`."""
    pm = pm or GanPluginManager().load()
    pm.answered_by.pop("gan_make_trainer", None)
    trainer = pm.call("gan_make_trainer", recipe=built.recipe, config=built.run, run_dir=run_dir)
    if trainer is None:  # the core plugin was blocked
        trainer = AdversarialTrainer(built.recipe, built.run, run_dir)
    missing = missing_members(trainer, Trainer)
    if missing:
        who = pm.answered_by.get("gan_make_trainer", "?")
        raise PluginError(f"plugin {who!r}: gan_make_trainer returned {type(trainer).__qualname__} for "
                          f"model {built.model!r}, which lacks {', '.join(missing)} (see gan.Trainer)")
    trainer.pm, trainer.cli_options = pm, cli_options or {}
    return trainer


def _find_checkpoint(path: Path) -> tuple[Path, Path, dict[str, Any]]:
    """``path`` is a run directory or a checkpoint file → (run_dir, checkpoint, state)."""
    if path.is_file():
        state = load_checkpoint(path)
        return path.parent.parent, path, state
    if not path.is_dir():
        raise GanError(f"{path}: no such run directory or checkpoint file")
    manager = CheckpointManager(path / "checkpoints")
    latest = manager.latest()
    if latest is None:
        raise GanError(f"{path}: {manager.none_found().replace('no checkpoint in', 'no checkpoint found in')}")
    ckpt, state = latest
    return path, ckpt, state


def load_run(path: str | Path, device: str = "auto", pm: GanPluginManager | None = None,
             run_dir: Path | None = None, data_root: str | Path | None = None) -> Any:
    """Rebuild the recipe of a run directory (or checkpoint file) with its newest weights.

    The recipe is rebuilt on the dataset it was trained on (its shapes, vocabulary and held-out
    split come from there). ``data_root`` points at that dataset's new location when it moved
    (``--data-root`` of ``gan sample/eval/translate``); a recorded location that is gone is one
    clear error saying so rather than a confusing complaint about a flag the user never gave.
    """
    pm = pm or GanPluginManager().load()
    p = Path(path).expanduser()
    run_root, ckpt, state = _find_checkpoint(p)
    try:
        values = json.loads(state["config"])
        run_values = json.loads(state["run"])
    except (KeyError, json.JSONDecodeError, TypeError):
        raise GanError(f"checkpoint {ckpt}: config missing or unreadable") from None
    run = RunConfig()
    apply_mapping(run, {k: v for k, v in run_values.items() if k != "device"}, label="saved run config")
    model = state["model"]
    if model not in pm.registry("model"):
        raise choices_error("model (from checkpoint)", model, pm.registry("model").names())
    dataset = None
    recorded_root = None
    cfg_json = run_root / "config.json"
    if cfg_json.is_file():
        try:
            meta = json.loads(cfg_json.read_text(encoding="utf-8"))
            dataset = meta.get("data") if meta.get("data_root") else None
            recorded_root = meta.get("data_root")
        except (OSError, json.JSONDecodeError):
            pass
    if dataset is not None and dataset not in pm.registry("dataset"):
        raise choices_error(f"dataset (recorded in {cfg_json})", dataset, pm.registry("dataset").names())
    if data_root is not None:
        if dataset is None:
            raise GanError(f"--data-root {data_root}: run {run_root} was trained on its model's built-in "
                           f"data, which needs no files; leave --data-root out")
        if not Path(data_root).expanduser().exists():
            raise GanError(f"--data-root {data_root}: not found")
    reopened = None
    if data_root is None and recorded_root is not None and not Path(recorded_root).exists():
        # a dataset may know how to stand in from what the run saved (SeqGAN text: its tokenizer),
        # enough to sample; evaluation then asks for the data
        reopen = load_ref(pm.registry("dataset").entry(dataset).meta.get("reopen"))
        reopened = reopen(run_root) if reopen is not None else None
        if reopened is None:
            raise GanError(f"run {run_root} was trained on dataset {dataset!r} from {recorded_root}, "
                           f"which no longer exists; pass --data-root with its new location")
    data_root = data_root if data_root is not None else recorded_root
    built = build_recipe(model, pm=pm, run=run, device=device, config_values=values,
                         dataset=dataset, data_root=data_root, data=reopened)
    trainer = make_trainer(built, run_dir, pm=pm)
    trainer.load_state_dict(state, weights_only=True)
    trainer.step = state["step"]
    built.recipe.checkpoint_path = ckpt
    built.recipe.run_dir = run_root
    for m in built.recipe.models.values():
        m.eval()
    return built.recipe

"""``gan import``: load another project's generator weights into one of our models, as a run.

Users hold checkpoints of the projects our models follow (pytorch-CycleGAN-and-pix2pix's
``latest_net_G.pth``, StarGAN's ``200000-G.ckpt``, PyTorch-GAN generator state dicts). A recipe
class that can take them declares two class-level functions:

* ``import_config(source, states, **options) -> dict`` — config values the weights imply (widths,
  block counts, sizes); the user's ``--set`` values win over them;
* ``import_weights(self, source, states, **options)`` — map the state dicts onto its modules, usually
  by building a :class:`KeyMap` and calling :func:`apply_key_map`.

The weights are read with ``torch.load(weights_only=True)`` (no code is unpickled). The result is an
ordinary run directory (``config.json`` + a step-0 checkpoint) for ``gan sample / translate / eval
/ export``. Any key, shape or count that does not fit is one line naming the first offending key.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from .errors import GanError

SOURCES = ("cyclegan-and-pix2pix", "stargan", "pytorch-gan")


def load_state_file(path: str | Path) -> dict[str, torch.Tensor]:
    """A state dict of tensors from ``path`` (``weights_only``); unwraps ``{"state_dict": ...}`` style
    containers and DataParallel's ``module.`` prefix."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise GanError(f"{path}: no such weights file")
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # noqa: BLE001 - pickles with code, zip errors, truncated files
        first = str(e).strip().splitlines()[0][:200] if str(e).strip() else type(e).__name__
        raise GanError(f"{path}: not a readable weights-only PyTorch file ({first})") from None
    for key in ("state_dict", "model", "G", "generator", "netG"):
        if isinstance(obj, Mapping) and key in obj and isinstance(obj[key], Mapping):
            obj = obj[key]
            break
    if not isinstance(obj, Mapping) or not obj or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise GanError(f"{path}: expected a generator state dict (names → tensors)")
    if all(k.startswith("module.") for k in obj):
        obj = {k[len("module."):]: v for k, v in obj.items()}
    return dict(obj)


@dataclass
class KeyMap:
    """How an anchor's state dict becomes ours.

    ``pairs``: anchor key → (our key, transform of the anchor tensor or ``None``). ``zero``: our
    parameters with no anchor counterpart whose anchor value is zero (a bias the anchor layer does
    not have). ``ignore``: anchor keys that play no part in the inference we reproduce (running
    statistics of norms that use per-sample statistics). ``arch``: what the anchor network is, for
    messages.
    """

    arch: str
    pairs: dict[str, tuple[str, Callable[[torch.Tensor], torch.Tensor] | None]] = field(default_factory=dict)
    zero: list[str] = field(default_factory=list)
    ignore: Callable[[str], bool] = lambda key: False

    def add(self, anchor: str, ours: str, transform: Callable[[torch.Tensor], torch.Tensor] | None = None) -> None:
        self.pairs[anchor] = (ours, transform)


def _shape(t: Any) -> str:
    return "(" + ", ".join(map(str, tuple(t))) + ")"


def apply_key_map(module: nn.Module, state: Mapping[str, torch.Tensor], km: KeyMap, label: str,
                  hint: str = "") -> None:
    """Load ``state`` (anchor names) into ``module`` through ``km``; every parameter and buffer of
    ``module`` must be covered. The first key that does not fit is one line (``GanError``)."""
    ours = module.state_dict()
    hint = f" ({hint})" if hint else ""
    new: dict[str, torch.Tensor] = {}
    for key, value in state.items():
        if key in km.pairs:
            target, transform = km.pairs[key]
            expected = ours[target].shape
            if tuple(value.shape) != tuple(expected):
                raise GanError(f"{label}: key {key!r} has shape {_shape(value.shape)}, expected "
                               f"{_shape(expected)} for the {km.arch} matching this config{hint}")
            new[target] = (transform(value) if transform is not None else value).to(ours[target].dtype)
        elif not km.ignore(key):
            raise GanError(f"{label}: unexpected key {key!r}: not part of a {km.arch} with this config{hint}")
    for anchor, (target, _) in km.pairs.items():
        if anchor not in state:
            raise GanError(f"{label}: key {anchor!r} is missing, expected {_shape(ours[target].shape)} "
                           f"for the {km.arch} matching this config{hint}")
    for target in km.zero:
        new[target] = torch.zeros_like(ours[target])
    missing = [k for k in ours if k not in new]
    if missing:  # a key map that forgot one of our tensors is a bug here, not the user's
        raise RuntimeError(f"import key map for {km.arch} leaves {missing[0]!r} unset")
    module.load_state_dict(new)


def import_weights(source: str, weights: str | Path, model: str, *, assignments: list[tuple[str, str]] = (),
                   preset: str | None = None, dataset: str | None = None, data_root: str | Path | None = None,
                   run_dir: str | Path, pm: Any = None, **options: Any) -> Path:
    """Build ``model`` with the config the weights imply (``assignments`` win), load them, and write a
    run directory; returns the checkpoint path."""
    from .checkpoint import atomic_write_text
    from .config import RunConfig
    from .metrics.extractors import _file_sha256
    from .plugins import GanPluginManager
    from .runs import build_recipe, check_run_dir
    from .trainer import AdversarialTrainer
    if source not in SOURCES:
        raise GanError(f"--from {source!r}: expected one of {', '.join(SOURCES)}")
    pm = pm or GanPluginManager().load()  # no process-wide manager: the CLI hands its own
    name = pm.default_model(model)
    recipe_cls = pm.registry("model").resolve(name)
    able = [e.name for e in pm.registry("model").entries() if hasattr(e.obj, "import_weights")]
    if not hasattr(recipe_cls, "import_weights"):
        raise GanError(f"--plugin {name}: cannot import weights; models that can: {', '.join(able)}")
    run_dir = check_run_dir(Path(run_dir))
    if (run_dir / "checkpoints").is_dir() and any((run_dir / "checkpoints").glob("ckpt-*.pt")):
        raise GanError(f"--run-dir {run_dir} already holds checkpoints; choose another --run-dir")
    files = [Path(weights).expanduser()]
    if options.get("weights_b") is not None:
        files.append(Path(options["weights_b"]).expanduser())
    options = {k: v for k, v in options.items() if k != "weights_b" and v is not None}
    states = [load_state_file(f) for f in files]
    labels = [str(f) for f in files]
    inferred = recipe_cls.import_config(source, states, labels=labels, **options)
    given = {k for k, _ in assignments}
    merged = [(k, v if isinstance(v, str) else json.dumps(v)) for k, v in inferred.items() if k not in given]
    built = build_recipe(name, pm=pm, preset=preset, assignments=merged + list(assignments),
                         dataset=dataset, data_root=data_root, run=RunConfig())
    recipe = built.recipe
    recipe.import_weights(source, states, labels=labels, **options)
    trainer = AdversarialTrainer(recipe, built.run, run_dir)  # after loading: EMA copies start from them
    trainer._write_run_files()
    path = trainer.save_checkpoint()
    atomic_write_text(run_dir / "imported.json", json.dumps(
        {"source": source, "files": [{"path": str(f.resolve()), "sha256": _file_sha256(f)} for f in files],
         "model": name, "inferred_config": inferred, "note": "generator weights only; the "
         "discriminator is freshly initialised"}, indent=2, sort_keys=True) + "\n")
    return path


__all__ = ["KeyMap", "apply_key_map", "load_state_file", "import_weights", "SOURCES"]

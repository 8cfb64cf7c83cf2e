"""TensorBoard logging as a plugin of the lifecycle hooks.

Active when the ``tensorboard`` package is installed and ``run.tensorboard`` is true; events go to
``<run_dir>/tensorboard``. Written as a plugin so that other loggers (W&B, MLflow) can follow the
same pattern from a third-party package.
"""

from __future__ import annotations

from typing import Any

from . import hookimpl

_WRITERS: dict[int, Any] = {}


def _writer(trainer: Any) -> Any:
    key = id(trainer)
    if key not in _WRITERS:
        if trainer.run_dir is None or not trainer.is_main or not trainer.config.tensorboard:
            _WRITERS[key] = None
        else:
            try:
                from torch.utils.tensorboard import SummaryWriter
            except ImportError:  # tensorboard not installed: logging is optional
                _WRITERS[key] = None
            else:
                # a resumed run logs the steps after its checkpoint again: purge_step makes
                # TensorBoard drop the killed run's events from there on instead of showing both
                purge = trainer.step + 1 if trainer.step > 0 else None
                _WRITERS[key] = SummaryWriter(log_dir=str(trainer.run_dir / "tensorboard"),
                                              purge_step=purge)
    return _WRITERS[key]


@hookimpl
def gan_on_run_start(trainer: Any) -> None:
    _writer(trainer)  # opened at the resume point, before any step moves trainer.step


@hookimpl
def gan_on_step_end(trainer: Any, step: int, logs: dict[str, float]) -> None:
    w = _writer(trainer)
    if w is not None:
        for k, v in logs.items():
            w.add_scalar(k, v, step)


@hookimpl
def gan_on_evaluate(trainer: Any, step: int, results: dict[str, float]) -> None:
    w = _writer(trainer)
    if w is not None:
        for k, v in results.items():
            w.add_scalar(k, v, step)


@hookimpl
def gan_on_samples(trainer: Any, step: int, paths: list[Any]) -> None:
    """Sample grids as images beside the scalars (tag = the file name without its step), text
    samples as text."""
    w = _writer(trainer)
    if w is None:
        return
    from pathlib import Path
    for p in map(Path, paths):
        if p.name == "progress.png":
            continue  # TensorBoard's step slider already shows the grids over time
        tag = "samples/" + _tag(p.stem)
        try:
            if p.suffix.lower() == ".png":
                import numpy as np
                from PIL import Image
                with Image.open(p) as img:
                    w.add_image(tag, np.asarray(img.convert("RGB")), step, dataformats="HWC")
            elif p.suffix.lower() == ".txt":
                lines = p.read_text(encoding="utf-8", errors="replace").splitlines()[:16]
                w.add_text(tag, "\n".join("    " + ln for ln in lines), step)  # markdown code block
        except OSError:
            continue  # a snapshot file that vanished is no reason to stop training


def _tag(stem: str) -> str:
    """``samples-00000400`` / ``pix2pix-step0000400`` → ``samples`` / ``pix2pix``: one TensorBoard
    series per grid, stepped by the slider."""
    import re
    return re.sub(r"[-_]?(step)?\d+$", "", stem) or stem


@hookimpl
def gan_on_run_end(trainer: Any, status: str) -> None:
    w = _WRITERS.pop(id(trainer), None)
    if w is not None:
        w.close()

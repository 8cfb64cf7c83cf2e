"""Running trained networks mid-run without disturbing the run: eval mode, no gradients and a
private, seeded random stream (what sample grids, evaluations and ``gan translate`` need)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence

import torch
from torch import nn

from .modes import eval_mode


@contextlib.contextmanager
def inference(modules: Sequence[nn.Module], device: torch.device, seed: int | None = 0,
              dropout: bool = False) -> Iterator[None]:
    """``no_grad`` + eval mode (dropout optionally kept on, e.g. pix2pix's test-time noise) + a
    private RNG seeded with ``seed`` (``None``: continue the global stream, still restored after).

    The global RNG state (which the trainer checkpoints) is restored afterwards and every module's
    training flag is put back, so evaluating or sampling mid-run changes nothing about the run that
    follows: a resumed run stays identical to an uninterrupted one.
    """
    devices = [device.index if device.index is not None else torch.cuda.current_device()] \
        if device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices):
        if seed is not None:
            torch.default_generator.manual_seed(int(seed))
            if devices:
                torch.cuda.manual_seed(int(seed))
        with eval_mode(*modules, keep_dropout=dropout), torch.no_grad():
            yield

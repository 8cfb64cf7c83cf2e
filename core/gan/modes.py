"""One eval-mode context for sampling, scoring and evaluating mid-run.

Sampling in eval mode keeps a sample independent of the rest of its batch (batch norm on running
statistics) and leaves the training state untouched (no running-statistics updates, dropout off),
so sampling or evaluating mid-run never changes the run that follows. Every submodule's own flag is
put back afterwards, including ones that were already in eval mode while training (a frozen
perceptual network), which ``module.train(was_training)`` would wrongly switch on.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from torch import nn


@contextlib.contextmanager
def eval_mode(*modules: nn.Module | None, keep_dropout: bool = False) -> Iterator[None]:
    """``modules`` (``None`` entries skipped) in eval mode inside the block; every submodule's
    training flag restored after. ``keep_dropout`` leaves dropout layers on (pix2pix's test-time
    noise). Gradients are not touched: combine with ``torch.no_grad()`` where none are wanted."""
    mods = [m for m in modules if m is not None]
    flags = [(m, m.training) for mod in mods for m in mod.modules()]
    for mod in mods:
        mod.eval()
    if keep_dropout:
        from torch.nn.modules.dropout import _DropoutNd
        for mod in mods:
            for m in mod.modules():
                if isinstance(m, _DropoutNd):
                    m.train()
    try:
        yield
    finally:
        for m, flag in flags:
            m.training = flag


__all__ = ["eval_mode"]

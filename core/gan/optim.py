"""One optimizer factory for every recipe.

Recipes name an optimizer and its hyperparameters in their Config (the paper's values as defaults);
this builds it over one module, several modules (CycleGAN's two generators share one optimizer),
or a parameter iterable, and turns an unknown kind into one line naming the setting.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from .errors import GanError

if TYPE_CHECKING:
    import torch
    from torch import nn

#: the kinds :func:`make_optimizer` builds (an image GAN's ``--set optimizer=`` takes these)
OPTIMIZERS = ("adam", "rmsprop")


def _parameters(params: Any) -> list[Any]:
    """Parameters of a module, of a list of modules, or an iterable of parameters/groups as is."""
    from torch import nn
    if isinstance(params, nn.Module):
        return list(params.parameters())
    items = list(params)
    if items and all(isinstance(m, nn.Module) for m in items):
        return [p for m in items for p in m.parameters()]
    return items


def make_optimizer(params: nn.Module | Iterable[Any], lr: float, betas: tuple[float, float] = (0.9, 0.999),
                   kind: str = "adam", *, fused: bool = False, setting: str = "optimizer"
                   ) -> torch.optim.Optimizer:
    """An optimizer of ``kind`` over ``params`` (a module, modules, or parameters).

    ``betas`` are Adam's (RMSprop, WGAN's choice, has none). ``fused`` asks for Adam's single-pass
    kernel where this torch and device have it (SeqGAN's many small D steps run ~6x faster on a
    CPU), falling back to the plain one. ``setting`` names the config key in the error message.
    """
    import torch
    params = _parameters(params)
    if kind == "adam":
        if fused:
            try:
                return torch.optim.Adam(params, lr=lr, betas=tuple(betas), fused=True)
            except (RuntimeError, TypeError, ValueError):  # older torch / unsupported device
                pass
        return torch.optim.Adam(params, lr=lr, betas=tuple(betas))
    if kind == "rmsprop":
        return torch.optim.RMSprop(params, lr=lr)
    raise GanError(f"--set {setting}={kind!r}: expected one of {', '.join(OPTIMIZERS)}")


__all__ = ["OPTIMIZERS", "make_optimizer"]

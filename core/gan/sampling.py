"""``gan sample --nice``: draw more candidates than asked for and keep the best-scored ones.

One rule for every model, so ``--nice`` means the same thing whatever the family: draw
``n × factor`` candidates with the recipe's :meth:`~gan.protocols.Recipe.sample`, rank them with its
:meth:`~gan.protocols.Recipe.score` (how real its discriminator finds each one; higher is more
real) and keep the ``n`` best, best first. The factor is the one oversampling setting:
``gan sample --nice`` uses :data:`NICE_FACTOR`, ``gan sample --nice 8`` eight candidates per kept
sample. Recipes whose candidates need more than ``sample()`` gives (a class-conditioned image GAN
scores an image with its label) use :func:`nice_factor` and :func:`best_indices` on their own
candidates, so the rule and the setting stay the same.

torch is imported inside the functions: ``gan --help`` reads :data:`NICE_FACTOR` without it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch

#: candidates drawn per kept sample when ``--nice`` is given without a number
NICE_FACTOR = 4


def nice_factor(nice: bool | int) -> int:
    """The oversampling factor ``nice`` asks for: ``True`` → :data:`NICE_FACTOR`; a number ≥ 1 →
    itself; ``False``/``0`` → 1 (no selection). ``export_samples(nice=...)`` passes either."""
    if nice is True:
        return NICE_FACTOR
    return max(1, int(nice or 0))


def best_indices(scores: torch.Tensor, n: int) -> torch.Tensor:
    """Indices of the ``n`` highest ``scores`` (1-D), highest first; ties keep candidate order."""
    scores = scores.detach().reshape(-1).float().cpu()
    return scores.argsort(descending=True, stable=True)[:n]


def take(samples: Any, index: torch.Tensor) -> Any:
    """``samples`` (a tensor, or a tuple/list/dict of tensors along dim 0) at ``index``."""
    import torch
    if isinstance(samples, torch.Tensor):
        return samples[index.to(samples.device)]
    if isinstance(samples, dict):
        return {k: take(v, index) for k, v in samples.items()}
    if isinstance(samples, (tuple, list)):
        return type(samples)(take(v, index) for v in samples)
    raise TypeError(f"cannot select from samples of type {type(samples).__qualname__}")


def nice_sample(recipe: Any, n: int, seed: int | None = None, nice: bool | int = True) -> tuple[Any, torch.Tensor]:
    """The ``n`` best-scored of ``n × nice_factor(nice)`` samples of ``recipe`` and their indices
    among the candidates (so a recipe can pick the matching inputs or labels), best first.

    With a factor of 1 these are simply ``recipe.sample(n, seed)`` and ``0 .. n-1``.
    """
    import torch
    factor = nice_factor(nice)
    candidates = recipe.sample(n * factor, seed=seed)
    if factor == 1:
        return candidates, torch.arange(n)
    keep = best_indices(recipe.score(candidates), n)
    return take(candidates, keep), keep


__all__ = ["NICE_FACTOR", "nice_factor", "best_indices", "take", "nice_sample"]

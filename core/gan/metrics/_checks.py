"""Input validation shared by the metrics: every metric takes ``(N, D)`` feature matrices."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from ..errors import GanError, NotEnoughDataError


def feature_matrix(x: Any, what: str, *, dtype: torch.dtype = torch.float64,
                   min_rows: int = 1, device: torch.device | str | None = "cpu") -> torch.Tensor:
    """``x`` (tensor / array, ``(N, D)`` or ``(N,)``) as a finite 2-D tensor of ``dtype``.

    A 1-D input is read as ``N`` one-dimensional features. Anything else — images, NaNs, too few
    rows — is a :class:`GanError` naming ``what`` and the shape received.
    """
    if isinstance(x, np.ndarray):
        x = torch.from_numpy(np.ascontiguousarray(x))
    elif not isinstance(x, torch.Tensor):
        try:
            x = torch.as_tensor(np.asarray(x, dtype=np.float64))
        except (TypeError, ValueError):
            raise GanError(f"{what}: expected a (N, D) feature tensor, got {type(x).__name__}") from None
    if x.dim() == 1:
        x = x[:, None]
    if x.dim() != 2:
        raise GanError(f"{what}: expected a (N, D) feature tensor, got shape {tuple(x.shape)} "
                       f"(run images through a feature extractor first)")
    if x.shape[0] < min_rows:
        raise NotEnoughDataError(f"{what}: needs at least {min_rows} samples, got {x.shape[0]}")
    x = x.detach().to(device=device if device is not None else x.device, dtype=dtype)
    if not torch.isfinite(x).all():
        raise GanError(f"{what}: features contain NaN or infinite values")
    return x


def same_width(a: torch.Tensor, b: torch.Tensor, what: str) -> None:
    if a.shape[1] != b.shape[1]:
        raise GanError(f"{what}: real and fake features differ in dimension "
                       f"({a.shape[1]} vs {b.shape[1]})")


def probability_matrix(p: Any, what: str, *, min_rows: int = 1) -> torch.Tensor:
    """Class probabilities ``(N, K)``: non-negative rows summing to one (float64, CPU)."""
    p = feature_matrix(p, what, min_rows=min_rows)
    if (p < 0).any() or not torch.allclose(p.sum(dim=1), torch.ones(p.shape[0], dtype=p.dtype),
                                            atol=1e-3):
        raise GanError(f"{what}: expected class probabilities (rows >= 0 summing to 1); "
                       f"pass softmax(logits), not logits")
    return p / p.sum(dim=1, keepdim=True)

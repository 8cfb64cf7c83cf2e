"""Wasserstein distances between empirical distributions: exact 1-D, exact n-D by optimal
assignment, and sliced (random 1-D projections) for high dimensions.

For probability measures ``μ, ν`` the p-Wasserstein distance is
``W_p(μ, ν) = (inf_π E_{(x,y)~π} ||x - y||^p)^{1/p}`` over couplings π (Villani, 2009).

* **1-D** (:func:`wasserstein_1d`): ``W_p^p = ∫_0^1 |F^{-1}(t) - G^{-1}(t)|^p dt`` — the optimal
  coupling matches quantiles, so sorting the samples gives the exact value for any sizes and
  weights. With ``p = 1`` this equals ``∫ |F(x) - G(x)| dx`` and
  ``scipy.stats.wasserstein_distance``.
* **n-D, equal sizes** (:func:`wasserstein_exact`): between two uniform empirical measures with
  ``n`` atoms each the extreme points of the coupling polytope are permutations (Birkhoff–von
  Neumann), so the optimum is an optimal assignment, solved exactly by
  ``scipy.optimize.linear_sum_assignment`` on the cost matrix ``||x_i - y_j||^p`` (Euclidean
  ground metric). ``O(n³)`` time and ``O(n²)`` memory: meant for a few thousand points.
* **sliced** (:func:`sliced_wasserstein`): ``SW_p^p = E_θ W_p^p(θ·μ, θ·ν)`` over directions θ
  uniform on the unit sphere (Rabin et al., 2011; Bonneel et al., 2015), estimated with
  ``n_projections`` seeded random directions. A lower bound on ``W_p`` that scales to any
  dimension and sample count (``O(L·n log n)``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from ..errors import GanError
from ._checks import feature_matrix, same_width


def _weights(w: Any, n: int, what: str) -> np.ndarray:
    if w is None:
        return np.full(n, 1.0 / n)
    w = np.asarray(w, dtype=np.float64).reshape(-1)
    if w.shape[0] != n or (w < 0).any() or not np.isfinite(w).all() or w.sum() <= 0:
        raise GanError(f"wasserstein_1d: {what} must be {n} non-negative finite weights with a "
                       f"positive sum")
    return w / w.sum()


def _values_1d(x: Any, what: str) -> np.ndarray:
    a = np.asarray(x.detach().cpu() if isinstance(x, torch.Tensor) else x, dtype=np.float64)
    if a.ndim == 2 and a.shape[1] == 1:
        a = a[:, 0]
    if a.ndim != 1 or a.shape[0] == 0:
        raise GanError(f"wasserstein_1d: {what} must be a non-empty 1-D sample, got shape {a.shape}")
    if not np.isfinite(a).all():
        raise GanError(f"wasserstein_1d: {what} contains NaN or infinite values")
    return a


def wasserstein_1d(u: Any, v: Any, p: float = 1.0, u_weights: Any = None,
                   v_weights: Any = None) -> float:
    """Exact ``W_p`` between two 1-D empirical distributions (any sizes, optional weights).

    Integrates ``|F^{-1}(t) - G^{-1}(t)|^p`` exactly over the merged breakpoints of the two
    (piecewise constant) quantile functions.
    """
    if p < 1:
        raise GanError(f"wasserstein_1d: p must be >= 1, got {p}")
    a, b = _values_1d(u, "u"), _values_1d(v, "v")
    wa, wb = _weights(u_weights, a.shape[0], "u_weights"), _weights(v_weights, b.shape[0], "v_weights")
    ia, ib = np.argsort(a, kind="stable"), np.argsort(b, kind="stable")
    a, wa, b, wb = a[ia], wa[ia], b[ib], wb[ib]
    ca, cb = np.cumsum(wa), np.cumsum(wb)
    ca[-1] = cb[-1] = 1.0
    t = np.union1d(ca, cb)  # right ends of the intervals on which both quantiles are constant
    widths = np.diff(np.concatenate([[0.0], t]))
    qa = a[np.minimum(np.searchsorted(ca, t, side="left"), a.shape[0] - 1)]
    qb = b[np.minimum(np.searchsorted(cb, t, side="left"), b.shape[0] - 1)]
    return float(np.sum(widths * np.abs(qa - qb) ** p) ** (1.0 / p))


def wasserstein_exact(x: Any, y: Any, p: float = 1.0, max_n: int = 5000) -> float:
    """Exact ``W_p`` (Euclidean ground metric) between two equal-size ``(n, d)`` samples.

    Solves the optimal assignment with ``scipy.optimize.linear_sum_assignment``; refuses more than
    ``max_n`` points (use :func:`sliced_wasserstein`, or subsample).
    """
    from scipy.optimize import linear_sum_assignment

    if p < 1:
        raise GanError(f"wasserstein_exact: p must be >= 1, got {p}")
    a = feature_matrix(x, "wasserstein_exact x")
    b = feature_matrix(y, "wasserstein_exact y")
    same_width(a, b, "wasserstein_exact")
    if a.shape[0] != b.shape[0]:
        raise GanError(f"wasserstein_exact: needs equal sample counts (got {a.shape[0]} and "
                       f"{b.shape[0]}); subsample or use sliced_wasserstein")
    if a.shape[0] > max_n:
        raise GanError(f"wasserstein_exact: {a.shape[0]} points exceed max_n={max_n} "
                       f"(O(n^3) assignment); subsample or use sliced_wasserstein")
    cost = (torch.cdist(a, b) ** p).numpy()
    rows, cols = linear_sum_assignment(cost)
    return float(cost[rows, cols].mean() ** (1.0 / p))


def random_directions(n: int, dim: int, seed: int = 0) -> torch.Tensor:
    """``n`` directions uniform on the unit sphere in ``R^dim`` (float64, seeded generator)."""
    g = torch.Generator().manual_seed(int(seed))
    d = torch.randn(n, dim, generator=g, dtype=torch.float64)
    return d / torch.linalg.vector_norm(d, dim=1, keepdim=True)


def sliced_wasserstein(x: Any, y: Any, n_projections: int = 128, p: float = 1.0,
                       seed: int = 0) -> float:
    """Sliced ``W_p``: ``(mean_θ W_p^p(θ·x, θ·y))^{1/p}`` over ``n_projections`` random directions.

    Directions come from a generator seeded with ``seed`` (reproducible, global RNG untouched).
    Sample sizes may differ (equal sizes take a vectorised sort path).
    """
    if p < 1:
        raise GanError(f"sliced_wasserstein: p must be >= 1, got {p}")
    if n_projections < 1:
        raise GanError(f"sliced_wasserstein: n_projections must be >= 1, got {n_projections}")
    a = feature_matrix(x, "sliced_wasserstein x")
    b = feature_matrix(y, "sliced_wasserstein y")
    same_width(a, b, "sliced_wasserstein")
    theta = random_directions(n_projections, a.shape[1], seed)
    pa, pb = a @ theta.T, b @ theta.T  # (n, L) projections
    if a.shape[0] == b.shape[0]:
        per_direction = (pa.sort(dim=0).values - pb.sort(dim=0).values).abs().pow(p).mean(dim=0)
        return float(per_direction.mean() ** (1.0 / p))
    total = sum(wasserstein_1d(pa[:, i], pb[:, i], p) ** p for i in range(n_projections))
    return float((total / n_projections) ** (1.0 / p))

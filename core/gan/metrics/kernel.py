"""Kernel two-sample statistics: unbiased MMD² and the Kernel Inception Distance (KID).

Maximum mean discrepancy (Gretton et al., 2012, "A Kernel Two-Sample Test"): for samples
``X = {x_i}_{i≤m}``, ``Y = {y_j}_{j≤n}`` and a kernel ``k`` the unbiased estimator is::

    MMD²_u = 1/(m(m-1)) Σ_{i≠i'} k(x_i, x_i') + 1/(n(n-1)) Σ_{j≠j'} k(y_j, y_j')
             - 2/(mn) Σ_{i,j} k(x_i, y_j)

(it can be slightly negative when the distributions match). KID (Bińkowski et al., 2018,
"Demystifying MMD GANs") is MMD²_u with the cubic polynomial kernel
``k(x, y) = (x·y / d + 1)³`` on ``d``-dimensional features, averaged over random subsets of equal
size drawn without replacement; its mean is unbiased, unlike FID, so it is comparable across
sample counts. The subset protocol follows the authors' code: ``subsets = 100`` subsets of
``min(subset_size = 1000, n_real, n_fake)`` points each, population standard deviation over subsets.

Implemented here rather than through torchmetrics' ``KernelInceptionDistance`` because that class
draws its subsets from the global RNG (evaluation would shift the training RNG stream and could
not be reproduced from a seed alone) and computes in the features' own dtype; here a private
seeded ``torch.Generator`` picks the subsets and kernels are evaluated in float64 by default.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import torch

from ..errors import GanError, choices_error
from ._checks import feature_matrix, same_width


def polynomial_kernel(x: torch.Tensor, y: torch.Tensor, degree: int = 3,
                      gamma: float | None = None, coef0: float = 1.0) -> torch.Tensor:
    """``(gamma · x·y + coef0) ** degree`` for all pairs; ``gamma`` defaults to ``1 / d``."""
    if gamma is None:
        gamma = 1.0 / x.shape[1]
    return (x @ y.T * gamma + coef0) ** degree


def rbf_kernel(x: torch.Tensor, y: torch.Tensor, sigma: float) -> torch.Tensor:
    """Gaussian kernel ``exp(-||x - y||² / (2 σ²))`` for all pairs."""
    return torch.exp(-torch.cdist(x, y).square() / (2.0 * sigma**2))


def median_heuristic(x: torch.Tensor, y: torch.Tensor, max_points: int = 2000, seed: int = 0) -> float:
    """Median pairwise Euclidean distance of the pooled sample (a seeded subsample of at most
    ``max_points`` points), the usual bandwidth choice for the RBF kernel (Gretton et al., 2012)."""
    z = torch.cat([x, y])
    if z.shape[0] > max_points:
        g = torch.Generator().manual_seed(seed)
        z = z[torch.randperm(z.shape[0], generator=g)[:max_points]]
    d = torch.pdist(z)
    med = float(d.median()) if d.numel() else 0.0
    return med if med > 0 else 1.0


def _mmd2_from_kernels(k_xx: torch.Tensor, k_yy: torch.Tensor, k_xy: torch.Tensor,
                       unbiased: bool = True) -> torch.Tensor:
    m, n = k_xx.shape[0], k_yy.shape[0]
    if not unbiased:
        return k_xx.mean() + k_yy.mean() - 2 * k_xy.mean()
    xx = (k_xx.sum() - k_xx.diagonal().sum()) / (m * (m - 1))
    yy = (k_yy.sum() - k_yy.diagonal().sum()) / (n * (n - 1))
    return xx + yy - 2 * k_xy.mean()


def mmd2(x: Any, y: Any, kernel: str = "poly", *, degree: int = 3, gamma: float | None = None,
         coef0: float = 1.0, sigma: float | None = None, unbiased: bool = True,
         dtype: torch.dtype = torch.float64) -> float:
    """Squared MMD between feature sets ``x (m, d)`` and ``y (n, d)`` (sizes may differ).

    Args:
        kernel: ``"poly"`` — ``(gamma x·y + coef0)^degree`` (defaults: KID's cubic kernel) — or
            ``"rbf"`` — ``exp(-||x-y||²/(2σ²))`` with ``sigma`` defaulting to the median heuristic.
        unbiased: the U-statistic above (needs ≥ 2 samples per set); ``False`` gives the biased
            V-statistic (diagonal terms included, always ≥ 0).
        dtype: computation dtype (float64 by default; float32 is faster on large sets).
    """
    a = feature_matrix(x, "mmd2 x", min_rows=2, dtype=dtype)
    b = feature_matrix(y, "mmd2 y", min_rows=2, dtype=dtype)
    same_width(a, b, "mmd2")
    if kernel == "poly":
        k = lambda u, v: polynomial_kernel(u, v, degree, gamma, coef0)  # noqa: E731
    elif kernel == "rbf":
        bw = median_heuristic(a, b) if sigma is None else float(sigma)
        if bw <= 0:
            raise GanError(f"mmd2: rbf bandwidth sigma must be > 0, got {bw}")
        k = lambda u, v: rbf_kernel(u, v, bw)  # noqa: E731
    else:
        raise choices_error("kernel", kernel, ["poly", "rbf"])
    return float(_mmd2_from_kernels(k(a, a), k(b, b), k(a, b), unbiased))


class KIDResult(NamedTuple):
    """KID mean and (population) standard deviation over subsets."""

    mean: float
    std: float


def kid_subset_size(n_real: int, n_fake: int, subset_size: int = 1000) -> int:
    """The subset size KID actually uses: ``min(subset_size, n_real, n_fake)``."""
    return min(int(subset_size), int(n_real), int(n_fake))


def kernel_inception_distance(real_feats: Any, fake_feats: Any, subsets: int = 100,
                              subset_size: int = 1000, *, degree: int = 3,
                              gamma: float | None = None, coef0: float = 1.0, seed: int = 0,
                              dtype: torch.dtype = torch.float64,
                              device: torch.device | str = "cpu") -> KIDResult:
    """KID: unbiased cubic-kernel MMD² averaged over ``subsets`` random subsets.

    Each subset draws ``min(subset_size, n_real, n_fake)`` real and fake points without
    replacement from a generator seeded with ``seed`` (the global RNG is not touched). Returns
    ``KIDResult(mean, std)``; multiply by 1000 for the "KID × 10³" convention of many papers.
    """
    if subsets < 1:
        raise GanError(f"kernel_inception_distance: subsets must be >= 1, got {subsets}")
    real = feature_matrix(real_feats, "KID real features", min_rows=2, dtype=dtype, device=device)
    fake = feature_matrix(fake_feats, "KID fake features", min_rows=2, dtype=dtype, device=device)
    same_width(real, fake, "kernel_inception_distance")
    m = kid_subset_size(real.shape[0], fake.shape[0], subset_size)
    if m < 2:
        raise GanError(f"kernel_inception_distance: subset_size must be >= 2, got {subset_size}")
    g = torch.Generator().manual_seed(int(seed))
    values = []
    for _ in range(subsets):
        r = real[torch.randperm(real.shape[0], generator=g)[:m].to(real.device)]
        f = fake[torch.randperm(fake.shape[0], generator=g)[:m].to(fake.device)]
        values.append(_mmd2_from_kernels(polynomial_kernel(r, r, degree, gamma, coef0),
                                         polynomial_kernel(f, f, degree, gamma, coef0),
                                         polynomial_kernel(r, f, degree, gamma, coef0)))
    v = torch.stack(values).double().cpu()
    return KIDResult(float(v.mean()), float(v.std(unbiased=False)))

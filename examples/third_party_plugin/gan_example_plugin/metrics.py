"""Sample-based quality measures for low-dimensional data (or any feature vectors).

* :func:`mmd2`: unbiased squared maximum mean discrepancy (Gretton et al. 2012) with a sum of
  Gaussian kernels at several bandwidths; about 0 when both samples come from one distribution.
* :func:`precision_recall`: improved precision and recall (Kynkäänniemi et al. 2019): the fraction
  of generated points inside the real manifold (the union of balls reaching each real point's k-th
  nearest real neighbour) and of real points inside the generated manifold.

:func:`knn_precision_recall` wraps the latter in the shape ganforge's metric registry takes.
"""

from __future__ import annotations

from typing import Any

import torch

from gan import GanError

#: kernel bandwidths of the MMD, in data units (the shapes span about [-1, 1])
MMD_BANDWIDTHS = (0.05, 0.1, 0.2, 0.5, 1.0)


def mmd2(x: torch.Tensor, y: torch.Tensor, bandwidths: tuple[float, ...] = MMD_BANDWIDTHS) -> float:
    """Unbiased MMD² between samples ``x`` (n, d) and ``y`` (m, d), summed Gaussian kernels."""
    x, y = x.double(), y.double()
    n, m = len(x), len(y)
    if n < 2 or m < 2:
        raise ValueError("mmd2 needs at least 2 points in each sample")
    dxx, dyy, dxy = torch.cdist(x, x).square(), torch.cdist(y, y).square(), torch.cdist(x, y).square()
    total = 0.0
    for s in bandwidths:
        kxx, kyy, kxy = ((-d / (2 * s * s)).exp() for d in (dxx, dyy, dxy))
        # the diagonals (k(x, x) = 1) are left out: that is what makes the estimate unbiased
        total += float((kxx.sum() - n) / (n * (n - 1)) + (kyy.sum() - m) / (m * (m - 1))
                       - 2 * kxy.mean())
    return total


def precision_recall(real: torch.Tensor, fake: torch.Tensor, k: int = 3) -> tuple[float, float]:
    """Improved precision and recall (Kynkäänniemi et al. 2019) with k-NN balls."""
    real, fake = real.double(), fake.double()

    def radii(a: torch.Tensor) -> torch.Tensor:
        d = torch.cdist(a, a)
        return d.kthvalue(k + 1, dim=1).values  # +1: the point itself is its own nearest neighbour

    def inside(points: torch.Tensor, centres: torch.Tensor, r: torch.Tensor) -> float:
        return (torch.cdist(points, centres) <= r[None, :]).any(1).double().mean().item()

    return inside(fake, real, radii(real)), inside(real, fake, radii(fake))


def knn_precision_recall(real: Any, fake: Any, *, k: int = 3, **_: Any) -> dict[str, Any]:
    """Improved precision and recall with k-NN manifolds (Kynkäänniemi et al. 2019)."""
    real, fake = torch.as_tensor(real), torch.as_tensor(fake)
    if real.ndim != 2 or fake.ndim != 2 or real.shape[1] != fake.shape[1]:
        raise GanError(f"knn-precision-recall needs two (N, D) feature matrices of equal D, got "
                       f"{tuple(real.shape)} and {tuple(fake.shape)}")
    if min(len(real), len(fake)) <= k:
        raise GanError(f"knn-precision-recall with k={k} needs more than {k} samples per set")
    precision, recall = precision_recall(real, fake, k=k)
    return {"precision": precision, "recall": recall,
            "protocol": {"k": k, "n_real": len(real), "n_fake": len(fake)}}

"""Fréchet distance between Gaussians fitted to features (FID when the features are Inception's).

Heusel et al. (2017), "GANs Trained by a Two Time-Scale Update Rule Converge to a Local Nash
Equilibrium": fit ``N(μ_r, Σ_r)`` to real features and ``N(μ_g, Σ_g)`` to generated ones, and report
the squared 2-Wasserstein (Fréchet) distance between the two Gaussians::

    d² = ||μ_r - μ_g||² + Tr(Σ_r + Σ_g - 2 (Σ_r Σ_g)^{1/2})

Covariances are the unbiased sample covariances (``N - 1``). The value depends strongly on the
feature extractor and on the sample counts (it is biased upwards for small N), so compare numbers
only under the same protocol (:mod:`gan.metrics.protocol`).

:func:`frechet_distance` goes through :class:`torchmetrics.image.fid.FrechetInceptionDistance`,
which accepts any ``nn.Module`` as feature extractor: an identity module with a ``num_features``
attribute feeds it the precomputed features directly (no dummy forward, no download; it
accumulates the moments in float64 and takes the trace term from the eigenvalues of
``Σ_r Σ_g``). :func:`frechet_distance_from_stats` serves cached statistics (:class:`FeatureStats`)
and computes the same quantity in float64 itself, via the symmetric form
``Tr (Σ_r Σ_g)^{1/2} = Σ_i sqrt(λ_i(Σ_r^{1/2} Σ_g Σ_r^{1/2}))`` (eigh of symmetric PSD matrices:
no complex round-off as with a general ``sqrtm``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from ._checks import feature_matrix, same_width


class _PrecomputedFeatures(nn.Module):
    """Identity "extractor" so torchmetrics' FID consumes features we already computed."""

    def __init__(self, num_features: int) -> None:
        super().__init__()
        self.num_features = int(num_features)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x


def frechet_distance(real_feats: Any, fake_feats: Any) -> float:
    """FID-style Fréchet distance between two ``(N, D)`` feature sets (N ≥ 2 each).

    Computed in float64 on the CPU by torchmetrics' ``FrechetInceptionDistance`` fed with the
    features through an identity module. Returns a Python float.
    """
    from torchmetrics.image.fid import FrechetInceptionDistance

    real = feature_matrix(real_feats, "frechet_distance real features", min_rows=2)
    fake = feature_matrix(fake_feats, "frechet_distance fake features", min_rows=2)
    same_width(real, fake, "frechet_distance")
    metric = FrechetInceptionDistance(feature=_PrecomputedFeatures(real.shape[1]))
    metric.update(real, real=True)
    metric.update(fake, real=False)
    return float(metric.compute())


@dataclass
class FeatureStats:
    """Mean and unbiased covariance of a feature set (float64), e.g. cached for the real data."""

    mu: torch.Tensor
    sigma: torch.Tensor
    n: int

    @classmethod
    def of(cls, feats: Any) -> FeatureStats:
        return gaussian_stats(feats)

    def frechet_distance(self, other: FeatureStats) -> float:
        return frechet_distance_from_stats(self.mu, self.sigma, other.mu, other.sigma)

    def state_dict(self) -> dict[str, Any]:
        """Tensors and ints only (safe with ``torch.load(weights_only=True)``)."""
        return {"mu": self.mu, "sigma": self.sigma, "n": self.n}

    @classmethod
    def from_state_dict(cls, state: dict[str, Any]) -> FeatureStats:
        return cls(state["mu"].double(), state["sigma"].double(), int(state["n"]))


def gaussian_stats(feats: Any) -> FeatureStats:
    """``FeatureStats`` (mean, unbiased covariance, count) of ``(N, D)`` features, float64."""
    x = feature_matrix(feats, "gaussian_stats features", min_rows=2)
    mu = x.mean(dim=0)
    centred = x - mu
    sigma = centred.T @ centred / (x.shape[0] - 1)
    return FeatureStats(mu, sigma, x.shape[0])


def _sqrt_psd(m: torch.Tensor) -> torch.Tensor:
    vals, vecs = torch.linalg.eigh((m + m.T) / 2)
    return (vecs * vals.clamp_min(0).sqrt()) @ vecs.T


def frechet_distance_from_stats(mu1: Any, sigma1: Any, mu2: Any, sigma2: Any) -> float:
    """Fréchet distance between ``N(mu1, sigma1)`` and ``N(mu2, sigma2)`` in float64.

    ``Tr (Σ1 Σ2)^{1/2}`` is taken as the sum of square roots of the eigenvalues of the symmetric
    PSD matrix ``Σ1^{1/2} Σ2 Σ1^{1/2}`` (similar to ``Σ1 Σ2``, hence the same spectrum); tiny
    negative eigenvalues from round-off are clamped to zero.
    """
    mu1, mu2 = (torch.as_tensor(m, dtype=torch.float64).reshape(-1) for m in (mu1, mu2))
    s1, s2 = (torch.as_tensor(s, dtype=torch.float64) for s in (sigma1, sigma2))
    root1 = _sqrt_psd(s1)
    middle = root1 @ s2 @ root1
    tr_covmean = torch.linalg.eigvalsh((middle + middle.T) / 2).clamp_min(0).sqrt().sum()
    value = (mu1 - mu2).square().sum() + torch.trace(s1) + torch.trace(s2) - 2 * tr_covmean
    return float(value)


def fid_images(extractor: Any, real_images: Any, fake_images: Any, batch_size: int = 256,
               device: torch.device | str | None = None) -> float:
    """Fréchet distance of ``extractor`` features of two image sets.

    ``real_images`` / ``fake_images`` are ``(N, C, H, W)`` tensors (``[-1, 1]`` floats or uint8) or
    iterables of batches (a DataLoader; ``(images, labels)`` tuples are fine). The extractor is run
    under ``no_grad`` in batches of ``batch_size``; see :func:`gan.metrics.extract_features`.
    """
    from .extractors import extract_features

    real = extract_features(extractor, real_images, batch_size=batch_size, device=device)
    fake = extract_features(extractor, fake_images, batch_size=batch_size, device=device)
    return frechet_distance(real, fake)

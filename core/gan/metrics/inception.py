"""Inception Score and Mode Score from class probabilities ``p(y|x)`` of generated samples.

The classifier is up to the caller (Inception-v3 on ImageNet for the published numbers, the
framework's :class:`~gan.metrics.extractors.DomainClassifier` for in-domain evaluation); these
functions only see the ``(N, K)`` probability matrix. Computed in float64 with ``0·log 0 = 0``.

Inception Score (Salimans et al., 2016, "Improved Techniques for Training GANs")::

    IS = exp( E_x KL(p(y|x) || p(y)) ),   p(y) = E_x p(y|x)

estimated on ``splits`` consecutive, equally sized parts of the sample (the original code's
protocol: 50 000 samples, 10 splits), reporting mean and population std over parts. It ranges
from 1 (all predictions identical) to K (confident and uniformly spread over the K classes).

Mode Score (Che et al., 2017, "Mode Regularized Generative Adversarial Networks") also compares the
generated label marginal with the training one ``p_train(y)``::

    MS = exp( E_x KL(p(y|x) || p(y)) - KL(p(y) || p_train(y)) ) = IS · exp(-KL(p(y) || p_train(y)))

so missing or over-represented classes lower it; MS = IS when ``p(y) = p_train(y)``. (Writing
``p_train(y)`` instead of ``p(y)`` inside the first KL gives, after expanding both KLs, exactly the
Inception Score again: the two ``log p_train`` terms cancel. The form above is the one that
actually penalises a label-marginal mismatch.)
"""

from __future__ import annotations

from typing import Any, NamedTuple

import torch

from ..errors import GanError
from ._checks import probability_matrix


class ScoreResult(NamedTuple):
    """Mean and population standard deviation over splits."""

    mean: float
    std: float


def _kl_rows(p: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
    """``KL(p_i || q)`` for each row ``p_i`` (``q`` broadcast), with ``0 log 0 = 0``."""
    return (torch.xlogy(p, p) - torch.xlogy(p, q.expand_as(p))).sum(dim=-1)


def _split_bounds(n: int, splits: int) -> list[tuple[int, int]]:
    if not 1 <= splits <= n:
        raise GanError(f"splits must be between 1 and the number of samples ({n}), got {splits}")
    return [(i * n // splits, (i + 1) * n // splits) for i in range(splits)]


def inception_score(probs: Any, splits: int = 10) -> ScoreResult:
    """Inception Score of ``(N, K)`` class probabilities (rows are ``softmax`` outputs).

    Returns ``ScoreResult(mean, std)`` over ``splits`` consecutive parts (the sample order is
    used as given; generated samples are i.i.d., so it does not matter).
    """
    p = probability_matrix(probs, "inception_score probabilities")
    scores = []
    for lo, hi in _split_bounds(p.shape[0], splits):
        part = p[lo:hi]
        scores.append(torch.exp(_kl_rows(part, part.mean(dim=0, keepdim=True)).mean()))
    s = torch.stack(scores)
    return ScoreResult(float(s.mean()), float(s.std(unbiased=False)))


def class_marginal(train: Any) -> torch.Tensor:
    """``p_train(y)`` from either a ``(K,)`` distribution / label histogram or an ``(N, K)``
    matrix of classifier probabilities on training data (averaged over rows)."""
    t = torch.as_tensor(train, dtype=torch.float64)
    if t.dim() == 2:
        t = probability_matrix(t, "mode_score training probabilities").mean(dim=0)
    if t.dim() != 1 or (t < 0).any() or float(t.sum()) <= 0:
        raise GanError("mode_score: p_train must be a (K,) non-negative class distribution or an "
                       "(N, K) probability matrix")
    return t / t.sum()


def mode_score(probs: Any, p_train: Any, splits: int = 1) -> ScoreResult:
    """Mode Score of generated ``(N, K)`` probabilities against the training label marginal.

    ``p_train`` is a ``(K,)`` class distribution (or label counts) or an ``(N_train, K)`` matrix of
    the classifier's probabilities on real training data. A class the training data never shows
    but the generator does gives ``KL = ∞`` and a score of 0.
    """
    p = probability_matrix(probs, "mode_score probabilities")
    q = class_marginal(p_train)
    if q.shape[0] != p.shape[1]:
        raise GanError(f"mode_score: p_train has {q.shape[0]} classes, probabilities have {p.shape[1]}")
    scores = []
    for lo, hi in _split_bounds(p.shape[0], splits):
        part = p[lo:hi]
        marginal = part.mean(dim=0)
        expected_kl = _kl_rows(part, marginal[None]).mean()
        scores.append(torch.exp(expected_kl - _kl_rows(marginal, q)))
    s = torch.stack(scores)
    return ScoreResult(float(s.mean()), float(s.std(unbiased=False)))

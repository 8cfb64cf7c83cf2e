"""Evaluation metrics for generative models, on feature tensors.

Every metric takes ``(N, D)`` feature matrices (or ``(N, K)`` class probabilities for the Inception
and Mode Scores), never images: turning images into features is the job of a feature extractor
(:mod:`gan.metrics.extractors`), and which extractor was used is part of the reported protocol
(:mod:`gan.metrics.protocol`). Each metric is checked in the test-suite against an independent
float64 numpy/scipy computation.

* FID (Fréchet distance): :func:`frechet_distance`, :func:`fid_images`, :class:`FeatureStats`
  (:mod:`.frechet`)
* KID and MMD²: :func:`kernel_inception_distance`, :func:`mmd2` (:mod:`.kernel`)
* Inception Score and Mode Score: :func:`inception_score`, :func:`mode_score` (:mod:`.inception`)
* Wasserstein: :func:`wasserstein_1d`, :func:`wasserstein_exact`, :func:`sliced_wasserstein`
  (:mod:`.wasserstein`)
* 1-NN two-sample test: :func:`one_nn_accuracy` (:mod:`.two_sample`)
* feature extractors: :func:`train_domain_classifier`, :class:`InceptionFeatures`,
  :class:`RawFeatures`, :func:`extract_features` (:mod:`.extractors`)
* protocol records: :func:`metric_protocol` (:mod:`.protocol`)
* several metrics at once with one protocol: :func:`compute_metrics`, :func:`evaluate_images`
  (:mod:`.evaluation`)
"""

from __future__ import annotations

from .evaluation import (
    BUILTIN_METRICS, PROB_METRICS, REGISTERED, compute_metrics, evaluate_images, fid_metric,
    is_metric, kid_metric, mode_score_metric, one_nn_metric, sliced_wasserstein_metric,
    wasserstein_metric,
)
from .extractors import (
    DomainClassifier, FeatureExtractor, InceptionFeatures, RawFeatures, extract_features,
    classifier_cache, extract_probs, train_domain_classifier,
)
from .frechet import (
    FeatureStats, fid_images, frechet_distance, frechet_distance_from_stats, gaussian_stats,
)
from .inception import ScoreResult, inception_score, mode_score
from .kernel import (
    KIDResult, kernel_inception_distance, mmd2, polynomial_kernel, rbf_kernel,
)
from .protocol import MetricProtocol, library_versions, metric_protocol
from .two_sample import OneNNResult, one_nn_accuracy
from .wasserstein import sliced_wasserstein, wasserstein_1d, wasserstein_exact

__all__ = [
    "frechet_distance", "frechet_distance_from_stats", "gaussian_stats", "FeatureStats", "fid_images",
    "kernel_inception_distance", "KIDResult", "mmd2", "polynomial_kernel", "rbf_kernel",
    "inception_score", "mode_score", "ScoreResult",
    "wasserstein_1d", "wasserstein_exact", "sliced_wasserstein",
    "one_nn_accuracy", "OneNNResult",
    "MetricProtocol", "metric_protocol", "library_versions",
    "FeatureExtractor", "DomainClassifier", "train_domain_classifier", "classifier_cache", "InceptionFeatures",
    "RawFeatures", "extract_features", "extract_probs",
    "BUILTIN_METRICS", "PROB_METRICS", "REGISTERED", "compute_metrics", "evaluate_images",
    "fid_metric", "kid_metric", "is_metric", "mode_score_metric", "one_nn_metric",
    "sliced_wasserstein_metric", "wasserstein_metric",
]

"""Several metrics at once, each figure set carrying its protocol.

:data:`BUILTIN_METRICS` maps kebab-case metric names to callables
``fn(real_feats, fake_feats, *, real_probs=None, fake_probs=None, seed=0, **options) -> dict``
returning float figures plus a ``"protocol"`` dict of the settings used (the shape
``gan_register_metrics`` entries take). :func:`compute_metrics` runs a list of them on features and
:func:`evaluate_images` first runs a feature extractor over two image sets::

    figures = evaluate_images(classifier, real_images, fake_images, metrics=("fid", "kid", "1nn"))
    # {"fid": 3.1, "kid": 0.004, "kid_std": 0.001, "1nn": 0.71, "1nn_real": 0.8, "1nn_fake": 0.62,
    #  "protocol": {"metric": "fid,kid,1nn", "n_real": 2000, "n_fake": 2000, "extractor":
    #               "domain-classifier", "extractor_info": {...}, "kid": {"subsets": 100, ...},
    #               "torch": "2.x", "torchmetrics": "1.x", ...}}
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch

from ..errors import GanError, choices_error
from ._checks import feature_matrix, same_width
from .frechet import frechet_distance
from .inception import inception_score, mode_score
from .kernel import kernel_inception_distance, kid_subset_size
from .protocol import metric_protocol
from .two_sample import one_nn_accuracy
from .wasserstein import sliced_wasserstein, wasserstein_exact


def _need_probs(name: str, probs: Any) -> torch.Tensor:
    if probs is None:
        raise GanError(f"metric {name!r} needs class probabilities (an extractor with probs())")
    return probs


def fid_metric(real: Any, fake: Any, **_: Any) -> dict[str, Any]:
    """Fréchet distance of Gaussians fitted to the features (FID)."""
    return {"fid": frechet_distance(real, fake), "protocol": {"covariance": "unbiased (N-1)"}}


def kid_metric(real: Any, fake: Any, *, seed: int = 0, subsets: int = 100,
               subset_size: int = 1000, **_: Any) -> dict[str, Any]:
    """Kernel Inception Distance: cubic-kernel unbiased MMD² over random subsets (mean, std)."""
    res = kernel_inception_distance(real, fake, subsets, subset_size, seed=seed)
    m = kid_subset_size(len(real), len(fake), subset_size)
    return {"kid": res.mean, "kid_std": res.std,
            "protocol": {"subsets": subsets, "subset_size": m, "kernel": "(x.y/d+1)^3", "seed": seed}}


def is_metric(real: Any, fake: Any, *, fake_probs: Any = None, splits: int = 10,
              **_: Any) -> dict[str, Any]:
    """Inception Score of the generated samples' class probabilities (mean, std over splits)."""
    p = _need_probs("is", fake_probs)
    splits = min(splits, len(p))
    res = inception_score(p, splits)
    return {"is": res.mean, "is_std": res.std, "protocol": {"splits": splits}}


def mode_score_metric(real: Any, fake: Any, *, real_probs: Any = None, fake_probs: Any = None,
                      **_: Any) -> dict[str, Any]:
    """Mode Score: IS penalised by KL(p(y) || p_train(y)) (p_train from the real probabilities)."""
    res = mode_score(_need_probs("mode-score", fake_probs), _need_probs("mode-score", real_probs))
    return {"mode_score": res.mean, "protocol": {"p_train": "mean classifier probabilities on real"}}


def one_nn_metric(real: Any, fake: Any, **_: Any) -> dict[str, Any]:
    """Leave-one-out 1-NN two-sample accuracy (0.5 ideal), overall and per class."""
    res = one_nn_accuracy(real, fake)
    return {"1nn": res.accuracy, "1nn_real": res.real_accuracy, "1nn_fake": res.fake_accuracy,
            "protocol": {"distance": "euclidean", "leave_one_out": True}}


def sliced_wasserstein_metric(real: Any, fake: Any, *, seed: int = 0, n_projections: int = 128,
                              p: float = 1.0, **_: Any) -> dict[str, Any]:
    """Sliced Wasserstein-p distance over seeded random projections."""
    return {"sliced_wasserstein": sliced_wasserstein(real, fake, n_projections, p, seed),
            "protocol": {"n_projections": n_projections, "p": p, "seed": seed}}


def wasserstein_metric(real: Any, fake: Any, *, seed: int = 0, max_n: int = 2000, p: float = 1.0,
                       **_: Any) -> dict[str, Any]:
    """Exact Wasserstein-p by optimal assignment on equal-size seeded subsamples (≤ max_n)."""
    n = min(len(real), len(fake), max_n)
    g = torch.Generator().manual_seed(int(seed))
    r = torch.as_tensor(real)[torch.randperm(len(real), generator=g)[:n]]
    f = torch.as_tensor(fake)[torch.randperm(len(fake), generator=g)[:n]]
    return {"wasserstein": wasserstein_exact(r, f, p, max_n=max_n),
            "protocol": {"n": n, "p": p, "seed": seed, "ground_metric": "euclidean"}}


BUILTIN_METRICS: dict[str, Callable[..., dict[str, Any]]] = {
    "fid": fid_metric,
    "kid": kid_metric,
    "is": is_metric,
    "mode-score": mode_score_metric,
    "1nn": one_nn_metric,
    "sliced-wasserstein": sliced_wasserstein_metric,
    "wasserstein": wasserstein_metric,
}
"""Built-in metrics by name (for ``gan_register_metrics``)."""

REGISTERED: dict[str, str] = {name: fn.__name__ for name, fn in BUILTIN_METRICS.items()}
"""Metric name → attribute name in :mod:`gan.metrics` (read by the built-in plugin to register them)."""

PROB_METRICS = frozenset({"is", "mode-score"})
"""Metrics that need class probabilities rather than (only) features."""


def compute_metrics(real_feats: Any, fake_feats: Any,
                    metrics: Sequence[str | Callable[..., dict[str, Any]]] = ("fid", "kid", "1nn"),
                    *, real_probs: Any = None, fake_probs: Any = None, extractor: Any = None,
                    seed: int = 0, options: dict[str, dict[str, Any]] | None = None,
                    registry: Any = None, **protocol_extra: Any) -> dict[str, Any]:
    """Run ``metrics`` on two ``(N, D)`` feature sets; figures plus one ``"protocol"`` dict.

    ``metrics`` are names in :data:`BUILTIN_METRICS` or in ``registry`` (the ``metric`` registry a
    recipe was handed, ``self.registries.get("metric")``, which holds every plugin's
    ``gan_register_metrics`` entries), or callables of the same shape; ``options``
    maps a metric name to keyword options (``{"kid": {"subsets": 10}}``); ``protocol_extra``
    (e.g. ``reference="train"``) is recorded in the protocol verbatim.
    """
    real = feature_matrix(real_feats, "real features")
    fake = feature_matrix(fake_feats, "fake features")
    same_width(real, fake, "compute_metrics")
    options = options or {}
    figures: dict[str, Any] = {}
    settings: dict[str, Any] = {}
    names = []
    for metric in metrics:
        if callable(metric):
            name, fn = getattr(metric, "__name__", "custom"), metric
        elif registry is not None and metric in registry:
            name, fn = metric, registry.resolve(metric)
        elif metric in BUILTIN_METRICS:
            name, fn = metric, BUILTIN_METRICS[metric]
        else:
            known = set(BUILTIN_METRICS) | set(registry.names() if registry is not None else ())
            raise choices_error("metric", metric, known)
        out = dict(fn(real, fake, real_probs=real_probs, fake_probs=fake_probs, seed=seed,
                      **options.get(name, {})))
        settings[name] = out.pop("protocol", {})
        figures.update(out)
        names.append(name)
    figures["protocol"] = metric_protocol(",".join(names), n_real=real.shape[0], n_fake=fake.shape[0],
                                          extractor=extractor, feature_dim=real.shape[1], seed=seed,
                                          **settings, **protocol_extra)
    return figures


def evaluate_images(extractor: Any, real_images: Any, fake_images: Any,
                    metrics: Sequence[str] = ("fid", "kid", "1nn"), *, batch_size: int = 256,
                    device: torch.device | str | None = None, seed: int = 0,
                    options: dict[str, dict[str, Any]] | None = None, registry: Any = None,
                    **protocol_extra: Any) -> dict[str, Any]:
    """Extract features (and probabilities when IS / Mode Score are asked for) with ``extractor``
    from two image sets, then :func:`compute_metrics`. Images as for
    :func:`gan.metrics.extract_features` (tensors or iterables of batches; iterables are read
    twice when probabilities are needed, so pass tensors or re-iterable loaders)."""
    from .extractors import extract_features

    real = extract_features(extractor, real_images, batch_size, device)
    fake = extract_features(extractor, fake_images, batch_size, device)
    real_probs = fake_probs = None
    if PROB_METRICS.intersection(m for m in metrics if isinstance(m, str)):
        fake_probs = extract_features(extractor, fake_images, batch_size, device, kind="probs")
        if "mode-score" in metrics:
            real_probs = extract_features(extractor, real_images, batch_size, device, kind="probs")
    return compute_metrics(real, fake, metrics, real_probs=real_probs, fake_probs=fake_probs,
                           extractor=extractor, seed=seed, options=options, registry=registry,
                           **protocol_extra)

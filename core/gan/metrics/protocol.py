"""How a number was obtained: the protocol record attached to every reported metric.

A FID of 12.3 means nothing without the sample counts, the reference split, the feature extractor
(and, for a trained domain classifier, its fingerprint and held-out accuracy) and the library
versions. :class:`MetricProtocol` collects them into a flat JSON-friendly dict that callers store
next to the figures, e.g. under the ``"protocol"`` key of :meth:`gan.Recipe.evaluate`::

    fid = frechet_distance(real_feats, fake_feats)
    return {"fid": fid,
            "protocol": metric_protocol("fid", n_real=len(real_feats), n_fake=len(fake_feats),
                                        extractor=classifier, reference="train")}
"""

from __future__ import annotations

import functools
import importlib.metadata
from dataclasses import dataclass, field
from typing import Any


@functools.cache
def library_versions() -> dict[str, str]:
    """Versions of the libraries whose numerics the metrics depend on (``"missing"`` if absent)."""
    out: dict[str, str] = {}
    for dist in ("ganforge", "torch", "torchmetrics", "torchvision", "numpy", "scipy"):
        try:
            out[dist] = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            out[dist] = "missing"
    import torch

    out["torch"] = torch.__version__  # the imported one wins over metadata (local builds, +cu tags)
    if out["ganforge"] == "missing":  # running from a checkout
        from .. import __version__
        out["ganforge"] = __version__
    return out


def _extractor_fields(extractor: Any) -> tuple[str | None, dict[str, Any] | None]:
    if extractor is None:
        return None, None
    if isinstance(extractor, str):
        return extractor, None
    info = extractor.describe() if hasattr(extractor, "describe") else None
    name = getattr(extractor, "name", None) or type(extractor).__name__
    return str(name), info


@dataclass
class MetricProtocol:
    """The record of one evaluation.

    Attributes:
        metric: metric name(s) (``"fid"``; several joined by ``","``).
        n_real / n_fake: sample counts actually used.
        extractor: the feature extractor's name (``"domain-classifier"``, ``"inception-v3"``,
            ``"raw"``) and ``extractor_info`` its :meth:`describe` dict (fingerprint, accuracy, ...).
        feature_dim: dimension of the features the metric saw.
        settings: metric options (``subsets``, ``subset_size``, ``seed``, ``splits``, ...); flattened
            into the output dict.
    """

    metric: str
    n_real: int | None = None
    n_fake: int | None = None
    extractor: str | None = None
    extractor_info: dict[str, Any] | None = None
    feature_dim: int | None = None
    settings: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """``{"metric": ..., "n_real": ..., "n_fake": ..., "extractor": ..., <settings>,
        "torch": ..., "torchmetrics": ..., ...}`` (``None`` fields left out)."""
        out: dict[str, Any] = {"metric": self.metric}
        for key in ("n_real", "n_fake", "feature_dim", "extractor", "extractor_info"):
            value = getattr(self, key)
            if value is not None:
                out[key] = value
        out.update(self.settings)
        out.update(library_versions())
        return out


def metric_protocol(metric: str, *, n_real: int | None = None, n_fake: int | None = None,
                    extractor: Any = None, feature_dim: int | None = None,
                    **settings: Any) -> dict[str, Any]:
    """Shorthand for ``MetricProtocol(...).as_dict()``; ``extractor`` may be an object with
    ``name``/``describe()`` or just a name."""
    name, info = _extractor_fields(extractor)
    return MetricProtocol(metric, n_real, n_fake, name, info, feature_dim, dict(settings)).as_dict()

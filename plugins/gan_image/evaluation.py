"""Sample quality of an image GAN: FID, KID, Inception Score and 1-NN accuracy on features that fit
the data.

The default feature extractor is a small CNN the framework trains on the real training images
(:func:`gan.metrics.extractors.train_domain_classifier`): on its class labels when the data has
them, otherwise on a self-supervised rotation task (which of 0/90/180/270° was applied), so
unlabelled folders get in-domain features too. It is cached on disk under a fingerprint of the data
and its settings and in memory for the process; its accuracy on the dataset's test split (or on
held-out training images) is reported next to the figures so a reader can judge the features.
With ``--set eval.inception=PATH`` Inception-v3 from that local weights file is used instead.

Generated samples are drawn from fixed latent points (``eval.seed``) with a private generator,
so successive evaluations of a run are comparable and evaluating never shifts training's random
stream. The real reference is a fixed random subset of the training split.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch

from gan import GanError
from gan.errors import NotEnoughDataError
from gan.metrics.frechet import gaussian_stats

# (images tensor, task key, classifier): one classifier per data set and settings per process
_CLASSIFIERS: list[tuple[torch.Tensor, tuple, Any]] = []


def cache_dir(configured: str | None) -> Path:
    if configured:
        return Path(configured).expanduser()
    root = os.environ.get("GANFORGE_CACHE") or Path.home() / ".cache" / "ganforge"
    return Path(root) / "classifiers"


def rotation_task(images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Each image in its four 90° rotations, labelled 0–3 (needs square images)."""
    if images.shape[-1] != images.shape[-2]:
        raise GanError(f"unlabelled {images.shape[-2]}×{images.shape[-1]} images: the rotation task of "
                       f"the evaluation classifier needs square images (set data.image_size)")
    x = torch.cat([torch.rot90(images, k, dims=(2, 3)) for k in range(4)])
    return x, torch.arange(4).repeat_interleave(images.shape[0])


class ImageEvaluator:
    """Feature extractor + cached real features for one recipe."""

    def __init__(self, recipe: Any) -> None:
        self.recipe = recipe
        self.cfg = recipe.config.eval
        self.data = recipe.dataset
        self.task = "inception" if self.cfg.inception else ("classes" if self.data.num_classes >= 2 else "rotation")
        self._extractor: Any = None
        self._accuracy: dict[str, float] = {}
        self._real: dict[int, tuple[torch.Tensor, torch.Tensor | None]] = {}
        self._stats: dict[int, Any] = {}

    # --- the extractor --------------------------------------------------------------------------
    @property
    def extractor(self) -> Any:
        if self._extractor is None:
            if self.cfg.inception:
                from gan.metrics.extractors import InceptionFeatures
                self._extractor = InceptionFeatures.from_file(self.cfg.inception, self.recipe.device)
            else:
                self._extractor = self._classifier()
        return self._extractor

    def _classifier(self) -> Any:
        from gan.metrics.extractors import train_domain_classifier

        cfg, data = self.cfg, self.data
        n = min(cfg.classifier_images, len(data))
        if len(data) < 10:
            raise NotEnoughDataError(f"the evaluation classifier trains on the real images and needs at least "
                                     f"10, the dataset has {len(data)}; add images, or --set "
                                     f"eval.inception=PATH to use local Inception-v3 weights instead")
        if n < 10:
            raise GanError(f"--set eval.classifier_images={cfg.classifier_images}: the evaluation "
                           f"classifier needs at least 10 images")
        key = (self.task, n, cfg.classifier_epochs, str(self.recipe.device))
        for images, k, clf in _CLASSIFIERS:  # the entry holds its tensor, so equal pointers mean equal data
            if k == key and images.data_ptr() == data.images.data_ptr() and images.shape == data.images.shape:
                return clf
        idx = torch.randperm(len(data), generator=torch.Generator().manual_seed(0))[:n]
        x = data.images[idx]
        if self.task == "classes":
            y, k = data.labels[idx], data.num_classes
        else:
            x, y = rotation_task(x)
            k = 4
        clf = train_domain_classifier(x, y, epochs=cfg.classifier_epochs, num_classes=k,
                                      device=self.recipe.device,
                                      cache_path=cache_dir(cfg.cache_dir) if cfg.cache else None)
        _CLASSIFIERS.append((data.images, key, clf))
        del _CLASSIFIERS[:-8]
        return clf

    def classifier_accuracy(self) -> dict[str, float]:
        """Accuracy of the domain classifier on the test split (else its held-out training images)."""
        if self._accuracy or self.task == "inception":
            return self._accuracy
        clf, data = self.extractor, self.data
        if data.test_images is not None and self.task == "classes" and data.test_labels is not None:
            pred = clf.logits(data.test_images).argmax(1).cpu()
            self._accuracy = {"classifier_test_accuracy": float((pred == data.test_labels).float().mean())}
        elif clf.held_out_accuracy is not None:
            self._accuracy = {"classifier_heldout_accuracy": float(clf.held_out_accuracy)}
        return self._accuracy

    def _features(self, images: torch.Tensor, probs: bool) -> tuple[torch.Tensor, torch.Tensor | None]:
        ext = self.extractor
        if hasattr(ext, "features_and_logits"):  # Inception: one pass for both
            f, logits = ext.features_and_logits(images)
            return f.float().cpu(), logits.softmax(1).float().cpu() if probs else None
        f = ext.features(images)
        p = ext.head(f).softmax(1).float().cpu() if probs else None
        return f.float().cpu(), p

    def _with_probs(self) -> bool:
        """Inception Score needs class probabilities over real classes (not rotations)."""
        return self.task in ("classes", "inception")

    # --- features of real and generated images --------------------------------------------------
    def real_features(self, n: int) -> tuple[torch.Tensor, torch.Tensor | None]:
        if n not in self._real:
            order = torch.randperm(len(self.data), generator=torch.Generator().manual_seed(1))[:n]
            self._real[n] = self._batched(lambda i, j: self.data.images[order[i:j]], len(order))
        return self._real[n]

    def real_stats(self, n: int) -> Any:
        if n not in self._stats:
            self._stats[n] = gaussian_stats(self.real_features(n)[0])
        return self._stats[n]

    def fake_features(self, n: int) -> tuple[torch.Tensor, torch.Tensor | None]:
        from .base import slice_latent

        r = self.recipe
        latent = r.latent(n, generator=torch.Generator().manual_seed(self.cfg.seed))
        return self._batched(lambda i, j: r.generate_eval(slice_latent(latent, i, j)), n)

    def _batched(self, images_of: Any, n: int) -> tuple[torch.Tensor, torch.Tensor | None]:
        bs = max(1, self.cfg.batch_size)
        feats, probs = [], []
        for i in range(0, n, bs):
            f, p = self._features(images_of(i, min(n, i + bs)), self._with_probs())
            feats.append(f)
            probs.append(p)
        return torch.cat(feats), (torch.cat(probs) if self._with_probs() else None)

    # --- the figures ----------------------------------------------------------------------------
    def evaluate(self, full: bool = False) -> dict[str, Any]:
        from gan.metrics.protocol import metric_protocol

        n_fake = self.cfg.full_samples if full else self.cfg.samples
        if n_fake < 2:
            raise GanError(f"--set eval.{'full_samples' if full else 'samples'}={n_fake}: need at least 2")
        n_real = min(n_fake, len(self.data))
        real, _ = self.real_features(n_real)
        fake, fake_probs = self.fake_features(n_fake)
        out: dict[str, Any] = {"fid": self.real_stats(n_real).frechet_distance(gaussian_stats(fake))}
        settings: dict[str, Any] = {"reference": f"{self.data.name} train split, fixed random subset",
                                    "seed": self.cfg.seed, "task": self.task}
        metrics = ["fid"]
        if full:
            from gan.metrics.inception import inception_score
            from gan.metrics.kernel import kernel_inception_distance, kid_subset_size
            from gan.metrics.two_sample import one_nn_accuracy

            kid = kernel_inception_distance(real, fake, subsets=100, subset_size=1000)
            out.update(kid=kid.mean, kid_std=kid.std)
            settings.update(kid_subsets=100, kid_subset_size=kid_subset_size(len(real), len(fake), 1000))
            metrics.append("kid")
            if fake_probs is not None:
                splits = min(10, n_fake)
                score = inception_score(fake_probs, splits=splits)
                out.update(inception_score=score.mean, inception_score_std=score.std)
                settings["is_splits"] = splits
                metrics.append("is")
            nn = one_nn_accuracy(real, fake)
            out.update(one_nn_accuracy=nn.accuracy, one_nn_real=nn.real_accuracy, one_nn_fake=nn.fake_accuracy)
            metrics.append("1nn")
            floor = self._real_floor(real)
            if floor is not None:
                out["fid_real_floor"] = floor
                settings["fid_real_floor"] = "FID of held-out real images against the same reference"
        out.update(self.classifier_accuracy())
        out["protocol"] = metric_protocol(",".join(metrics), n_real=len(real), n_fake=len(fake),
                                          extractor=self.extractor, feature_dim=int(real.shape[1]),
                                          **settings)
        return out

    def _real_floor(self, real: torch.Tensor) -> float | None:
        """FID of real test images vs the reference: what a perfect generator would score here."""
        test = self.data.test_images
        if test is None or len(test) < 2:
            return None
        n = min(len(real), len(test))
        f, _ = self._batched(lambda i, j: test[i:j], n)
        return self.real_stats(len(real)).frechet_distance(gaussian_stats(f))

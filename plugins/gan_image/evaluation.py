"""Sample quality of an image GAN: FID, KID, Inception Score and 1-NN accuracy on features that fit
the data, against images the generator never saw.

* **Reference: the held-out split.** Real features come from the dataset's test split (MNIST's
  t10k files, CIFAR-10's ``test_batch``, the embedded digits' test split, a folder's held-out part,
  see ``data.held_out``). Scoring against training images would reward memorising them. Only a
  dataset without any held-out split falls back to its training images, and the protocol says so.
* **Quick and full use the same ruler.** The quick FID logged during training
  (``eval.samples``, default 1 000) and ``gan eval`` (``eval.full_samples``, default 10 000, or
  ``gan eval --samples N``) share the extractor and the reference split; the quick one is a smaller
  fixed sample (fixed latent points, the first images of a fixed order of the reference), so its
  numbers rank checkpoints the way the full evaluation does.
* **Features from an accurate classifier, or no figure.** The default extractor is a small CNN
  trained on the real *training* images (:func:`gan.metrics.extractors.train_domain_classifier`):
  on class labels when the data has them, otherwise on a self-supervised rotation task (which of
  0/90/180/270° was applied). Its accuracy on the held-out split goes beside every figure. Below
  ``eval.min_accuracy`` (90 %) its features say little about the images, and a FID from them is
  not a measurement (an untrained 7.5 %-accurate classifier once scored a random generator 0.67),
  so FID/KID/IS/1-NN are withheld and one ``withheld`` line says why. With
  ``--set eval.inception=PATH`` Inception-v3 from that local weights file is used instead.

Generated samples are drawn from fixed latent points (``eval.seed``) with a private generator,
so successive evaluations of a run are comparable and evaluating never shifts training's random
stream. The classifier is cached on disk under a fingerprint of the data and its settings, and in
memory for the process.
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


def rotation_task(images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Each image in its four 90° rotations, labelled 0–3 (needs square images)."""
    if images.shape[-1] != images.shape[-2]:
        raise GanError(f"unlabelled {images.shape[-2]}×{images.shape[-1]} images: the rotation task of "
                       f"the evaluation classifier needs square images (set data.image_size)")
    x = torch.cat([torch.rot90(images, k, dims=(2, 3)) for k in range(4)])
    return x, torch.arange(4).repeat_interleave(images.shape[0])


FEATURE_FIGURES = ("fid", "kid", "kid_std", "inception_score", "inception_score_std", "one_nn_accuracy",
                   "one_nn_real", "one_nn_fake", "fid_real_floor")
"""Figures computed from the extractor's features or probabilities: withheld when it is inaccurate."""


class ImageEvaluator:
    """Feature extractor, reference split and cached real features for one recipe."""

    def __init__(self, recipe: Any) -> None:
        self.recipe = recipe
        self.cfg = recipe.config.eval
        self.data = recipe.dataset
        self.task = "inception" if self.cfg.inception else ("classes" if self.data.num_classes >= 2 else "rotation")
        self._extractor: Any = None
        self._accuracy: dict[str, Any] | None = None
        self._real: dict[int, tuple[torch.Tensor, torch.Tensor | None]] = {}
        self._stats: dict[int, Any] = {}
        self._order: torch.Tensor | None = None

    # --- the reference split --------------------------------------------------------------------
    @property
    def held_out(self) -> bool:
        """Whether the dataset has a held-out split to score against."""
        return self.data.test_images is not None and len(self.data.test_images) >= 2

    @property
    def reference_images(self) -> torch.Tensor:
        return self.data.test_images if self.held_out else self.data.images

    @property
    def reference_name(self) -> str:
        if self.held_out:
            return f"{self.data.name} {self.data.test_name}"
        return f"{self.data.name} train split (the dataset has no held-out split)"

    def _reference_order(self) -> torch.Tensor:
        """One fixed order of the reference images: a sample of n is always its first n."""
        if self._order is None:
            n = len(self.reference_images)
            self._order = torch.randperm(n, generator=torch.Generator().manual_seed(1))
        return self._order

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
        from gan.metrics.extractors import classifier_cache, train_domain_classifier

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
                                      cache_path=classifier_cache(cfg.cache_dir, cfg.cache))
        _CLASSIFIERS.append((data.images, key, clf))
        del _CLASSIFIERS[:-8]
        return clf

    def classifier_accuracy(self) -> dict[str, Any]:
        """``{"classifier_accuracy": a, "classifier_accuracy_on": where}``: the domain classifier's
        accuracy on the held-out split (its task: classes, or rotations of unlabelled images), else
        on the part of its training images it held out; empty for Inception-v3."""
        if self._accuracy is not None:
            return self._accuracy
        self._accuracy = {}
        if self.task == "inception":
            return self._accuracy
        clf, data = self.extractor, self.data
        x = y = None
        if self.held_out and self.task == "classes" and data.test_labels is not None:
            x, y = data.test_images, data.test_labels
        elif self.held_out and self.task == "rotation" and data.test_images.shape[-1] == data.test_images.shape[-2]:
            x, y = rotation_task(data.test_images)
        if x is not None:
            bs = max(1, self.cfg.batch_size)
            pred = torch.cat([clf.logits(x[i:i + bs]).argmax(1).cpu() for i in range(0, len(x), bs)])
            self._accuracy = {"classifier_accuracy": float((pred == y).float().mean()),
                              "classifier_accuracy_on": f"{self.reference_name}, {len(x)} images"}
        elif clf.held_out_accuracy is not None:
            self._accuracy = {"classifier_accuracy": float(clf.held_out_accuracy),
                              "classifier_accuracy_on": f"{clf.info.get('n_held_out')} of its training "
                                                        f"images held out"}
        return self._accuracy

    def withheld(self) -> str | None:
        """Why the feature-based figures are not reported, or None when they are."""
        acc = self.classifier_accuracy().get("classifier_accuracy")
        if acc is None or acc >= self.cfg.min_accuracy:
            return None
        return (f"FID, KID, IS and 1-NN withheld: the evaluation classifier is {acc:.1%} accurate on "
                f"{self._accuracy['classifier_accuracy_on']} (below eval.min_accuracy="
                f"{self.cfg.min_accuracy:.0%}), so its features do not describe these images; train "
                f"it on more images or epochs (--set eval.classifier_images=N, "
                f"eval.classifier_epochs=N) or use --set eval.inception=PATH")

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
        """Features of the first ``n`` reference images in the fixed order."""
        if n not in self._real:
            order, ref = self._reference_order()[:n], self.reference_images
            self._real[n] = self._batched(lambda i, j: ref[order[i:j]], len(order))
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
    def evaluate(self, full: bool = False, samples: int | None = None) -> dict[str, Any]:
        """Quick (``eval.samples``) or full (``eval.full_samples``; ``samples`` overrides either)
        figures against the reference split, with the classifier's accuracy and the protocol."""
        from gan.metrics.protocol import metric_protocol

        key = "full_samples" if full else "samples"
        n_fake = int(samples) if samples is not None else getattr(self.cfg, key)
        if n_fake < 2:
            flag = f"--samples {n_fake}" if samples is not None else f"--set eval.{key}={n_fake}"
            raise GanError(f"{flag}: need at least 2 generated images")
        if not 0.0 <= self.cfg.min_accuracy <= 1.0:
            raise GanError(f"--set eval.min_accuracy={self.cfg.min_accuracy}: expected a fraction in [0, 1]")
        n_real = min(n_fake, len(self.reference_images))
        accuracy = self.classifier_accuracy()
        settings: dict[str, Any] = {"reference": self.reference_name, "seed": self.cfg.seed,
                                    "task": self.task, "evaluation": "full" if full else "quick",
                                    **accuracy}
        out: dict[str, Any] = {k: v for k, v in accuracy.items() if k == "classifier_accuracy"}
        why = self.withheld()
        if why is not None:
            out["withheld"] = why
            settings["min_accuracy"] = self.cfg.min_accuracy
            out["protocol"] = metric_protocol("none", n_real=n_real, n_fake=n_fake,
                                              extractor=self.extractor, **settings)
            return out
        real, _ = self.real_features(n_real)
        fake, fake_probs = self.fake_features(n_fake)
        out["fid"] = self.real_stats(n_real).frechet_distance(gaussian_stats(fake))
        metrics = ["fid"]
        if full:
            from gan.metrics.inception import inception_score
            from gan.metrics.kernel import kernel_inception_distance, kid_subset_size
            from gan.metrics.two_sample import one_nn_accuracy

            if self.cfg.kid_subsets < 1:
                raise GanError(f"--set eval.kid_subsets={self.cfg.kid_subsets}: expected at least 1")
            kid = kernel_inception_distance(real, fake, subsets=self.cfg.kid_subsets, subset_size=1000)
            out.update(kid=kid.mean, kid_std=kid.std)
            settings.update(kid_subsets=self.cfg.kid_subsets,
                            kid_subset_size=kid_subset_size(len(real), len(fake), 1000))
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
            floor = self._real_floor(n_real)
            if floor is not None:
                out["fid_real_floor"] = floor
                settings["fid_real_floor"] = ("FID of as many training images against the same "
                                              "reference: what reproducing the training set scores")
        out["protocol"] = metric_protocol(",".join(metrics), n_real=len(real), n_fake=len(fake),
                                          extractor=self.extractor, feature_dim=int(real.shape[1]),
                                          **settings)
        return out

    def _real_floor(self, n_real: int) -> float | None:
        """FID of real training images against the held-out reference of ``n_real`` images."""
        if not self.held_out:
            return None
        n = min(n_real, len(self.data))
        if n < 2:
            return None
        order = torch.randperm(len(self.data), generator=torch.Generator().manual_seed(2))[:n]
        f, _ = self._batched(lambda i, j: self.data.images[order[i:j]], n)
        return self.real_stats(n_real).frechet_distance(gaussian_stats(f))

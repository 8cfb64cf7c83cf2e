"""The full evaluation protocols of CycleGAN and StarGAN (``gan eval``).

Features come from :class:`gan.metrics.DomainClassifier` networks trained on the *real training*
images (cached where every plugin caches them, :func:`gan.metrics.classifier_cache`, under a
fingerprint of data and settings); FID and KID
compare translations of held-out images with held-out real images of the target domain.

* CycleGAN: one classifier, A vs B. Per target domain: FID/KID of translations, the same figures
  for the *untranslated* source images (what doing nothing scores), and the fraction of
  translations the classifier assigns to the target domain.
* StarGAN: one classifier per factor (an exclusive group such as hair colour, or one binary
  attribute); features are their concatenation. Per target domain: FID/KID, transfer accuracy
  (the classifier of the changed factor predicts the target value) and preservation accuracy (the
  other factors' classifiers still predict the source values); plus each classifier's accuracy on
  the held-out real images.

Generated images are quantised to 8 bits before feature extraction, as if saved as PNG.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from .datasets import as_float, get_items, num_items


def _to_uint8(x: torch.Tensor) -> torch.Tensor:
    if x.dtype == torch.uint8:
        return x
    return ((x.float().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)


def _fit_channels(x: torch.Tensor, channels: int) -> torch.Tensor:
    if x.shape[1] == channels:
        return x
    if x.shape[1] == 1:
        return x.expand(-1, channels, -1, -1)
    return x.float().mean(1, keepdim=True).round().to(x.dtype) if x.dtype == torch.uint8 else x.mean(1, keepdim=True)


def collect(ds: Any, limit: int | None, size: int, channels: int, seed: int = 0,
            chunk: int = 256) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Up to ``limit`` items (a seeded random subset, kept in dataset order) as uint8 images of
    side ``size`` and ``channels`` channels, plus their labels when the dataset has them."""
    n = num_items(ds)
    if limit is not None and limit < n:
        g = torch.Generator().manual_seed(seed)
        idx = torch.randperm(n, generator=g)[:limit].sort().values.tolist()
    else:
        idx = list(range(n))
    images, labels = [], []
    for start in range(0, len(idx), chunk):
        item = get_items(ds, idx[start:start + chunk])
        x, y = (item[0], item[1]) if isinstance(item, (tuple, list)) else (item, None)
        x = as_float(x)
        if tuple(x.shape[-2:]) != (size, size):
            x = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False, antialias=True)
        images.append(_fit_channels(_to_uint8(x), channels))
        if y is not None:
            labels.append(y.float())
    return torch.cat(images), (torch.cat(labels) if labels else None)


def _classifier(recipe: Any, images: torch.Tensor, labels: torch.Tensor, classes: int) -> Any:
    from gan.metrics import classifier_cache, train_domain_classifier
    return train_domain_classifier(images, labels.long(), epochs=recipe.config.eval.classifier_epochs,
                                   num_classes=classes, seed=0, device=recipe.device,
                                   cache_path=classifier_cache())


def _fid_kid(real: torch.Tensor, fake: torch.Tensor, extractor: Any) -> dict[str, Any]:
    from gan.metrics import compute_metrics
    return compute_metrics(real, fake, ("fid", "kid"), extractor=extractor, seed=0,
                           reference="held-out real images of the target domain")


def _translate_all(recipe: Any, gen: Any, x: torch.Tensor, *cond: torch.Tensor, batch: int = 32) -> torch.Tensor:
    out = []
    for i in range(0, x.shape[0], batch):
        xi = as_float(x[i:i + batch]).to(recipe.device)
        ci = [c[i:i + batch].to(recipe.device) for c in cond]
        out.append(_to_uint8(gen(xi, *ci).float().cpu()))
    return torch.cat(out)


def domain_transfer_metrics(recipe: Any, train: dict[str, Any], test: dict[str, Any],
                            fakes: dict[str, torch.Tensor]) -> tuple[dict[str, float], dict[str, Any]]:
    """CycleGAN figures; ``fakes[d]`` are translations *into* domain ``d`` of the other domain's
    held-out images."""
    cfg = recipe.config
    size, channels = cfg.data.image_size, max(recipe.domains.channels)
    per = max(1, cfg.eval.classifier_images // 2)
    xa, _ = collect(train["A"], per, size, channels, seed=1)
    xb, _ = collect(train["B"], per, size, channels, seed=2)
    clf = _classifier(recipe, torch.cat([xa, xb]), torch.cat([torch.zeros(len(xa)), torch.ones(len(xb))]), 2)
    real = {d: collect(test[d], None, size, channels)[0] for d in ("A", "B")}
    feats = {d: clf.features(real[d]) for d in real}
    out: dict[str, float] = {}
    correct = sum(int((clf.logits(real[d]).argmax(1).cpu() == k).sum()) for k, d in enumerate(("A", "B")))
    out["classifier_accuracy"] = correct / sum(len(v) for v in real.values())
    protocol: dict[str, Any] = {}
    for k, (d, src) in enumerate((("A", "B"), ("B", "A"))):
        fake = _fit_channels(_to_uint8(fakes[d]), channels)
        ff = clf.features(fake)
        m = _fid_kid(feats[d], ff, clf)
        protocol = m.pop("protocol")
        out[f"fid/{d}"], out[f"kid/{d}"], out[f"kid_std/{d}"] = m["fid"], m["kid"], m["kid_std"]
        base = _fid_kid(feats[d], feats[src], clf)
        out[f"fid_untranslated/{d}"], out[f"kid_untranslated/{d}"] = base["fid"], base["kid"]
        out[f"to_target/{d}"] = float((clf.logits(fake).argmax(1).cpu() == k).float().mean())
    names = getattr(recipe.domains, "domains", ("A", "B"))
    protocol.update({"domains": {"A": names[0], "B": names[1]},
                     "classifier": "A-vs-B domain classifier trained on real training images",
                     "classifier_images": {"A": len(xa), "B": len(xb)},
                     "fid/X": "translations into X vs held-out real X",
                     "fid_untranslated/X": "held-out images of the other domain, untranslated, vs real X",
                     "to_target/X": "fraction of translations into X the classifier labels X"})
    return out, protocol


def attribute_transfer_metrics(recipe: Any) -> tuple[dict[str, float], dict[str, Any]]:
    """StarGAN figures (see the module docstring)."""
    cfg, space, data = recipe.config, recipe.labels, recipe.attributes
    size, channels = cfg.data.image_size, data.channels
    train_x, train_y = collect(data.train, cfg.eval.classifier_images, size, channels, seed=1)
    train_f = space.factor_values(train_y)
    classifiers = []
    for f, fac in enumerate(space.factors):
        classifiers.append(_classifier(recipe, train_x, train_f[:, f], fac.classes))
    test_x, test_y = collect(data.test, None, size, channels)
    test_f = space.factor_values(test_y)

    def features(x: torch.Tensor) -> torch.Tensor:
        return torch.cat([clf.features(x) for clf in classifiers], 1)

    def predict(x: torch.Tensor) -> torch.Tensor:
        return torch.stack([clf.logits(x).argmax(1).cpu() for clf in classifiers], 1)

    out: dict[str, float] = {}
    pred_real = predict(test_x)
    for f, fac in enumerate(space.factors):
        out[f"classifier_accuracy/{fac.name}"] = float((pred_real[:, f] == test_f[:, f]).float().mean())
    real_feats = features(test_x)
    transfer, preserve, fids, chance = [], [], [], []
    counts: dict[str, int] = {}
    protocol: dict[str, Any] = {}
    g = recipe.eval_model("G")
    with recipe.inference([g], seed=1234):
        for dom in space.domains:
            src = test_f[:, dom.factor] != dom.value
            if int(src.sum()) < 2:
                continue
            c_org = test_y[src]
            fake = _translate_all(recipe, g, test_x[src], space.apply(c_org, dom))
            pred = predict(fake)
            acc = float((pred[:, dom.factor] == dom.value).float().mean())
            others = [f for f in range(len(space.factors)) if f != dom.factor]
            kept = float((pred[:, others] == test_f[src][:, others]).float().mean()) if others else float("nan")
            out[f"transfer_acc/{dom.name}"] = acc
            transfer.append(acc)
            chance.append(1.0 / max(1, int(train_f[:, dom.factor].unique().numel())))
            if others:
                out[f"preserve_acc/{dom.name}"] = kept
                preserve.append(kept)
            counts[dom.name] = int(src.sum())
            reals = real_feats[test_f[:, dom.factor] == dom.value]
            if reals.shape[0] >= 2:
                m = _fid_kid(reals, features(fake), classifiers[0])
                protocol = m.pop("protocol")
                out[f"fid/{dom.name}"], out[f"kid/{dom.name}"] = m["fid"], m["kid"]
                fids.append(m["fid"])
    if transfer:
        out["transfer_acc"] = sum(transfer) / len(transfer)
        out["transfer_chance"] = sum(chance) / len(chance)
    if preserve:
        out["preserve_acc"] = sum(preserve) / len(preserve)
    if fids:
        out["fid_mean"] = sum(fids) / len(fids)
    protocol.pop("extractor_info", None)
    protocol.update({
        "extractor": "concatenated domain-classifier features, one classifier per factor",
        "classifiers": {fac.name: clf.describe() for fac, clf in zip(space.factors, classifiers)},
        "classifier_images": int(train_x.shape[0]), "held_out_images": int(test_x.shape[0]),
        "translated_per_domain": counts,
        "transfer_acc/X": "translations into X whose changed factor the classifier predicts as X",
        "transfer_chance": "mean over domains of 1 / (values of the changed factor seen in training)",
        "preserve_acc/X": "the other factors still predicted as the source image's values",
        "fid/X": "translations into X (from held-out images not in X) vs held-out real images in X"})
    return out, protocol

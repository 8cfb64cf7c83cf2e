"""Image evaluation: scored against the held-out split, the classifier's accuracy beside every
figure, figures withheld when that classifier is not accurate, and the protocol with each."""

from __future__ import annotations

import math

import pytest
import torch

from gan import GanError
from gan_image.datasets import ImageData


def _with_test_split(halves, n_train=256, n_test=96, labelled=True):
    train, test = halves(n_train, seed=0), halves(n_test, seed=1)
    return ImageData(train.images, train.labels if labelled else None, train.classes if labelled else [],
                     "halves", test.images, test.labels if labelled else None, source="test",
                     test_name="test split (seed 1)")


ACCURATE = {"eval__classifier_images": 256, "eval__classifier_epochs": 3}


def test_tiny_classifier_withholds_feature_figures_and_says_why(tiny):
    r = tiny("dcgan")  # 64 images, 1 epoch: a classifier near chance
    for full in (False, True):
        out = r.evaluate(full=full)
        acc = out["classifier_accuracy"]
        assert acc < 0.9
        assert not {"fid", "kid", "inception_score", "one_nn_accuracy"} & set(out), out
        line = out["withheld"]
        assert "\n" not in line and f"{acc:.1%}" in line and "90%" in line and "eval.classifier_images" in line
        p = out["protocol"]
        assert p["classifier_accuracy"] == acc and "digits test split" in p["reference"]
        assert "torch" in p and p["extractor"] == "domain-classifier"


def test_an_accurate_classifier_reports_figures_against_the_test_split(tiny, halves):
    data = _with_test_split(halves)
    r = tiny("dcgan", data=data, eval__full_samples=120, **ACCURATE)
    quick, full = r.evaluate(), r.evaluate(full=True)
    assert quick["classifier_accuracy"] >= 0.9 and "withheld" not in full
    for key in ("fid", "kid", "kid_std", "inception_score", "one_nn_accuracy", "fid_real_floor"):
        assert math.isfinite(full[key]), key
    assert 0 <= full["one_nn_accuracy"] <= 1 and 1 <= full["inception_score"] <= 2
    qp, fp = quick["protocol"], full["protocol"]
    # the same reference and extractor; the quick one is the smaller sample
    assert qp["reference"] == fp["reference"] == "halves test split (seed 1)"
    assert qp["extractor_info"]["fingerprint"] == fp["extractor_info"]["fingerprint"]
    assert (qp["n_fake"], qp["n_real"]) == (40, 40) and (fp["n_fake"], fp["n_real"]) == (120, 96)
    assert fp["classifier_accuracy"] == full["classifier_accuracy"] and "96 images" in fp["classifier_accuracy_on"]
    assert fp["evaluation"] == "full" and qp["evaluation"] == "quick"
    assert r.evaluate()["fid"] == pytest.approx(quick["fid"])  # fixed latents and reference sample
    # the reference features are the held-out images', not the training images'
    ev = r.evaluator
    order = ev._reference_order()[:96]
    assert torch.allclose(ev.real_features(96)[0], ev.extractor.features(data.test_images[order]).float())
    # the accuracy is measured on the held-out split
    pred = ev.extractor.logits(data.test_images).argmax(1)
    assert full["classifier_accuracy"] == pytest.approx(float((pred == data.test_labels).float().mean()))


def test_sample_count_override_and_bad_counts(tiny, halves):
    r = tiny("dcgan", data=_with_test_split(halves), **ACCURATE)
    assert r.evaluate(full=True, samples=30)["protocol"]["n_fake"] == 30
    with pytest.raises(GanError, match="--samples 1: need at least 2"):
        r.evaluate(full=True, samples=1)
    r = tiny("dcgan", eval__min_accuracy=1.5)
    with pytest.raises(GanError, match="eval.min_accuracy=1.5"):
        r.evaluate()


def test_min_accuracy_zero_reports_even_an_untrained_classifier(tiny):
    out = tiny("dcgan", eval__min_accuracy=0.0).evaluate(full=True)
    assert "withheld" not in out and math.isfinite(out["fid"]) and out["classifier_accuracy"] < 0.9


def test_without_a_held_out_split_the_protocol_says_train(tiny, halves):
    r = tiny("dcgan", data=halves(256), **ACCURATE)
    out = r.evaluate(full=True)
    assert "no held-out split" in out["protocol"]["reference"]
    assert "of its training images held out" in out["protocol"]["classifier_accuracy_on"]
    assert "fid_real_floor" not in out


def test_unlabelled_data_uses_the_rotation_task_on_held_out_images(tiny, halves):
    r = tiny("dcgan", data=_with_test_split(halves, labelled=False), eval__min_accuracy=0.0)
    out = r.evaluate(full=True)
    p = out["protocol"]
    assert p["task"] == "rotation" and "inception_score" not in out and math.isfinite(out["fid"])
    assert "384 images" in p["classifier_accuracy_on"]  # 96 held-out images × 4 rotations

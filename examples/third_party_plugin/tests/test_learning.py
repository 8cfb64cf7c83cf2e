"""hinge-mlp learns two-moons: a short CPU run beats the untrained generator and a Gaussian fit."""

import time

import torch

from gan.testing import make_recipe, run_recipe
from gan_example_plugin.hinge_mlp import HingeMLP
from gan_example_plugin.metrics import mmd2, precision_recall


def test_short_training_learns_two_moons():
    recipe = make_recipe(HingeMLP, preset="quick", steps=600)
    before = recipe.evaluate()

    # What matching only the mean and covariance achieves: a GAN that learned the curved shape
    # must beat it, not just beat random initial weights.
    pts = recipe.points
    gauss = torch.distributions.MultivariateNormal(pts.mean(0), torch.cov(pts.T))
    blob = gauss.sample((len(recipe.reference),))
    blob_mmd = mmd2(recipe.reference, blob)
    blob_precision, _ = precision_recall(recipe.reference, blob)

    t0, c0 = time.perf_counter(), time.process_time()
    run_recipe(recipe)
    elapsed, cpu = time.perf_counter() - t0, time.process_time() - c0
    after = recipe.evaluate()

    report = (f"before {before['mmd']:.3f}/{before['precision']:.2f}/{before['recall']:.2f}, "
              f"after {after['mmd']:.3f}/{after['precision']:.2f}/{after['recall']:.2f}, "
              f"gaussian fit {blob_mmd:.3f}/{blob_precision:.2f} (mmd/precision/recall), "
              f"{elapsed:.1f}s wall, {cpu:.1f}s CPU")
    assert after["mmd"] < 0.05 * before["mmd"], report
    assert after["mmd"] < 0.75 * blob_mmd, report
    assert after["precision"] > blob_precision + 0.15, report
    assert after["recall"] > 0.85, report

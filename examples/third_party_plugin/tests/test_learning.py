"""hinge-mlp learns two-moons: a short CPU run beats the untrained generator and a Gaussian fit."""

import time

import pytest
import torch

from gan.testing import make_recipe, run_recipe
from gan_example_plugin.hinge_mlp import HingeMLP, mmd2, precision_recall


@pytest.fixture
def one_thread():
    # Tiny MLPs run fastest on one thread; several threads on a busy 2-core machine can be 100x
    # slower (spinning OpenMP workers), which would make the timing bound below meaningless.
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def test_short_training_learns_two_moons(one_thread):
    recipe = make_recipe(HingeMLP, preset="quick", steps=600)
    before = recipe.evaluate()

    # What matching only the mean and covariance achieves: a GAN that learned the curved shape
    # must beat it, not just beat random initial weights.
    pts = recipe.points
    gauss = torch.distributions.MultivariateNormal(pts.mean(0), torch.cov(pts.T))
    blob = gauss.sample((len(recipe.reference),), )
    blob_mmd = mmd2(recipe.reference, blob)
    blob_precision, _ = precision_recall(recipe.reference, blob)

    t0 = time.perf_counter()
    run_recipe(recipe)
    elapsed = time.perf_counter() - t0
    after = recipe.evaluate()

    report = (f"before {before['mmd']:.3f}/{before['precision']:.2f}/{before['recall']:.2f}, "
              f"after {after['mmd']:.3f}/{after['precision']:.2f}/{after['recall']:.2f}, "
              f"gaussian fit {blob_mmd:.3f}/{blob_precision:.2f} (mmd/precision/recall), "
              f"{elapsed:.1f}s")
    assert after["mmd"] < 0.05 * before["mmd"], report
    assert after["mmd"] < 0.75 * blob_mmd, report
    assert after["precision"] > blob_precision + 0.15, report
    assert after["recall"] > 0.85, report


def test_metrics_measure_overlap():
    # The yardstick itself. Uniform squares: a second sample of the same square scores near
    # perfect; a copy shifted by half a side overlaps half of it, so precision and recall are ~0.5.
    g = torch.Generator().manual_seed(0)
    real = torch.rand(1000, 2, generator=g)
    same = torch.rand(1000, 2, generator=g)
    half = same + torch.tensor([0.5, 0.0])
    assert abs(mmd2(real, same)) < 0.01
    assert mmd2(real, half) > 20 * abs(mmd2(real, same))
    p_same, r_same = precision_recall(real, same)
    p_half, r_half = precision_recall(real, half)
    assert p_same > 0.95 and r_same > 0.95
    assert 0.4 < p_half < 0.6 and 0.4 < r_half < 0.6

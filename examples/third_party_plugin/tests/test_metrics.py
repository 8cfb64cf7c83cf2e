"""The quality measures: checked on samples whose answer is known."""

import pytest
import torch

from gan import GanError
from gan.testing import fresh_manager
from gan_example_plugin.metrics import knn_precision_recall, mmd2, precision_recall


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


def test_registered_metric_runs_through_gan_metrics():
    from gan.metrics import compute_metrics
    pm = fresh_manager(("example", "gan_example_plugin.plugin"))
    entry = pm.registry("metric").entry("knn-precision-recall")
    assert entry.plugin == "example"
    g = torch.Generator().manual_seed(0)
    real, fake = torch.rand(400, 3, generator=g), torch.rand(400, 3, generator=g) + 2.0
    figures = compute_metrics(real, fake, metrics=[entry.obj])
    assert figures["precision"] == 0.0 and figures["recall"] == 0.0  # disjoint cubes
    assert {"k": 3, "n_real": 400, "n_fake": 400} in figures["protocol"].values()


def test_registered_metric_rejects_bad_shapes():
    with pytest.raises(GanError, match="equal D"):
        knn_precision_recall(torch.zeros(10, 2), torch.zeros(10, 3))
    with pytest.raises(GanError, match="more than 3 samples"):
        knn_precision_recall(torch.zeros(3, 2), torch.zeros(10, 2))

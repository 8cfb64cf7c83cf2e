"""The 1-nearest-neighbour classifier two-sample test.

Lopez-Paz & Oquab (2017), "Revisiting Classifier Two-Sample Tests"; recommended for GAN evaluation
by Xu et al. (2018), "An empirical study on evaluation metrics of generative adversarial networks".
Pool ``n`` real and ``n`` generated feature vectors, label them by origin, and classify every point
by its nearest neighbour among *all the other* points (leave-one-out, Euclidean distance). The
leave-one-out accuracy is

* ≈ 0.5 when the two samples come from the same distribution (the ideal generator),
* ≈ 1.0 when they are separable (poor samples, or mode dropping seen from the real side),
* < 0.5 when generated points sit on top of real ones (memorised training data).

The per-class accuracies tell *which* side is recognisable: a high real accuracy with a low fake
accuracy means real regions the generator does not cover (mode dropping); the converse means
off-manifold fakes. With unequal sample sizes chance level is no longer 0.5.

Distances are computed in row chunks (``||b||² - 2 a·b``, the squared distance less the row
constant ``||a||²``, on at most ``max_bytes`` of distance matrix at a time), so 10k real × 10k
fake runs in a few hundred MiB of CPU memory; pass ``device="cuda"`` to run the matrix products on
a GPU, ``dtype=torch.float32`` to halve time and memory. Ties (equal distances) go to the point
with the lowest index, i.e. to the real side.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import torch

from ._checks import feature_matrix, same_width


class OneNNResult(NamedTuple):
    """Leave-one-out 1-NN accuracy overall and per class (real points / fake points)."""

    accuracy: float
    real_accuracy: float
    fake_accuracy: float


def one_nn_accuracy(real_feats: Any, fake_feats: Any, *, chunk_size: int | None = None,
                    max_bytes: int = 128 * 2**20, device: torch.device | str = "cpu",
                    dtype: torch.dtype = torch.float64) -> OneNNResult:
    """Leave-one-out 1-NN two-sample accuracy of ``real_feats (n, d)`` vs ``fake_feats (m, d)``.

    Args:
        chunk_size: rows of the distance matrix computed at once; by default as many as fit in
            ``max_bytes``.
        device, dtype: where and in what precision distances are computed (float64 CPU default).
    """
    real = feature_matrix(real_feats, "1-NN real features", dtype=dtype, device=device)
    fake = feature_matrix(fake_feats, "1-NN fake features", dtype=dtype, device=device)
    same_width(real, fake, "one_nn_accuracy")
    z = torch.cat([real, fake])
    n_total, n_real = z.shape[0], real.shape[0]
    is_fake = torch.arange(n_total, device=z.device) >= n_real
    if chunk_size is None:
        chunk_size = max(1, max_bytes // (z.element_size() * n_total))
    sq = z.square().sum(dim=1)
    correct = torch.empty(n_total, dtype=torch.bool, device=z.device)
    for start in range(0, n_total, chunk_size):
        stop = min(start + chunk_size, n_total)
        rows = torch.arange(start, stop, device=z.device)
        # ||z_i - z_j||² minus the row constant ||z_i||², which does not change the argmin
        dist = torch.addmm(sq[None, :].expand(stop - start, -1), z[start:stop], z.T, alpha=-2.0)
        dist[rows - start, rows] = float("inf")  # leave the point itself out
        correct[start:stop] = is_fake[dist.argmin(dim=1)] == is_fake[start:stop]
    c = correct.double().cpu()
    return OneNNResult(float(c.mean()), float(c[:n_real].mean()), float(c[n_real:].mean()))

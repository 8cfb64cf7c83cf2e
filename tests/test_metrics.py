"""Metrics against independent float64 numpy/scipy computations and known cases; extractors.

References here are written directly from the definitions (loops, scipy.linalg.sqrtm,
scipy.stats.wasserstein_distance, brute force over permutations), never by calling the code under
test a second time.
"""

from __future__ import annotations

import itertools
import math
import warnings

import numpy as np
import pytest
import scipy.linalg
import scipy.spatial.distance
import scipy.stats
import torch
import torchmetrics
from torch import nn

from gan.errors import GanError
from gan.metrics import (
    BUILTIN_METRICS, DomainClassifier, FeatureExtractor, InceptionFeatures, RawFeatures,
    compute_metrics, evaluate_images, extract_features, fid_images, frechet_distance,
    frechet_distance_from_stats, gaussian_stats, inception_score, kernel_inception_distance,
    metric_protocol, mmd2, mode_score, one_nn_accuracy, sliced_wasserstein,
    train_domain_classifier, wasserstein_1d, wasserstein_exact,
)
from gan.metrics.wasserstein import random_directions


def rng(seed=0):
    return np.random.default_rng(seed)


def gaussian(r, n, d, shift=0.0):
    a = r.normal(size=(d, d)) / math.sqrt(d)
    return r.normal(size=(n, d)) @ a.T + shift


# --- FID ----------------------------------------------------------------------------------------

def scipy_fid(x, y):
    mu1, mu2 = x.mean(0), y.mean(0)
    s1, s2 = np.cov(x, rowvar=False), np.cov(y, rowvar=False)
    covmean = scipy.linalg.sqrtm(s1 @ s2)
    return float(((mu1 - mu2) ** 2).sum() + np.trace(s1 + s2 - 2 * np.real(covmean)))


def test_fid_matches_scipy_sqrtm():
    r = rng(0)
    x, y = gaussian(r, 300, 6), gaussian(r, 250, 6, shift=0.3)
    expected = scipy_fid(x, y)
    assert frechet_distance(x, y) == pytest.approx(expected, rel=1e-7)
    assert frechet_distance(torch.from_numpy(x).float(), torch.from_numpy(y).float()) == \
        pytest.approx(expected, rel=1e-4)
    sx, sy = gaussian_stats(x), gaussian_stats(y)
    np.testing.assert_allclose(sx.sigma.numpy(), np.cov(x, rowvar=False), rtol=1e-12)
    assert sx.n == 300
    assert sx.frechet_distance(sy) == pytest.approx(expected, rel=1e-9)
    assert frechet_distance_from_stats(x.mean(0), np.cov(x, rowvar=False), y.mean(0),
                                       np.cov(y, rowvar=False)) == pytest.approx(expected, rel=1e-9)


def test_fid_fewer_samples_than_dimensions():
    r = rng(1)
    x, y = r.normal(size=(20, 32)), r.normal(size=(20, 32)) + 0.1  # singular covariances
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = scipy_fid(x, y)
    assert frechet_distance(x, y) == pytest.approx(expected, rel=1e-6)
    assert gaussian_stats(x).frechet_distance(gaussian_stats(y)) == pytest.approx(expected, rel=1e-6)


def test_fid_known_cases():
    r = rng(2)
    x = r.normal(size=(2000, 4))
    delta = np.array([1.0, -2.0, 0.5, 0.0])
    # same sample shifted: identical covariances, FID = ||δ||² exactly
    assert frechet_distance(x, x + delta) == pytest.approx(float(delta @ delta), rel=1e-9)
    assert frechet_distance(x, x) == pytest.approx(0.0, abs=1e-9)
    # independent samples of one distribution: ≈ 0 (small positive bias)
    y = r.normal(size=(2000, 4))
    assert 0.0 <= frechet_distance(x, y) < 0.05
    # shifted Gaussians: ≈ ||μ1 - μ2||² (sampling noise of the means: std ≈ 0.15 here) ...
    shifted = frechet_distance(x, y + delta)
    assert shifted == pytest.approx(float(delta @ delta), abs=0.5)
    # ... and exactly: shifting leaves the covariances alone, so only the mean term changes
    gap = x.mean(0) - y.mean(0)
    assert shifted - frechet_distance(x, y) == \
        pytest.approx(float(delta @ delta - 2 * delta @ gap), rel=1e-8)


def test_fid_images_runs_extractor_over_batches():
    r = rng(3)
    real = torch.from_numpy(r.normal(size=(40, 1, 2, 3))).float()
    fake = torch.from_numpy(r.normal(size=(30, 1, 2, 3)) + 0.5).float()
    expected = scipy_fid(real.flatten(1).double().numpy(), fake.flatten(1).double().numpy())
    assert fid_images(RawFeatures(), real, fake, batch_size=7) == pytest.approx(expected, rel=1e-5)
    loader = [(fake[i:i + 8], torch.zeros(8)) for i in range(0, 30, 8)]  # (images, labels) batches
    assert fid_images(RawFeatures(), real, loader) == pytest.approx(expected, rel=1e-5)


def test_metrics_reject_bad_inputs():
    with pytest.raises(GanError, match="feature extractor"):
        frechet_distance(torch.zeros(4, 3, 8, 8), torch.zeros(4, 3, 8, 8))
    with pytest.raises(GanError, match="differ in dimension"):
        frechet_distance(torch.randn(5, 3), torch.randn(5, 4))
    with pytest.raises(GanError, match="NaN"):
        frechet_distance(torch.tensor([[0.0, float("nan")]] * 3), torch.randn(3, 2))
    with pytest.raises(GanError, match="at least 2"):
        kernel_inception_distance(torch.randn(1, 3), torch.randn(5, 3))


# --- KID / MMD ----------------------------------------------------------------------------------

def numpy_mmd2(x, y, k, unbiased=True):
    m, n = len(x), len(y)
    if unbiased:
        xx = sum(k(x[i], x[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
        yy = sum(k(y[i], y[j]) for i in range(n) for j in range(n) if i != j) / (n * (n - 1))
    else:
        xx = sum(k(a, b) for a in x for b in x) / m**2
        yy = sum(k(a, b) for a in y for b in y) / n**2
    xy = sum(k(a, b) for a in x for b in y) / (m * n)
    return xx + yy - 2 * xy


def test_kid_matches_numpy_unbiased_mmd_loop():
    r = rng(4)
    x, y = r.normal(size=(20, 5)), r.normal(size=(20, 5)) + 0.4
    cubic = lambda a, b: (a @ b / 5 + 1) ** 3  # noqa: E731
    expected = numpy_mmd2(x, y, cubic)
    res = kernel_inception_distance(x, y, subsets=1, subset_size=20)
    assert res.mean == pytest.approx(expected, rel=1e-10) and res.std == 0.0
    # every subset is the full set in another order: MMD² is permutation invariant
    res = kernel_inception_distance(x, y, subsets=4, subset_size=50)
    assert res.mean == pytest.approx(expected, rel=1e-10) and res.std < 1e-12
    assert mmd2(x, y) == pytest.approx(expected, rel=1e-10)


def test_mmd2_kernels_and_unequal_sizes_match_numpy():
    r = rng(5)
    x, y = r.normal(size=(15, 3)), r.normal(size=(11, 3)) * 1.5
    poly2 = lambda a, b: (0.5 * (a @ b) + 2.0) ** 2  # noqa: E731
    assert mmd2(x, y, "poly", degree=2, gamma=0.5, coef0=2.0) == \
        pytest.approx(numpy_mmd2(x, y, poly2), rel=1e-10)
    rbf = lambda a, b: math.exp(-((a - b) ** 2).sum() / (2 * 0.8**2))  # noqa: E731
    assert mmd2(x, y, "rbf", sigma=0.8) == pytest.approx(numpy_mmd2(x, y, rbf), rel=1e-10)
    assert mmd2(x, y, "rbf", sigma=0.8, unbiased=False) == \
        pytest.approx(numpy_mmd2(x, y, rbf, unbiased=False), rel=1e-10)
    median = float(np.median(scipy.spatial.distance.pdist(np.vstack([x, y]))))
    assert mmd2(x, y, "rbf") == pytest.approx(mmd2(x, y, "rbf", sigma=median), rel=1e-12)
    with pytest.raises(GanError, match="unknown kernel"):
        mmd2(x, y, "laplace")


def test_kid_known_cases_and_seeding():
    r = rng(6)
    x, y = r.normal(size=(600, 8)), r.normal(size=(600, 8))
    same = kernel_inception_distance(x, y, subsets=20, subset_size=200, seed=1)
    assert abs(same.mean) < 3 * same.std + 1e-3
    shifted = kernel_inception_distance(x, y + 1.0, subsets=20, subset_size=200, seed=1)
    assert shifted.mean > 20 * (abs(same.mean) + same.std)
    assert kernel_inception_distance(x, y + 1.0, subsets=20, subset_size=200, seed=1) == shifted
    assert kernel_inception_distance(x, y + 1.0, subsets=20, subset_size=200, seed=2) != shifted


# --- IS / Mode Score ----------------------------------------------------------------------------

def numpy_is(p, splits):
    scores = []
    n = len(p)
    for i in range(splits):
        part = p[i * n // splits:(i + 1) * n // splits]
        py = part.mean(0)
        kl = (part * (np.log(part) - np.log(py))).sum(1)
        scores.append(np.exp(kl.mean()))
    return np.mean(scores), np.std(scores)


def test_inception_score_matches_numpy_formula():
    p = rng(7).dirichlet(np.full(10, 0.3), size=103)
    mean, std = numpy_is(p, 5)
    res = inception_score(p, splits=5)
    assert res.mean == pytest.approx(mean, rel=1e-10) and res.std == pytest.approx(std, rel=1e-8)


def test_inception_score_known_cases():
    k = 7
    one_hot = np.eye(k)[np.arange(70) % k]  # confident and evenly spread: IS = K
    assert inception_score(one_hot, splits=1).mean == pytest.approx(k, rel=1e-12)
    same = np.tile(rng(8).dirichlet(np.ones(k)), (50, 1))  # all predictions identical: IS = 1
    assert inception_score(same, splits=2).mean == pytest.approx(1.0, rel=1e-12)
    with pytest.raises(GanError, match="softmax"):
        inception_score(rng(9).normal(size=(20, k)), splits=1)  # logits, not probabilities


def test_mode_score_matches_numpy_formula():
    r = rng(10)
    p = r.dirichlet(np.full(5, 0.5), size=80)
    p_train = np.array([0.1, 0.3, 0.2, 0.25, 0.15])
    py = p.mean(0)
    expected_kl = (p * (np.log(p) - np.log(py))).sum(1).mean()
    kl_marginal = (py * (np.log(py) - np.log(p_train))).sum()
    assert mode_score(p, p_train).mean == pytest.approx(np.exp(expected_kl - kl_marginal), rel=1e-10)
    # p_train equal to the generated marginal → Mode Score = IS; given as an (N, K) matrix too
    assert mode_score(p, py).mean == pytest.approx(inception_score(p, splits=1).mean, rel=1e-10)
    real_probs = r.dirichlet(np.ones(5), size=40)
    assert mode_score(p, real_probs).mean == pytest.approx(mode_score(p, real_probs.mean(0)).mean,
                                                           rel=1e-10)
    # label counts work as p_train; a mismatched marginal lowers the score below IS
    assert mode_score(p, [10, 30, 20, 25, 15]).mean < inception_score(p, splits=1).mean


# --- Wasserstein --------------------------------------------------------------------------------

def test_wasserstein_1d_matches_scipy():
    r = rng(11)
    u, v = r.normal(size=37), r.normal(size=23) * 2 + 1
    assert wasserstein_1d(u, v) == pytest.approx(scipy.stats.wasserstein_distance(u, v), rel=1e-10)
    wu, wv = r.uniform(size=37), r.uniform(size=23)
    assert wasserstein_1d(u, v, u_weights=wu, v_weights=wv) == \
        pytest.approx(scipy.stats.wasserstein_distance(u, v, wu, wv), rel=1e-10)


def test_wasserstein_1d_p2_by_replication():
    # unequal sizes m, n: repeating u n times and v m times gives equal uniform samples whose
    # quantile coupling is the sorted matching
    r = rng(12)
    u, v = r.normal(size=6), r.exponential(size=4)
    uu, vv = np.sort(np.repeat(u, 4)), np.sort(np.repeat(v, 6))
    expected = math.sqrt(np.mean((uu - vv) ** 2))
    assert wasserstein_1d(u, v, p=2) == pytest.approx(expected, rel=1e-10)


def brute_force_w(x, y, p):
    cost = lambda perm: np.mean([np.linalg.norm(x[i] - y[j]) ** p for i, j in enumerate(perm)])  # noqa: E731
    return min(cost(perm) for perm in itertools.permutations(range(len(x)))) ** (1 / p)


def test_wasserstein_exact_matches_brute_force():
    r = rng(13)
    x, y = r.normal(size=(6, 3)), r.normal(size=(6, 3)) + 0.5
    assert wasserstein_exact(x, y) == pytest.approx(brute_force_w(x, y, 1), rel=1e-10)
    assert wasserstein_exact(x, y, p=2) == pytest.approx(brute_force_w(x, y, 2), rel=1e-10)
    x1, y1 = r.normal(size=(30, 1)), r.normal(size=(30, 1))
    assert wasserstein_exact(x1, y1) == pytest.approx(scipy.stats.wasserstein_distance(x1[:, 0], y1[:, 0]),
                                                      rel=1e-10)
    with pytest.raises(GanError, match="equal sample counts"):
        wasserstein_exact(x, y[:5])


def test_sliced_wasserstein_known_cases():
    r = rng(14)
    # in 1-D every direction is ±1: sliced = exact
    u, v = r.normal(size=(50, 1)), r.normal(size=(50, 1)) + 0.7
    assert sliced_wasserstein(u, v, n_projections=4) == \
        pytest.approx(scipy.stats.wasserstein_distance(u[:, 0], v[:, 0]), rel=1e-10)
    # a shifted copy projects to a shifted copy: W1 along θ is |θ·δ|
    x = r.normal(size=(200, 2))
    delta = np.array([3.0, -1.0])
    theta = random_directions(2000, 2, seed=5).numpy()
    sw = sliced_wasserstein(x, x + delta, n_projections=2000, seed=5)
    assert sw == pytest.approx(np.abs(theta @ delta).mean(), rel=1e-10)
    assert sw == pytest.approx(np.linalg.norm(delta) * 2 / math.pi, rel=0.03)  # E|cos φ| = 2/π
    # a lower bound on the exact distance; unequal sizes go through the 1-D routine
    y = r.normal(size=(200, 2)) * 1.5
    assert 0 < sliced_wasserstein(x, y, seed=1) <= wasserstein_exact(x, y)
    theta = random_directions(16, 2, seed=3).numpy()
    z = y[:150]
    expected = np.mean([scipy.stats.wasserstein_distance(x @ t, z @ t) for t in theta])
    assert sliced_wasserstein(x, z, n_projections=16, seed=3) == pytest.approx(expected, rel=1e-10)


# --- 1-NN two-sample test -----------------------------------------------------------------------

def brute_force_1nn(x, y):
    z = np.vstack([x, y])
    label = np.r_[np.zeros(len(x)), np.ones(len(y))]
    correct = []
    for i in range(len(z)):
        d = ((z - z[i]) ** 2).sum(1)
        d[i] = np.inf
        correct.append(label[np.argmin(d)] == label[i])
    correct = np.array(correct)
    return correct.mean(), correct[:len(x)].mean(), correct[len(x):].mean()


def test_one_nn_matches_brute_force_and_chunking():
    r = rng(15)
    x, y = r.normal(size=(25, 3)), r.normal(size=(30, 3)) + 0.3
    expected = brute_force_1nn(x, y)
    assert tuple(one_nn_accuracy(x, y)) == pytest.approx(expected, abs=1e-12)
    assert tuple(one_nn_accuracy(x, y, chunk_size=7)) == pytest.approx(expected, abs=1e-12)
    assert tuple(one_nn_accuracy(x, y, chunk_size=1)) == pytest.approx(expected, abs=1e-12)


def test_one_nn_known_cases():
    r = rng(16)
    x, y = r.normal(size=(500, 4)), r.normal(size=(500, 4))
    assert one_nn_accuracy(x, y).accuracy == pytest.approx(0.5, abs=0.06)
    far = one_nn_accuracy(x, y + 50.0)
    assert far == (1.0, 1.0, 1.0)
    # memorised training data: every point's nearest neighbour is its copy on the other side
    assert one_nn_accuracy(x, x.copy()).accuracy == 0.0


def test_one_nn_ten_thousand_each_in_chunks():
    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(10_000, 4, generator=g), torch.randn(10_000, 4, generator=g)
    res = one_nn_accuracy(x, y, dtype=torch.float32, max_bytes=16 * 2**20)  # 200-row chunks
    assert res.accuracy == pytest.approx(0.5, abs=0.02)
    assert res.real_accuracy == pytest.approx(0.5, abs=0.03)


# --- protocol and multi-metric evaluation -------------------------------------------------------

def test_metric_protocol_records_versions_and_counts():
    proto = metric_protocol("fid", n_real=100, n_fake=90, extractor=RawFeatures(), reference="test")
    assert proto["metric"] == "fid" and proto["n_real"] == 100 and proto["n_fake"] == 90
    assert proto["extractor"] == "raw" and proto["reference"] == "test"
    assert proto["torch"] == torch.__version__ and proto["torchmetrics"] == torchmetrics.__version__
    assert proto["scipy"] == scipy.__version__ and proto["numpy"] == np.__version__


def test_compute_metrics_collects_figures_and_protocol():
    r = rng(17)
    x, y = r.normal(size=(120, 5)), r.normal(size=(100, 5)) + 0.5
    probs = r.dirichlet(np.ones(4), size=100)
    out = compute_metrics(x, y, ["fid", "kid", "1nn", "is", "sliced-wasserstein", "wasserstein"],
                          fake_probs=probs, options={"kid": {"subsets": 3, "subset_size": 50}},
                          extractor="raw", reference="unit-test")
    assert out["fid"] == pytest.approx(scipy_fid(x, y), rel=1e-7)
    assert out["1nn"] == pytest.approx(brute_force_1nn(x, y)[0], abs=1e-12)
    assert out["is"] == pytest.approx(numpy_is(probs, 10)[0], rel=1e-10)
    assert {"kid", "kid_std", "1nn_real", "1nn_fake", "sliced_wasserstein", "wasserstein"} <= set(out)
    proto = out["protocol"]
    assert proto["metric"] == "fid,kid,1nn,is,sliced-wasserstein,wasserstein"
    assert (proto["n_real"], proto["n_fake"], proto["feature_dim"]) == (120, 100, 5)
    assert proto["kid"]["subsets"] == 3 and proto["kid"]["subset_size"] == 50
    assert proto["wasserstein"]["n"] == 100 and proto["reference"] == "unit-test"
    assert proto["torchmetrics"] == torchmetrics.__version__
    with pytest.raises(GanError, match="unknown metric 'fdi'"):
        compute_metrics(x, y, ["fdi"])
    with pytest.raises(GanError, match="class probabilities"):
        compute_metrics(x, y, ["is"])
    assert set(BUILTIN_METRICS) == {"fid", "kid", "is", "mode-score", "1nn", "sliced-wasserstein",
                                    "wasserstein"}


# --- feature extractors -------------------------------------------------------------------------

def shapes(n, size=16, seed=0):
    """Filled squares (class 0) and plus signs (class 1) at random positions, with noise."""
    g = torch.Generator().manual_seed(seed)
    x = torch.full((n, 1, size, size), -1.0)
    y = torch.arange(n) % 2
    for i in range(n):
        r, c = torch.randint(0, size - 7, (2,), generator=g).tolist()
        if y[i] == 0:
            x[i, 0, r:r + 7, c:c + 7] = 1.0
        else:
            x[i, 0, r + 3, c:c + 7] = 1.0
            x[i, 0, r:r + 7, c + 3] = 1.0
    x += 0.2 * torch.randn(x.shape, generator=g)
    return x.clamp(-1, 1), y


SMALL = {"epochs": 3, "width": 16, "feature_dim": 32}


def test_domain_classifier_learns_shapes_and_caches(tmp_path):
    images, labels = shapes(300)
    state = torch.get_rng_state()
    clf = train_domain_classifier(images, labels, cache_path=tmp_path, **SMALL)
    assert torch.equal(torch.get_rng_state(), state)  # training leaves the global RNG alone
    assert clf.held_out_accuracy > 0.9 and not clf.loaded_from_cache
    assert isinstance(clf, FeatureExtractor)
    info = clf.describe()
    assert info["name"] == "domain-classifier" and info["n_held_out"] == 30
    feats, probs = clf.features(images[:10]), clf.probs(images[:10])
    assert feats.shape == (10, 32) and probs.shape == (10, 2)
    assert torch.allclose(probs.sum(1), torch.ones(10))
    files = list(tmp_path.glob("*.safetensors"))
    assert len(files) == 1 and info["fingerprint"][:16] in files[0].name

    again = train_domain_classifier(images, labels, cache_path=tmp_path, **SMALL)
    assert again.loaded_from_cache
    assert torch.equal(again.features(images[:10]), feats)
    assert again.held_out_accuracy == clf.held_out_accuracy

    # other data → other fingerprint → a second cache file
    other = train_domain_classifier(images[:100], labels[:100], cache_path=tmp_path, **SMALL)
    assert not other.loaded_from_cache and len(list(tmp_path.glob("*.safetensors"))) == 2

    # a corrupt cache file is reported and replaced
    files[0].write_bytes(b"not a safetensors file")
    with pytest.warns(UserWarning, match="unreadable domain-classifier cache"):
        fresh = train_domain_classifier(images, labels, cache_path=tmp_path, **SMALL)
    assert not fresh.loaded_from_cache
    assert torch.equal(fresh.features(images[:10]), feats)  # same seed, same weights

    # its figures flow into the evaluation helpers
    out = evaluate_images(clf, images[:100], images[100:200], metrics=("fid", "is", "mode-score"))
    assert out["protocol"]["extractor"] == "domain-classifier"
    assert out["protocol"]["extractor_info"]["held_out_accuracy"] == clf.held_out_accuracy
    assert out["is"] > 1.5 and out["mode_score"] > 1.5


def test_domain_classifier_any_channels_and_size_and_errors(tmp_path):
    clf = DomainClassifier(in_channels=3, num_classes=4, width=4, feature_dim=8)
    for size in (8, 13, 40):
        assert clf.features(torch.rand(3, 3, size, size) * 2 - 1).shape == (3, 8)
    assert clf.features(torch.randint(0, 255, (2, 3, 8, 8), dtype=torch.uint8)).shape == (2, 8)
    with pytest.raises(GanError, match="at least 8x8"):
        clf.features(torch.zeros(1, 3, 7, 7))
    with pytest.raises(GanError, match=r"\(N, 3, H, W\)"):
        clf.features(torch.zeros(1, 1, 8, 8))
    with pytest.raises(GanError, match="integer class ids"):
        train_domain_classifier(torch.zeros(20, 1, 8, 8), torch.zeros(20), epochs=1)
    with pytest.raises(GanError, match="not found"):
        DomainClassifier.load(tmp_path / "missing.safetensors")
    path = clf.save(tmp_path / "clf.safetensors")
    loaded = DomainClassifier.load(path)
    x = torch.rand(2, 3, 9, 9)
    assert torch.equal(loaded.features(x), clf.features(x))


def test_extract_features_and_raw_features():
    x = torch.arange(24.0).reshape(6, 1, 2, 2)
    out = extract_features(RawFeatures(), x, batch_size=4)
    assert torch.equal(out, x.reshape(6, 4))
    with pytest.raises(GanError, match="no 'probs' output"):
        extract_features(RawFeatures(), x, kind="probs")


@pytest.fixture(scope="module")
def inception_file(tmp_path_factory):
    from torchvision.models import inception_v3

    torch.manual_seed(0)
    net = inception_v3(weights=None, aux_logits=True, init_weights=False).eval()
    path = tmp_path_factory.mktemp("inception") / "inception_v3.pt"
    torch.save(net.state_dict(), path)
    return path, net


def test_inception_features_from_local_file(inception_file, tmp_path):
    path, net = inception_file
    ext = InceptionFeatures.from_file(path)
    assert isinstance(ext, FeatureExtractor) and ext.describe()["weights"] == "inception_v3.pt"
    x = torch.rand(1, 3, 299, 299) * 2 - 1
    feats, logits = ext.features_and_logits(x)
    assert feats.shape == (1, 2048) and logits.shape == (1, 1000)
    with torch.no_grad():
        expected = net(x)  # torchvision's own forward in eval mode returns logits
    assert torch.allclose(logits, expected, atol=1e-4, rtol=1e-4)
    assert torch.allclose(torch.softmax(logits, 1), ext.net.fc(feats).softmax(1))
    gray = ext.features(torch.rand(1, 1, 32, 32) * 2 - 1)  # grayscale, resized to 299
    assert gray.shape == (1, 2048) and torch.isfinite(gray).all()

    # a state dict without the auxiliary classifier, as safetensors
    from safetensors.torch import save_file
    state = {k: v.contiguous() for k, v in net.state_dict().items() if not k.startswith("AuxLogits.")}
    save_file(state, str(tmp_path / "no_aux.safetensors"))
    no_aux = InceptionFeatures.from_file(tmp_path / "no_aux.safetensors")
    assert torch.allclose(no_aux.probs(x), expected.softmax(1), atol=1e-5)


def test_inception_features_bad_files(tmp_path):
    with pytest.raises(GanError, match="not found"):
        InceptionFeatures.from_file(tmp_path / "missing.pt")
    linear = tmp_path / "linear.pt"
    torch.save(nn.Linear(2048, 10).state_dict(), linear)
    with pytest.raises(GanError, match="inception_v3"):
        InceptionFeatures.from_file(linear)
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"\x00garbage" * 10)
    with pytest.raises(GanError, match="cannot read"):
        InceptionFeatures.from_file(junk)
    pickled = tmp_path / "object.pt"
    torch.save({"fc.weight": torch.zeros(2, 2), "extra": nn.Linear(1, 1)}, pickled)  # not weights-only
    with pytest.raises(GanError, match="cannot read"):
        InceptionFeatures.from_file(pickled)

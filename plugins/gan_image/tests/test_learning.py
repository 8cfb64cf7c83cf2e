"""Learning tests: after a short CPU training run on the embedded digits, generated samples are
measurably closer to the data — the domain-classifier FID falls by a stated factor.

The default suite runs DCGAN (~200 steps); ``-m slow`` runs every family. Factors are set well
below what was observed (see each test) so that seeds and platforms do not make them flaky, yet
far above what an untrained or broken model gives (ratio ≈ 1).
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

from gan.testing import make_recipe, run_recipe

# the real-data side of every learning test: 4 000 digits, a classifier trained on 2 000 of them
EVAL = {"data__embedded_size": 4000, "eval__samples": 1000, "eval__classifier_images": 2000,
        "eval__classifier_epochs": 2, "eval__cache": False}


def fid_before_after(cls: type, steps: int, data=None, **overrides) -> tuple[float, float]:
    recipe = make_recipe(cls, preset=None, steps=steps, data=data, **{**EVAL, **overrides})
    before = recipe.evaluate()["fid"]
    run_recipe(recipe, log_every=10**9, ckpt_every=0)
    after = recipe.evaluate()["fid"]
    shape = "x".join(map(str, recipe.image_shape))
    print(f"{cls.name} on {shape}: FID {before:.1f} -> {after:.1f} ({before / after:.2f}x) after {steps} steps")
    return before, after


def test_dcgan_fid_falls_on_digits(models):
    """Observed with the current defaults (compact nets, no batch norm in D, hinge, R1, EMA): FID
    1951 → 619 (3.15×) after 200 steps (1998 → 588 before hinge, R1 and EMA); with the paper's nets 1627 → 521 (3.1×) (against the held-out split, on the
    batch-norm classifier's features; 2633 → 247 on the earlier classifier and training split)."""
    before, after = fid_before_after(models["dcgan"], 200, batch_size=64, g_width=32, d_width=32)
    assert after < before / 2, (before, after)


BENCHMARK = Path(__file__).resolve().parents[3] / "benchmarks" / "image_quality.py"


def load_benchmark():
    """``benchmarks/image_quality.py`` as a module (its plain-PyTorch reference); skips where the
    plugin is installed without the repository."""
    if not BENCHMARK.is_file():
        pytest.skip(f"{BENCHMARK} is not here (the plugin without its repository)")
    spec = importlib.util.spec_from_file_location("ganforge_image_quality", BENCHMARK)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_dcgan_is_no_worse_than_the_plain_reference(models):
    """dcgan against the tutorial DCGAN that ``benchmarks/image_quality.py`` trains as its reference
    (plain PyTorch, outside the framework): same digits, steps, batch and seed, scored by the same
    held-out classifier — the minutes-long version of the benchmark's comparison. Observed: dcgan
    235.5, reference 589.7 (0.40×; 201.4 vs 495.0 before hinge, R1 and EMA, on another machine's
    classifier); the bound is 1.0× (at the full MNIST budget dcgan is at 0.38× over seeds 0-2, see
    the README)."""
    steps, batch = 300, 64
    recipe = make_recipe(models["dcgan"], preset=None, steps=steps, batch_size=batch, **EVAL)
    run_recipe(recipe, log_every=10**9, ckpt_every=0)
    fid_dcgan = recipe.evaluate()["fid"]

    from gan.metrics.frechet import gaussian_stats

    sample, _ = load_benchmark().train_reference(recipe.dataset.images, steps, batch, seed=0)
    n = EVAL["eval__samples"]
    feats = recipe.evaluator.extractor.features(sample(n, 1)).float().cpu()
    fid_ref = recipe.evaluator.real_stats(n).frechet_distance(gaussian_stats(feats))
    print(f"dcgan {fid_dcgan:.1f}, plain reference {fid_ref:.1f} ({fid_dcgan / fid_ref:.2f}x) after {steps} steps")
    assert fid_dcgan <= 1.0 * fid_ref, (fid_dcgan, fid_ref)


# (model, steps, required factor, overrides), observed ratio in the comment. The Wasserstein
# models take five critic steps per generator step, so their tests use narrower nets; WGAN-GP
# learns slowly at its paper rate (thousands of steps) and the test raises it (wgan's default, 2e-4,
# is already 4× its paper's).
W32 = {"g_width": 32, "d_width": 32}
W16 = {"g_width": 16, "d_width": 16}
FAMILIES = [
    ("gan", 1500, 8.0, {}),  # 21.4 (3.8 before R1, the 512-512 D, Adam 2e-3 and the EMA)
    ("lsgan", 300, 2.0, W32),  # 7.03 (2.47 on the paper nets before R1; 1.72 with batch norm in D)
    ("cgan", 300, 3.0, W32),  # 5.1 after 200 steps
    ("acgan", 300, 4.0, W32),  # 7.7 (test-split reference, measured with d_norm=none; batch norm not re-run)
    ("infogan", 300, 4.0, W32),  # 38
    ("wgan-gp", 400, 2.5, {**W16, "lr": 5e-4}),  # 19.2 (4.9 on the paper nets with layer norm)
    ("wgan", 500, 2.0, W32),  # 6.44 with the critic bursts (7.36 before; 1.87 at width 16)
    ("ebgan", 600, 3.0, W32),  # 10.4 (14.5: old all-conv G; 1.03: compact G, N(0, 0.02) init)
    ("lapgan", 300, 2.0, W32),  # 5.43 (3.0 with the paper's three levels, no R1, no EMA)
]


@pytest.mark.slow
@pytest.mark.parametrize("name,steps,factor,overrides", FAMILIES, ids=[f[0] for f in FAMILIES])
def test_every_family_learns(models, name, steps, factor, overrides):
    before, after = fid_before_after(models[name], steps, batch_size=64, **overrides)
    assert after < before / factor, (before, after)


# 3-channel 32-px images: the embedded digits in random ink and background colours
# (gan_image.datasets.colour_digits), so every family must model colour, at the size where
# arch=auto still builds the compact nets. Observed ratio in the comment (same steps and overrides).
COLOUR = [
    ("dcgan", 300, 2.0, W32),  # 3.31 (2.39 before hinge, R1 and EMA)
    ("gan", 1500, 4.0, {}),  # 6.82 (3.20 before R1, the 512-512 D, Adam 2e-3 and the EMA)
    ("lsgan", 300, 1.3, W32),  # 4.47 (1.53 on the paper nets with batch norm in D, before R1)
    ("cgan", 300, 2.5, W32),  # 3.12
    ("acgan", 300, 4.0, W32),  # 7.51
    ("infogan", 300, 4.0, W32),  # 18.4
    ("wgan-gp", 400, 2.5, {**W16, "lr": 5e-4}),  # 17.9 (12.0 on the paper nets with layer norm)
    ("wgan", 500, 2.0, W32),  # 2.55 with the critic bursts (2.68 before; 8.7 on the paper nets)
    # 5.28 (3.01 at N(0, 0.02) init). 0.79 with N(0, 1) noise of 100, on the all-convolutional G
    # (--preset paper-nets) and on the compact G alike: black samples, G's tanh and the
    # auto-encoder's saturated at -1 (fakes reconstructed at energy 0.003-0.01, reals 0.09-0.17),
    # so neither net got a gradient out (margin 0.5, code_dim 128 or a linear decoder output did not
    # mend it)
    ("ebgan", 600, 2.5, W32),
    # 2.23 (3.67 with the paper's three levels, no R1, no EMA): at 32 px the coarsest level is an
    # MLP GAN on 16×16×3 images, slower to start than on 8×8×3; on MNIST two levels win (FID 536 → 197)
    ("lapgan", 300, 2.0, W32),
]


@pytest.fixture(scope="module")
def colour_data():
    from gan_image.datasets import DataConfig, colour_digits, make_digits
    return colour_digits(make_digits(config=DataConfig(embedded_size=4000)), size=32)


@pytest.mark.slow
@pytest.mark.parametrize("name,steps,factor,overrides", COLOUR, ids=[c[0] for c in COLOUR])
def test_every_family_learns_on_colour_images(models, colour_data, name, steps, factor, overrides):
    import copy
    before, after = fid_before_after(models[name], steps, batch_size=64, data=copy.deepcopy(colour_data),
                                     **overrides)
    assert after < before / factor, (before, after)

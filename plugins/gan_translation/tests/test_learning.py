"""Each model learns its embedded task (CPU).

* pix2pix (fast, in the default suite): on ``outline2fill`` at 16×16 the held-out L1 falls at least
  3× from initialisation within 600 steps and SSIM rises by 0.2.
* pix2pix (slow): at 32×32, 1500 steps: L1 falls 4×, PSNR rises by 8 dB, and the output beats
  copying the outline through unchanged by 25% (it fills the interiors).
* CycleGAN (slow): on ``day2night``, FID of translations (domain-classifier features) falls 10×
  and ends far below the FID of the untranslated images; the cycle error falls 3×. (The A-vs-B
  classifier's "to_target" fraction is not asserted: on this toy it already labels an untrained
  generator's grey output as the target domain.)
* StarGAN (fast, in the default suite): after 600 steps at 16×16, asked for another colour, every
  test shape comes out in the requested colour judged by its pixels (> 0.9; 0.38 before training,
  chance 1/3) and overlaps its input shape with IoU > 0.4 (0.19 before; 0.57 observed).
* StarGAN (slow): on ``shape-attributes``, attribute-transfer accuracy judged by classifiers trained
  on real images rises from chance to > 0.7, other attributes are preserved, and at the pixel
  level a colour change keeps the shape where it was and turns it the requested colour.
"""

from __future__ import annotations

import pytest
import torch

from gan.testing import make_recipe, run_recipe
from gan_translation.cyclegan import CycleGAN
from gan_translation.datasets import as_float
from gan_translation.pix2pix import Pix2Pix
from gan_translation.stargan import StarGAN


def test_pix2pix_learns_outline_to_fill_fast():
    r = make_recipe(Pix2Pix, preset="toy", data__image_size=16, data__load_size=18, ngf=16, ndf=16,
                    batch_size=16, data__embedded_size=512, steps=600, eval__samples=64)
    before = r.evaluate()
    run_recipe(r, steps=600)
    after = r.evaluate()
    assert after["l1"] < before["l1"] / 3
    assert after["ssim"] > before["ssim"] + 0.2


@pytest.mark.slow
def test_pix2pix_learns_outline_to_fill_at_32px():
    r = make_recipe(Pix2Pix, preset="toy", ngf=16, ndf=16, data__embedded_size=1024, steps=1500, eval__samples=128)
    before = r.evaluate()
    run_recipe(r, steps=1500)
    after = r.evaluate()
    assert after["l1"] < before["l1"] / 4
    assert after["psnr"] > before["psnr"] + 8
    assert after["l1"] < 0.75 * after["l1_input"]


def _evaluate_full(recipe, cache_dir):
    """Full evaluation with the classifiers cached in ``cache_dir`` (trained once, then reused)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("GANFORGE_CACHE", str(cache_dir))
        return recipe.evaluate(full=True)


@pytest.mark.slow
def test_cyclegan_learns_day_to_night(tmp_path):
    r = make_recipe(CycleGAN, preset="toy", data__image_size=16, data__load_size=18, ngf=16, ndf=16, n_blocks=2,
                    batch_size=8, data__embedded_size=512, steps=400, eval__classifier_epochs=3)
    before = _evaluate_full(r, tmp_path)
    run_recipe(r, steps=400)
    after = _evaluate_full(r, tmp_path)
    for dom in ("A", "B"):
        assert after[f"fid/{dom}"] < before[f"fid/{dom}"] / 10
        assert after[f"fid/{dom}"] < after[f"fid_untranslated/{dom}"] / 100
    assert after["cycle_a"] < before["cycle_a"] / 3 and after["cycle_b"] < before["cycle_b"] / 3
    assert after["classifier_accuracy"] > 0.95


def _recolour(r):
    """Ask every test image for the next colour: (IoU of input and output shape, fraction of
    outputs whose shape pixels are strongest in the requested colour channel), plus the change maps."""
    x, c = r.attributes.test
    x, c = as_float(x), c.float()
    target = (c[:, :3].argmax(1) + 1) % 3  # a different colour for every image
    c_trg = c.clone()
    c_trg[:, :3] = torch.eye(3)[target]
    with r.inference([r.eval_model("G")], seed=0):
        y = r.generate(x, c_trg)
    fg_in, fg_out = x.max(1).values > 0, y.max(1).values > 0  # bright shape on a dark background
    iou = (fg_in & fg_out).sum((1, 2)).float() / (fg_in | fg_out).sum((1, 2)).clamp(min=1)
    strength = (y.clamp(min=0) * fg_out[:, None]).sum((2, 3))
    return iou.mean().item(), (strength.argmax(1) == target).float().mean().item(), (x, y, fg_in, fg_out)


def test_stargan_recolours_shapes_fast():
    r = make_recipe(StarGAN, preset="toy", data__image_size=16, g_conv_dim=16, d_conv_dim=16, g_repeat_num=2,
                    data__embedded_size=1024, steps=600, decay_steps=0)
    iou0, acc0, _ = _recolour(r)
    run_recipe(r, steps=600)
    iou, acc, _ = _recolour(r)
    assert acc0 < 0.6 and acc > 0.9, (acc0, acc)
    assert iou > 0.4 and iou > iou0 + 0.2, (iou0, iou)


@pytest.fixture(scope="module")
def stargan_trained(tmp_path_factory):
    cache = tmp_path_factory.mktemp("stargan-eval")
    r = make_recipe(StarGAN, preset="toy", data__image_size=16, g_conv_dim=16, d_conv_dim=16, g_repeat_num=2,
                    data__embedded_size=1024, steps=1500, decay_steps=0, eval__classifier_epochs=3)
    before = _evaluate_full(r, cache)
    run_recipe(r, steps=1500)
    return r, before, _evaluate_full(r, cache)


@pytest.mark.slow
def test_stargan_attribute_transfer_rises_above_chance(stargan_trained):
    _, before, after = stargan_trained
    chance = after["transfer_chance"]
    assert before["transfer_acc"] < chance + 0.2
    assert after["transfer_acc"] > max(0.7, 2 * chance)
    assert after["preserve_acc"] > 0.7 and after["preserve_acc"] > before["preserve_acc"] + 0.2
    for colour in ("red", "green", "blue"):
        assert after[f"transfer_acc/{colour}"] > 0.9
    for factor in ("red/green/blue", "circle/square/triangle", "large"):
        assert after[f"classifier_accuracy/{factor}"] > 0.85  # the judge itself is reliable
    assert after["fid_mean"] < before["fid_mean"] / 3


@pytest.mark.slow
def test_stargan_changes_only_what_the_label_asks(stargan_trained):
    r, _, _ = stargan_trained
    iou, acc, (x, y, fg_in, fg_out) = _recolour(r)
    assert iou > 0.75  # same shape, same place, same size
    assert acc > 0.9  # the requested colour
    change = (y - x).abs().amax(1)
    background = ~(fg_in | fg_out)
    assert change[background].mean() < 0.25  # the background is left (nearly) alone ...
    assert change[background].mean() < change[fg_in & fg_out].mean() / 4  # ... the shape is recoloured

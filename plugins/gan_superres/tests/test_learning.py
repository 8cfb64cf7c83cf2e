"""SRResNet learns: a short CPU run beats bicubic interpolation on held-out embedded scenes.

Bicubic is a strong PSNR baseline. The paper's SRResNet (output built from scratch) needs far more
updates than a CPU test affords to reach it — measured on these scenes with 4 blocks × 32: 28.0 dB
against bicubic's 29.7 after 750 updates — so this test turns on ``global_skip`` (G predicts the
residual over bicubic, as VDSR does; not in the paper): it starts below bicubic (random residual)
and must learn sharper-than-bicubic edges to pass.
"""

from __future__ import annotations

import pytest

from gan.testing import make_recipe, run_recipe
from gan_superres.srresnet import SRResNet

#: a reduced SRResNet (4 residual blocks, 32 wide) on 48-px crops of the embedded scenes
LEARN = {"steps": 600, "batch_size": 8, "data.image_size": 48, "data.embedded_side": 96,
         "data.embedded_size": 200, "n_blocks": 4, "width": 32, "lr": 1e-3, "decay_every": 400,
         "eval.samples": 25, "eval.side": 96, "global_skip": True}


@pytest.mark.slow
def test_short_srresnet_run_beats_bicubic_on_held_out_scenes():
    recipe = make_recipe(SRResNet, preset=None, **LEARN)
    before = recipe.evaluate(full=True)
    run_recipe(recipe)
    after = recipe.evaluate(full=True)
    assert after["protocol"]["images"] == 25
    assert before["psnr_y"] < before["bicubic_psnr_y"]  # untrained: bicubic plus a random residual
    assert after["psnr_y"] > after["bicubic_psnr_y"] + 0.2, after
    assert after["ssim_y"] > before["ssim_y"]

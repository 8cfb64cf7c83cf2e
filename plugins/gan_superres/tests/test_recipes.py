"""SRGAN starts from SRResNet; bad init_from / vgg_weights are one line (exit 2); gan eval and
gan translate on super-resolution runs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from gan.cli import main
from gan.errors import GanError
from gan.images import read_image, to_uint8
from gan.runs import load_run
from gan.testing import make_recipe, run_recipe
from gan_superres.srgan import SRGAN
from gan_superres.srresnet import SRResNet


@pytest.fixture(scope="module")
def srresnet_run(tmp_path_factory) -> Path:
    run_dir = tmp_path_factory.mktemp("runs") / "srresnet"
    run_recipe(make_recipe(SRResNet), steps=3, run_dir=run_dir)
    return run_dir


def test_srgan_generator_starts_from_the_srresnet_weights(srresnet_run):
    trained = load_run(srresnet_run, device="cpu").models["G"].state_dict()
    fresh = make_recipe(SRGAN).models["G"].state_dict()
    started = make_recipe(SRGAN, init_from=str(srresnet_run)).models["G"].state_dict()
    assert started.keys() == trained.keys()
    assert all(torch.equal(started[k], trained[k]) for k in trained)
    assert not all(torch.equal(fresh[k], trained[k]) for k in trained if k.endswith("weight"))
    ckpt = sorted((srresnet_run / "checkpoints").glob("ckpt-*.pt"))[-1]
    from_file = make_recipe(SRGAN, init_from=str(ckpt)).models["G"].state_dict()
    assert all(torch.equal(from_file[k], trained[k]) for k in trained)


def test_srgan_trains_from_srresnet_and_reopens(srresnet_run, tmp_path):
    recipe = make_recipe(SRGAN, init_from=str(srresnet_run))
    run_recipe(recipe, steps=2, run_dir=tmp_path / "gan")
    again = load_run(tmp_path / "gan", device="cpu")
    torch.testing.assert_close(again.sample(2), recipe.sample(2))


def test_srgan_run_reopens_after_its_srresnet_run_is_gone(srresnet_run, tmp_path):
    import shutil
    source = tmp_path / "srresnet"
    shutil.copytree(srresnet_run, source)
    recipe = make_recipe(SRGAN, init_from=str(source))
    run_recipe(recipe, steps=2, run_dir=tmp_path / "gan")
    shutil.rmtree(source)
    torch.testing.assert_close(load_run(tmp_path / "gan", device="cpu").sample(2), recipe.sample(2))
    resumed = make_recipe(SRGAN, init_from=str(source))
    run_recipe(resumed, steps=3, run_dir=tmp_path / "gan", resume=True)  # resume needs no SRResNet either
    fresh = make_recipe(SRGAN, init_from=str(source))
    with pytest.raises(GanError, match="no such run directory"):  # a fresh start does
        run_recipe(fresh, steps=1)


@pytest.mark.parametrize("make,message", [
    (lambda tmp, run: tmp, "no checkpoint"),
    (lambda tmp, run: run, "does not match this config"),
])
def test_bad_init_from_is_one_line(srresnet_run, tmp_path, make, message):
    source = make(tmp_path, srresnet_run)
    overrides = {"width": 16} if message.startswith("does not") else {}
    with pytest.raises(GanError, match=message):
        make_recipe(SRGAN, init_from=str(source), **overrides)


def test_init_from_another_model_is_refused(tmp_path):
    from gan.testing import fresh_manager
    pix2pix = fresh_manager(("translation", "gan_translation.plugin")).registry("model").resolve("pix2pix")
    run_recipe(make_recipe(pix2pix), steps=1, run_dir=tmp_path / "p2p")
    with pytest.raises(GanError, match="holds a 'pix2pix' run"):
        make_recipe(SRGAN, init_from=str(tmp_path / "p2p"))


def _run_cli(capsys, *args: str) -> tuple[int, str]:
    rc = main([str(a) for a in args])
    captured = capsys.readouterr()
    return rc, captured.out + captured.err


def test_bad_vgg_weights_are_one_line_exit_2(tmp_path, capsys):
    garbage = tmp_path / "vgg.pth"
    garbage.write_bytes(b"not a checkpoint")
    wrong = tmp_path / "wrong.pth"
    torch.save({"features.0.weight": torch.zeros(3)}, wrong)
    for path, expect in ((tmp_path / "none.pth", "file not found"), (garbage, "cannot be read"),
                         (wrong, "not VGG19 weights")):
        with pytest.raises(GanError, match=expect):
            make_recipe(SRGAN, vgg_weights=str(path))
    rc, out = _run_cli(capsys, "run", "--plugin", "srgan", "--preset", "tiny", "--device", "cpu",
                       "--run-dir", tmp_path / "r", "--set", f"vgg_weights={garbage}")
    lines = [ln for ln in out.splitlines() if ln.startswith("error:")]
    assert rc == 2 and len(lines) == 1 and "cannot be read" in lines[0] and str(garbage) in lines[0], out
    assert "Traceback" not in out


def test_vgg54_content_loss_from_a_local_file(tmp_path):
    """A VGG19 features state_dict (random weights: nothing downloads) drives the content loss."""
    from torchvision.models.vgg import cfgs, make_layers
    torch.manual_seed(0)
    path = tmp_path / "vgg19.pth"
    torch.save({f"features.{k}": v for k, v in make_layers(cfgs["E"]).state_dict().items()}, path)
    recipe = make_recipe(SRGAN, vgg_weights=str(path))
    assert recipe.content is not None and "content" not in recipe.models
    trainer = run_recipe(recipe, steps=1, log_every=1)
    assert trainer.step == 1
    x, y = torch.rand(2, 3, 16, 16) * 2 - 1, torch.rand(2, 3, 16, 16) * 2 - 1
    assert recipe.content(x, x).item() == 0 and recipe.content(x, y).item() > 0
    phi = recipe.content.phi(x)
    assert phi.shape == (2, 512, 1, 1)  # conv5_4 after four poolings


def test_gan_eval_prints_model_and_bicubic_figures(srresnet_run, capsys):
    rc, out = _run_cli(capsys, "eval", "--run-dir", srresnet_run, "--device", "cpu")
    assert rc == 0, out
    values = dict(ln.split(": ", 1) for ln in out.splitlines() if ": " in ln and not ln.startswith("protocol"))
    for key in ("psnr_y", "ssim_y", "bicubic_psnr_y", "bicubic_ssim_y"):
        assert np.isfinite(float(values[key])), key
    assert "4-px border" in out


def test_translate_upscales_any_size_exactly_four_times(srresnet_run, tmp_path, capsys):
    src = tmp_path / "in"
    (src / "sub").mkdir(parents=True)
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 255, (13, 21, 3), dtype=np.uint8)).save(src / "odd.png")
    Image.fromarray(rng.integers(0, 255, (40, 35), dtype=np.uint8)).save(src / "sub" / "gray.jpg")
    rc, out = _run_cli(capsys, "translate", "--run-dir", srresnet_run, "--input", src, "--output",
                       tmp_path / "out", "--device", "cpu")
    assert rc == 0, out
    with Image.open(tmp_path / "out" / "odd.png") as img:
        assert img.size == (84, 52) and img.format == "PNG"
    with Image.open(tmp_path / "out" / "sub" / "gray.jpg") as img:
        assert img.size == (140, 160) and img.format == "JPEG"
    # the written pixels are the model's (tiny preset tiles at 16 px: this image is tiled)
    recipe = load_run(srresnet_run, device="cpu")
    expected = to_uint8(recipe.translate(read_image(src / "odd.png")[None])[0])
    assert torch.equal(to_uint8(read_image(tmp_path / "out" / "odd.png")), expected)
    rc, out = _run_cli(capsys, "translate", "--run-dir", srresnet_run, "--input", src, "--output",
                       tmp_path / "o2", "--direction", "AtoB", "--device", "cpu")
    assert rc == 2 and "do not apply" in out

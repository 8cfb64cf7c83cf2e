"""``gan translate`` end to end: train a tiny run, translate a folder of assorted images."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from gan.cli import main
from gan.images import read_image, to_uint8
from gan.runs import load_run
from gan.testing import make_recipe, run_recipe
from gan_translation.cyclegan import CycleGAN
from gan_translation.pix2pix import Pix2Pix
from gan_translation.stargan import StarGAN


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, Path]:
    out = {}
    for cls in (Pix2Pix, CycleGAN, StarGAN):
        run_dir = tmp_path_factory.mktemp("runs") / cls.name
        run_recipe(make_recipe(cls), steps=2, run_dir=run_dir)
        out[cls.name] = run_dir
    return out


@pytest.fixture
def inputs(tmp_path) -> Path:
    """RGB and grayscale, PNG and JPEG, square and rectangular, nested."""
    root = tmp_path / "in"
    (root / "sub").mkdir(parents=True)
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 255, (12, 20, 3), dtype=np.uint8)).save(root / "wide.png")
    Image.fromarray(rng.integers(0, 255, (33, 17, 3), dtype=np.uint8)).save(root / "sub" / "tall.jpg")
    Image.fromarray(rng.integers(0, 255, (16, 16), dtype=np.uint8)).save(root / "gray.png")
    return root


def _translate(*args: str) -> int:
    return main(["translate", *map(str, args)])


@pytest.mark.parametrize("model,extra", [("pix2pix", []), ("cyclegan", ["--direction", "BtoA"]),
                                         ("stargan", ["--target-attrs", "blue,large=0"])])
def test_translate_keeps_names_sizes_and_formats(runs, inputs, tmp_path, model, extra):
    out = tmp_path / "out"
    assert _translate("--run-dir", runs[model], "--input", inputs, "--output", out, "--device", "cpu", *extra) == 0
    for rel, size, fmt in (("wide.png", (20, 12), "PNG"), ("sub/tall.jpg", (17, 33), "JPEG"),
                           ("gray.png", (16, 16), "PNG")):
        with Image.open(out / rel) as img:
            assert img.size == size and img.format == fmt


def test_translated_pixels_are_the_model_output(runs, tmp_path):
    recipe = load_run(runs["cyclegan"], device="cpu")
    x = torch.rand(1, 3, 16, 16) * 2 - 1  # the training size: no resizing involved
    src = tmp_path / "src"
    src.mkdir()
    Image.fromarray(to_uint8(x[0]).permute(1, 2, 0).numpy()).save(src / "x.png")
    assert _translate("--run-dir", runs["cyclegan"], "--input", src / "x.png", "--output", tmp_path / "o",
                      "--device", "cpu") == 0
    expected = to_uint8(recipe.translate(read_image(src / "x.png")[None], direction="AtoB")[0])
    got = to_uint8(read_image(tmp_path / "o" / "x.png"))
    assert torch.equal(got, expected)
    # BtoA applies the other generator
    assert _translate("--run-dir", runs["cyclegan"], "--input", src, "--output", tmp_path / "o2",
                      "--direction", "BtoA", "--device", "cpu") == 0
    assert not torch.equal(to_uint8(read_image(tmp_path / "o2" / "x.png")), got)


def test_translate_from_a_checkpoint_file_at_native_scale(runs, inputs, tmp_path):
    ckpt = sorted((runs["pix2pix"] / "checkpoints").glob("ckpt-*.pt"))[-1]
    assert _translate("--checkpoint", ckpt, "--input", inputs, "--output", tmp_path / "o",
                      "--scale", "native", "--device", "cpu") == 0
    with Image.open(tmp_path / "o" / "sub" / "tall.jpg") as img:
        assert img.size == (17, 33)


@pytest.mark.parametrize("args,message", [
    (["--run-dir", "{stargan}"], "--target-attrs: give the target domain; choose from: red, green"),
    (["--run-dir", "{stargan}", "--target-attrs", "purple"], "unknown attribute 'purple'"),
    (["--run-dir", "{pix2pix}", "--direction", "BtoA"], "trained AtoB"),
    (["--run-dir", "{cyclegan}", "--target-attrs", "red"], "stargan only"),
    ([], "exactly one of --run-dir or --checkpoint"),
    (["--run-dir", "{missing}"], "no such run directory"),
])
def test_translate_errors_are_one_line(runs, inputs, tmp_path, capsys, args, message):
    paths = {k: str(v) for k, v in runs.items()} | {"missing": str(tmp_path / "nope")}
    args = [a.format(**paths) for a in args]
    assert _translate(*args, "--input", inputs, "--output", tmp_path / "o", "--device", "cpu") == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and message in err and "\n" not in err


def test_translate_input_and_output_errors(runs, inputs, tmp_path, capsys):
    assert _translate("--run-dir", runs["pix2pix"], "--input", tmp_path / "none", "--output", tmp_path / "o") == 2
    assert "no such file or folder" in capsys.readouterr().err
    assert _translate("--run-dir", runs["pix2pix"], "--input", inputs, "--output", inputs) == 2
    assert "is the input folder" in capsys.readouterr().err
    (inputs / "broken.png").write_bytes(b"not an image")
    assert _translate("--run-dir", runs["pix2pix"], "--input", inputs, "--output", tmp_path / "o",
                      "--device", "cpu") == 2
    assert "broken.png: cannot decode image" in capsys.readouterr().err

"""`gan sample --format png|npy --list` and `gan eval --samples` on a tiny image run."""

import json

import numpy as np
import pytest
from PIL import Image

from gan.cli import main


def run(capsys, *args):
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def _error_line(err):
    lines = [x for x in err.splitlines() if x.startswith("error:")]
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


@pytest.fixture(scope="module")
def image_run(tmp_path_factory):
    rd = tmp_path_factory.mktemp("cli") / "dcgan"
    code = main(["run", "--plugin", "dcgan", "--preset", "tiny", "--run-dir", str(rd), "--device", "cpu",
                 "--max-steps", "2"])
    assert code == 0
    return rd


@pytest.fixture(autouse=True)
def _no_home_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("GANFORGE_CACHE", str(tmp_path / "cache"))


def test_sample_png_summarises_and_keeps_the_grid_beside_the_folder(capsys, image_run, tmp_path):
    out_dir = tmp_path / "fakes"
    code, out, err = run(capsys, "sample", "--run-dir", image_run, "-n", 5, "--seed", 3, "--out", out_dir,
                         "--device", "cpu")
    assert code == 0, err
    assert out.strip().splitlines() == [f"wrote 5 sample file(s) to {out_dir}; grid: {tmp_path / 'fakes-grid.png'}"
                                        f" (--list prints every path)"]
    assert sorted(p.name for p in out_dir.iterdir()) == [f"sample-{i:05d}.png" for i in range(5)]
    assert (tmp_path / "fakes-grid.png").is_file()  # beside, not inside: scorers read the folder
    code, out, err = run(capsys, "sample", "--run-dir", image_run, "-n", 5, "--seed", 3, "--out", out_dir,
                         "--device", "cpu", "--list")
    assert code == 0, err
    assert out.split() == [str(out_dir / f"sample-{i:05d}.png") for i in range(5)] + [str(tmp_path / "fakes-grid.png")]


def test_sample_npy_is_uint8_images_equal_to_the_pngs(capsys, image_run, tmp_path):
    code, _, err = run(capsys, "sample", "--run-dir", image_run, "-n", 7, "--seed", 5, "--out", tmp_path / "png",
                       "--device", "cpu")
    assert code == 0, err
    code, out, err = run(capsys, "sample", "--run-dir", image_run, "-n", 7, "--seed", 5, "--out", tmp_path / "npy",
                         "--device", "cpu", "--format", "npy")
    assert code == 0, err
    assert "wrote 1 sample file(s)" in out and "npy-grid.png" in out
    arr = np.load(tmp_path / "npy" / "samples.npy")
    assert arr.dtype == np.uint8 and arr.shape == (7, 16, 16, 1)
    pngs = np.stack([np.asarray(Image.open(tmp_path / "png" / f"sample-{i:05d}.png")) for i in range(7)])
    assert np.array_equal(arr[..., 0], pngs)
    assert sorted(p.name for p in (tmp_path / "npy").iterdir()) == ["samples.npy"]


def test_sample_format_on_a_model_without_formats_is_one_line(capsys, tmp_path):
    rd = tmp_path / "toy"
    assert main(["run", "--plugin", "toy", "--preset", "tiny", "--run-dir", str(rd), "--device", "cpu",
                 "--max-steps", "1"]) == 0
    capsys.readouterr()
    code, _, err = run(capsys, "sample", "--run-dir", rd, "--format", "npy")
    assert code == 2 and "--format npy: model 'toy-gan'" in _error_line(err)
    code, _, err = run(capsys, "eval", "--run-dir", rd, "--samples", 50)
    assert code == 2 and "--samples 50: model 'toy-gan'" in _error_line(err)


def test_eval_samples_flag_and_withheld_line(capsys, image_run):
    code, out, err = run(capsys, "eval", "--run-dir", image_run, "--samples", 30, "--json", "--device", "cpu")
    assert code == 0, err
    rec = json.loads(out)
    p = rec["protocol"]
    assert p["n_fake"] == 30 and "digits test split" in p["reference"] and "torch" in p
    # the tiny preset's classifier is near chance: no FID, one line saying why, its accuracy beside
    assert "fid" not in rec and rec["classifier_accuracy"] < 0.9
    assert rec["withheld"].startswith("FID, KID, IS and 1-NN withheld: the evaluation classifier is")
    code, out, err = run(capsys, "eval", "--run-dir", image_run, "--samples", 30, "--device", "cpu")
    assert code == 0, err
    lines = out.splitlines()
    assert sum(x.startswith("withheld: ") for x in lines) == 1 and any(x.startswith("classifier_accuracy: ") for x in lines)
    code, _, err = run(capsys, "eval", "--run-dir", image_run, "--samples", 1)
    assert code == 2 and "--samples" in err


def test_sample_nice_takes_an_optional_factor(capsys, tmp_path):
    import torch

    from gan.runs import load_run
    from gan.sampling import NICE_FACTOR
    rd = tmp_path / "toy"
    assert main(["run", "--plugin", "toy", "--preset", "tiny", "--run-dir", str(rd), "--device", "cpu",
                 "--max-steps", "2"]) == 0
    recipe = load_run(rd, device="cpu")
    for flags, factor in ((["--nice"], NICE_FACTOR), (["--nice", "2"], 2), ([], 1)):
        capsys.readouterr()
        code, out, err = run(capsys, "sample", "--run-dir", rd, "-n", 3, "--seed", 1, "--device", "cpu",
                             "--out", tmp_path / "s", *flags)
        assert code == 0, err
        candidates = recipe.sample(3 * factor, seed=1)
        best = candidates[recipe.score(candidates).argsort(descending=True)[:3]] if factor > 1 else candidates
        got = torch.tensor([[float(v) for v in line.split(",")] for line in out.split()])
        assert torch.allclose(got, best, atol=1e-4), (flags, got, best)

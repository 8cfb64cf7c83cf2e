"""Issue 10.5 — every file-backed dataset verifies its files when opened (one line naming a bad
file, or skip-and-count with skip_bad); colour mode from a setting (RGB default) or the majority,
never the first file; a data error mid-run writes a checkpoint first."""

from __future__ import annotations

import io
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from gan.errors import GanError, GanWarning


def _image_bytes(fmt: str, w: int = 16, h: int = 12, gray: bool = False, seed: int = 0) -> bytes:
    rng = np.random.default_rng(seed)
    a = rng.integers(0, 255, (h, w) if gray else (h, w, 3), dtype=np.uint8)
    buf = io.BytesIO()
    Image.fromarray(a).save(buf, format=fmt)
    return buf.getvalue()


def _bad(kind: str) -> tuple[str, bytes]:
    if kind == "truncated-jpeg":
        data = _image_bytes("JPEG", 64, 64)
        return ".jpg", data[: len(data) * 2 // 3]
    if kind == "truncated-png":
        data = _image_bytes("PNG", 64, 64)
        return ".png", data[: len(data) * 2 // 3]
    if kind == "garbage":
        return ".png", b"not an image at all"
    return ".jpg", b""  # zero-byte


def _write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def _aligned(root, n):
    return [_write(root / "train" / f"{i:02d}.png", _image_bytes("PNG", 24, 12, seed=i)) for i in range(n)]


def _unaligned(root, n):
    return [_write(root / d / f"{i:02d}.png", _image_bytes("PNG", seed=i)) for d in ("trainA", "trainB")
            for i in range(n)]


def _domains(root, n):
    return [_write(root / d / f"{i:02d}.png", _image_bytes("PNG", seed=i)) for d in ("cats", "dogs")
            for i in range(n)]


def _celeba(root, n):
    files = [_write(root / "images" / f"{i:02d}.png", _image_bytes("PNG", seed=i)) for i in range(n)]
    rows = "".join(f"{f.name} {' '.join('1' if (i + j) % 2 else '-1' for j in range(5))}\n"
                   for i, f in enumerate(files))
    (root / "list_attr_celeba.txt").write_text(f"{n}\nBlack_Hair Blond_Hair Brown_Hair Male Young\n{rows}")
    return files


LAYOUTS = {"aligned": _aligned, "unaligned": _unaligned, "domain-folders": _domains, "celeba": _celeba}


def _make(name: str, root: Path, **cfg):
    from gan_translation import datasets as d
    maker = {"aligned": d.make_aligned, "unaligned": d.make_unaligned,
             "domain-folders": d.make_domain_folders, "celeba": d.make_celeba}[name]
    return maker(root, SimpleNamespace(data=SimpleNamespace(image_size=8, load_size=8, **cfg)))


def _count(name: str, data) -> int:
    if name == "aligned":
        return len(data.train)
    if name == "unaligned":
        return len(data.train_a) + len(data.train_b)
    return len(set(data.train.images.files) | set(data.test.images.files))  # a test split may reuse train


@settings(max_examples=24, deadline=None, suppress_health_check=list(HealthCheck))
@given(layout=st.sampled_from(sorted(LAYOUTS)), which=st.integers(0, 1000),
       kind=st.sampled_from(["truncated-jpeg", "truncated-png", "garbage", "zero-byte"]))
def test_a_bad_file_anywhere_is_named_when_the_dataset_is_opened(tmp_path_factory, layout, which, kind):
    root = tmp_path_factory.mktemp(layout)
    files = LAYOUTS[layout](root, 6)
    victim = files[which % len(files)]
    suffix, data = _bad(kind)
    bad = victim.with_suffix(suffix)
    victim.unlink()
    _write(bad, data)
    if layout == "celeba":  # the attribute file names the image
        attr = root / "list_attr_celeba.txt"
        attr.write_text(attr.read_text().replace(victim.name, bad.name))
    with pytest.raises(GanError, match=rf"{bad.name}: (cannot decode image|empty \(zero-byte\))"):
        _make(layout, root)
    with pytest.warns(GanWarning, match=rf"skipped 1 unreadable image\(s\) .*first: .*{bad.name}"):
        skipped = _make(layout, root, skip_bad=True)
    assert _count(layout, skipped) == len(files) - 1


@pytest.mark.parametrize("odd_first", [True, False])
def test_colour_mode_never_comes_from_the_first_file(tmp_path, odd_first):
    root = tmp_path / "u"
    for d in ("trainA", "trainB"):
        for i in range(5):
            gray = (i == 0) if odd_first else (i == 4)  # one grayscale file among RGB ones
            _write(root / d / f"{i}.png", _image_bytes("PNG", gray=gray and d == "trainA", seed=i))
    default = _make("unaligned", root)
    assert default.channels == (3, 3)  # RGB unless told otherwise, as the reference code reads images
    with pytest.warns(GanWarning, match=r"domain A .*1 of 5 image\(s\) are grayscale among RGB ones.*"
                                        + ("0.png" if odd_first else "4.png")):
        majority = _make("unaligned", root, channels=0)
    assert majority.channels == (3, 3)
    assert _make("unaligned", root, channels=1).channels == (1, 1)


def test_a_truncated_jpeg_stops_a_pix2pix_run_before_training(rel, tmp_path):
    root = tmp_path / "pairs"
    for i in range(10):
        _write(root / "train" / f"{i}.jpg", _image_bytes("JPEG", 32, 16, seed=i))
    good = (root / "train" / "3.jpg").read_bytes()
    (root / "train" / "3.jpg").write_bytes(good[: len(good) // 2])
    r = rel.run_cli(["run", "--plugin", "pix2pix", "--preset", "tiny", *rel.QUIET, "--run-dir", tmp_path / "r",
                     "--dataset", "aligned", "--data-root", root, "--set", "steps=4"])
    assert r.code == 2, r.err
    assert "3.jpg: cannot decode image" in r.error_line() and "skip_bad=true" in r.error_line()
    assert not (tmp_path / "r" / "checkpoints").exists()


def test_a_data_error_mid_run_writes_a_checkpoint_first_and_resume_continues(rel, monkeypatch, tmp_path):
    """A file that breaks after the dataset was opened: the run stops with one line naming it, after
    checkpointing the last finished step; once the file is fixed, --resume goes on from there."""
    from gan_translation import datasets as d
    root = tmp_path / "pairs"
    for i in range(10):
        _write(root / "train" / f"{i}.png", _image_bytes("PNG", 32, 16, seed=i))
    real = d.AlignedPairs.__getitem__
    calls = {"n": 0}

    def flaky(self, i):
        import inspect
        if any(f.function == "train_step" for f in inspect.stack()):  # reads for training only
            calls["n"] += 1
        if calls["n"] == 4:
            raise GanError(f"{self.files[i]}: cannot decode image (OSError: image file is truncated)")
        return real(self, i)

    monkeypatch.setattr(d.AlignedPairs, "__getitem__", flaky)
    args = ["run", "--plugin", "pix2pix", "--preset", "tiny", *rel.QUIET, "--run-dir", tmp_path / "r",
            "--dataset", "aligned", "--data-root", root, "--set", "steps=6", "--set", "batch_size=1",
            "--set", "run.ckpt_every=100", "--set", "run.eval_at_start=false"]
    r = rel.run_cli(args)
    assert r.code == 2, r.err
    line = r.error_line()
    assert "cannot decode image" in line and "checkpoint of step 3" in line, line
    assert (tmp_path / "r" / "checkpoints" / "ckpt-00000003.pt").is_file()
    monkeypatch.setattr(d.AlignedPairs, "__getitem__", real)
    r = rel.run_cli(["run", "--plugin", "pix2pix", *rel.QUIET, "--run-dir", tmp_path / "r", "--resume"])
    assert r.code == 0, r.err
    assert "(step 3)" in r.err and "completed at step 6" in r.out

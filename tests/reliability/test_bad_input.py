"""Bad input, tried systematically through the real command line (``gan.cli.main`` in-process).

Every case must give exit code 2, exactly one ``error:`` line (no traceback) containing the expected
fragment, and must leave existing run data byte-identical. Most cases run against a copy of a
finished toy run with ``--resume``, so the CLI gets as far as it would with real data before the bad
input stops it; cases whose data is only read during training run in a fresh directory and check
that nothing outside it is touched.
"""

from __future__ import annotations

import gzip
import json
import os
import pickle
import re
import string
import struct
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, fields
from pathlib import Path

import pytest
import torch
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from gan.checkpoint import load_checkpoint
from gan.errors import GanError

MARKER = Path("/tmp/ganforge_reliability_pwned")


class Evil:
    def __reduce__(self):
        return (os.system, (f"touch {MARKER}",))


# --- file builders --------------------------------------------------------------------------------
def png(path: Path, w: int = 12, h: int = 12, seed: int = 0) -> Path:
    from PIL import Image
    g = torch.Generator().manual_seed(seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray((torch.rand(h, w, 3, generator=g) * 255).to(torch.uint8).numpy()).save(path)
    return path


def image_folder(root: Path, n: int = 4, bad: tuple[str, bytes] | None = None) -> Path:
    for i in range(n):
        png(root / f"img{i}.png", seed=i)
    if bad is not None:
        (root / bad[0]).write_bytes(bad[1])
    return root


def truncated_png(root: Path) -> bytes:
    data = png(root / "_src.png", 32, 32).read_bytes()
    (root / "_src.png").unlink()
    return data[: len(data) // 2]


def idx(path: Path, dims: tuple[int, ...], payload: bytes | None = None) -> Path:
    header = bytes([0, 0, 8, len(dims)]) + b"".join(struct.pack(">I", d) for d in dims)
    n = 1
    for d in dims:
        n *= d
    body = payload if payload is not None else bytes(n)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(header + body) if path.suffix == ".gz" else header + body)
    return path


def celeba(root: Path, attr_text: str | None, images: list[str] = ("a.png", "b.png")) -> Path:
    for name in images:
        png(root / "images" / name)
    if attr_text is not None:
        (root / "list_attr_celeba.txt").write_text(attr_text)
    return root


CELEBA_OK_HEADER = "2\nBlack_Hair Blond_Hair Brown_Hair Male Young\n"
CELEBA_OK = CELEBA_OK_HEADER + "a.png 1 -1 1 1 1\nb.png 1 -1 1 1 1\n"


# --- the table ------------------------------------------------------------------------------------
@dataclass
class Case:
    id: str
    args: Callable[[Path], list]  # tmp dir -> CLI arguments after "run" options
    fragment: str  # expected in the error line (a regular expression)
    # run in a new directory instead of resuming the existing toy run; None: toy cases resume, cases of
    # other models run fresh (resuming the toy run with another model is refused before any input is
    # read; that refusal is the case ckpt-of-another-model)
    fresh: bool | None = None


def run_args(model: str, *extra) -> Callable[[Path], list]:
    return lambda t: ["--plugin", model, "--preset", "tiny", *extra]


def data_args(model: str, dataset: str, build: Callable[[Path], Path | str], *extra):
    return lambda t: ["--plugin", model, "--preset", "tiny", "--dataset", dataset,
                      "--data-root", build(t), *extra]


CASES = [
    # names
    Case("unknown-plugin", run_args("dcgn"), r"unknown plugin or model 'dcgn'; choose from: .*dcgan"),
    Case("unknown-model-of-plugin", lambda t: ["--plugin", "image", "--model", "toy-gan"],
         r"unknown model of plugin 'image' 'toy-gan'; choose from: .*dcgan"),
    # (on --resume a changed loss or dataset is refused as such: test_resume_settings.py)
    Case("unknown-loss", run_args("toy", "--set", "loss=hinj"), r"unknown loss 'hinj'; choose from: .*hinge",
         fresh=True),
    Case("unknown-dataset", run_args("toy", "--dataset", "ring-9"),
         r"unknown dataset 'ring-9'; choose from: .*ring-8"),
    Case("dataset-of-other-kind", run_args("toy", "--dataset", "digits"),
         r"--dataset 'digits' holds image data but model 'toy-gan' needs points", fresh=True),
    Case("unknown-preset", lambda t: ["--plugin", "toy", "--preset", "huge"], r"unknown preset 'huge'"),
    Case("bad-device", run_args("toy", "--device", "tpu"), r"--device 'tpu'"),
    # --set keys and types
    Case("set-unknown-key", run_args("toy", "--set", "lrr=0.1"),
         r"unknown --set key 'lrr'; valid keys: .*lr"),
    Case("set-unknown-run-key", run_args("toy", "--set", "run.sed=1"),
         r"unknown run config key 'run.sed'|unknown run config key 'sed'"),
    Case("set-not-a-group", run_args("toy", "--set", "hidden.x=1"), r"hidden is not a group"),
    Case("set-no-equals", run_args("toy", "--set", "lr"), r"--set 'lr': expected key=value"),
    Case("set-float-type", run_args("toy", "--set", "lr=fast"), r"--set lr='fast': expected float"),
    Case("set-int-type", run_args("toy", "--set", "hidden=1.5"), r"--set hidden='1.5': expected int"),
    Case("set-bool-type", run_args("toy", "--set", "plot=maybe"), r"--set plot='maybe': expected bool"),
    Case("set-literal", run_args("toy", "--set", "run.amp=fp8"),
         r"--set amp='fp8': expected 'auto' \| 'off'"),
    Case("set-optional-int", run_args("toy", "--set", "run.max_steps=many"), r"expected int \| NoneType"),
    Case("set-empty-int", run_args("toy", "--set", "run.seed="), r"--set seed='': expected int"),
    # TOML
    Case("toml-missing", lambda t: ["--plugin", "toy", "--config", t / "nope.toml"],
         r"--config .*nope.toml: file not found"),
    Case("toml-malformed", lambda t: ["--plugin", "toy", "--config", _write(t / "m.toml", "[model\nlr = ")],
         r"not valid TOML"),
    Case("toml-binary", lambda t: ["--plugin", "toy", "--config", _write(t / "b.toml", b"\xff\xfe\x00\x01[")],
         r"not valid TOML|cannot read"),
    Case("toml-unknown-table", lambda t: ["--plugin", "toy", "--config", _write(t / "u.toml", "[modle]\nlr = 1.0\n")],
         r"unknown table\(s\) \['modle'\]"),
    Case("toml-unknown-key", lambda t: ["--plugin", "toy", "--config", _write(t / "k.toml", "[model]\nlrr = 1.0\n")],
         r"unknown model config key 'lrr'"),
    Case("toml-wrong-type", lambda t: ["--plugin", "toy", "--config", _write(t / "w.toml", "[model]\nlr = \"fast\"\n")],
         r"lr='fast': expected float"),
    Case("toml-table-for-scalar", lambda t: ["--plugin", "toy", "--config", _write(t / "s.toml", "[model.lr]\nx = 1\n")],
         r"lr is not a group|unknown model config key 'lr.x'"),
    Case("toml-a-directory", lambda t: ["--plugin", "toy", "--config", _mkdir(t / "cfgdir")],
         r"--config .*cfgdir"),
    # image folders
    Case("folder-missing", data_args("gan", "folder", lambda t: t / "nowhere"), r"nowhere: folder not found"),
    Case("folder-empty", data_args("gan", "folder", lambda t: _mkdir(t / "empty")),
         r"empty: no image files found"),
    Case("folder-no-images", data_args("gan", "folder", lambda t: _write(_mkdir(t / "txt") / "a.txt", "x").parent),
         r"no image files found"),
    Case("folder-zero-byte", data_args("gan", "folder", lambda t: image_folder(t / "z", bad=("img9.png", b""))),
         r"img9.png: empty \(zero-byte\) image file"),
    Case("folder-truncated", data_args("gan", "folder", lambda t: image_folder(t / "tr", bad=("img9.png", truncated_png(_mkdir(t / "tr"))))),
         r"img9.png: cannot decode image"),
    Case("folder-corrupt", data_args("gan", "folder", lambda t: image_folder(t / "c", bad=("img9.jpg", b"\xff\xd8\xff garbage"))),
         r"img9.jpg: cannot decode image"),
    Case("folder-needs-root", run_args("gan", "--dataset", "folder"), r"--dataset folder needs --data-root"),
    Case("data-root-without-dataset", lambda t: ["--plugin", "gan", "--data-root", t],
         r"--data-root needs --dataset"),
    # MNIST IDX files
    Case("mnist-missing-files", data_args("gan", "mnist", lambda t: _mkdir(t / "mn")),
         r"mnist not found under .*missing train-images-idx3-ubyte"),
    Case("mnist-truncated", data_args("gan", "mnist", lambda t: _mnist(t / "mt", truncate=True)),
         r"IDX file is truncated or corrupt"),
    Case("mnist-bad-magic", data_args("gan", "mnist", lambda t: _mnist(t / "mb", magic=b"PK\x03\x04")),
         r"not an unsigned-byte IDX file"),
    Case("mnist-bad-gzip", data_args("gan", "mnist", lambda t: _mnist(t / "mg", bad_gzip=True)),
         r"cannot read IDX file"),
    # CIFAR-10
    Case("cifar-missing", data_args("gan", "cifar10", lambda t: _mkdir(t / "cf")),
         r"CIFAR-10 not found under"),
    Case("cifar-bin-wrong-size", data_args("gan", "cifar10", lambda t: _cifar_bin(t / "cb")),
         r"not a multiple of 3073-byte"),
    # pix2pix aligned layout
    Case("aligned-no-train", data_args("pix2pix", "aligned", lambda t: _mkdir(t / "al")),
         r"al/train: folder not found; expected the pix2pix aligned layout"),
    Case("aligned-empty-train", data_args("pix2pix", "aligned", lambda t: _mkdir(t / "ae" / "train").parent),
         r"train: no image files"),
    Case("aligned-zero-byte", data_args("pix2pix", "aligned", lambda t: _aligned(t / "az", bad=b"")),
         r"x.png: empty \(zero-byte\) image file"),
    Case("aligned-too-narrow", data_args("pix2pix", "aligned", lambda t: _aligned(t / "an", narrow=True)),
         r"1 pixel\(s\) wide; expected side-by-side A\|B halves", fresh=True),
    Case("aligned-corrupt-image", data_args("pix2pix", "aligned", lambda t: _aligned(t / "ac", bad=b"\x89PNG\r\n\x1a\nbroken")),
         r"x.png: cannot decode image", fresh=True),
    Case("aligned-bad-direction", data_args("pix2pix", "aligned", lambda t: _aligned(t / "ad"), "--set", "data.direction=CtoD"),
         r"direction='CtoD': expected 'AtoB' \| 'BtoA'"),
    # CycleGAN unaligned layout
    Case("unaligned-no-trainB", data_args("cyclegan", "unaligned", lambda t: image_folder(t / "u1" / "trainA").parent),
         r"trainB: folder not found; expected the CycleGAN layout"),
    Case("unaligned-pix2pix-layout", data_args("cyclegan", "unaligned", lambda t: _aligned(t / "u2")),
         r"trainA: folder not found; expected the CycleGAN layout"),
    Case("unaligned-zero-byte", data_args("cyclegan", "unaligned", lambda t: _unaligned(t / "u3", bad=b"")),
         r"empty \(zero-byte\) image file"),
    Case("unaligned-corrupt", data_args("cyclegan", "unaligned", lambda t: _unaligned(t / "u4", bad=b"GIF89a nonsense")),
         r"bad.png: cannot decode image", fresh=True),
    # CelebA layout (StarGAN)
    Case("celeba-no-attr-file", data_args("stargan", "celeba", lambda t: celeba(t / "c1", None)),
         r"list_attr_celeba.txt: not found; expected the CelebA layout"),
    Case("celeba-no-images", data_args("stargan", "celeba", lambda t: _write(_mkdir(t / "c2") / "list_attr_celeba.txt", CELEBA_OK_HEADER).parent),
         r"images: folder not found; expected the CelebA layout"),
    Case("celeba-short-row", data_args("stargan", "celeba", lambda t: celeba(t / "c3", CELEBA_OK_HEADER + "a.png 1 -1 1\nb.png 1 -1 1 1 1\n")),
         r"list_attr_celeba.txt:3: expected a file name and 5 values, found 4 fields"),
    Case("celeba-bad-value", data_args("stargan", "celeba", lambda t: celeba(t / "c4", CELEBA_OK_HEADER + "a.png 1 -1 1 1 yes\nb.png 1 -1 1 1 1\n")),
         r"list_attr_celeba.txt:3: attribute values must be 1 or -1"),
    Case("celeba-missing-image", data_args("stargan", "celeba", lambda t: celeba(t / "c5", CELEBA_OK_HEADER + "a.png 1 -1 1 1 1\nzz.png 1 -1 1 1 1\n")),
         r"lists 1 image\(s\) missing from .*first: zz.png"),
    Case("celeba-unknown-attr", data_args("stargan", "celeba", lambda t: celeba(t / "c6", CELEBA_OK),
                                          "--set", "data.attrs=Purple_Hair"),
         r"unknown attribute\(s\) Purple_Hair"),
    Case("celeba-empty-attr-file", data_args("stargan", "celeba", lambda t: celeba(t / "c7", "")),
         r"list_attr_celeba.txt: expected a count line"),
    # text corpora (SeqGAN)
    Case("text-missing", data_args("seqgan", "text", lambda t: t / "none.txt"), r"none.txt not found"),
    Case("text-empty", data_args("seqgan", "text", lambda t: _write(t / "empty.txt", "")),
         r"empty.txt has no sentences"),
    Case("text-blank", data_args("seqgan", "text", lambda t: _write(t / "blank.txt", "\n  \n\t\n")),
         r"blank.txt has no sentences"),
    Case("text-binary", data_args("seqgan", "text", lambda t: _write(t / "bin.txt", b"hello world\n\x00\x01\x02\x03")),
         r"bin.txt:2: binary data \(NUL byte\)"),
    Case("text-latin1", data_args("seqgan", "text", lambda t: _write(t / "l1.txt", "caf\u00e9 ok\n".encode("latin-1"))),
         r"l1.txt:1: not UTF-8 text"),
    Case("text-folder-without-train", data_args("seqgan", "text", lambda t: _mkdir(t / "corpus")),
         r"is a folder without train.txt"),
    Case("text-needs-root", run_args("seqgan", "--dataset", "text"), r"--dataset text needs --data-root"),
    # SeqGAN oracle pickle
    Case("oracle-missing-pickle", run_args("seqgan", "--set", "oracle.params=/nonexistent/target_params.pkl"),
         r"oracle.params=.*file not found"),
    Case("oracle-truncated-pickle", lambda t: ["--plugin", "seqgan", "--preset", "tiny", "--set",
                                               f"oracle.params={_write(t / 'tp.pkl', pickle.dumps([1, 2, 3])[:5])}"],
         r"oracle.params=.*not a readable pickle"),
    Case("oracle-wrong-content", lambda t: ["--plugin", "seqgan", "--preset", "tiny", "--set",
                                            f"oracle.params={_write(t / 'tw.pkl', pickle.dumps([1, 2, 3]))}"],
         r"expected a list of 15 arrays"),
    Case("oracle-data-root-without-pickle", data_args("seqgan", "oracle", lambda t: _mkdir(t / "od")),
         r"holds neither target_params"),
    # checkpoints of the existing run
    Case("ckpt-of-another-model", run_args("gan"), r"trained model 'toy-gan', not 'gan'", fresh=False),
    Case("ckpt-other-config", run_args("toy", "--set", "hidden=32"),
         r"--set hidden=32 on --resume: hidden shapes the model"),
    Case("run-dir-is-a-file", lambda t: ["--plugin", "toy", "--preset", "tiny", "--run-dir", _write(t / "f", "x")],
         r"--run-dir .*f: exists and is not a directory"),
]


def _write(path: Path, content) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    (path.write_bytes if isinstance(content, bytes) else path.write_text)(content)
    return path


def _mkdir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path


def _mnist(root: Path, truncate=False, magic=None, bad_gzip=False) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    img = idx(root / "train-images-idx3-ubyte", (10, 28, 28))
    idx(root / "train-labels-idx1-ubyte", (10,))
    if truncate:
        img.write_bytes(img.read_bytes()[:500])
    if magic:
        img.write_bytes(magic + img.read_bytes()[4:])
    if bad_gzip:
        img.rename(root / "train-images-idx3-ubyte.gz")  # not gzip data under a .gz name
    return root


def _cifar_bin(root: Path) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for i in range(1, 6):
        (root / f"data_batch_{i}.bin").write_bytes(bytes(3073 * 2 + 5))
    return root


def _aligned(root: Path, bad: bytes | None = None, narrow=False) -> Path:
    for i in range(4):
        png(root / "train" / f"{i}.png", 24, 12, seed=i)
    if bad is not None:
        (root / "train" / "x.png").write_bytes(bad)
    if narrow:
        for f in (root / "train").iterdir():
            png(f, 1, 12)
    return root


def _unaligned(root: Path, bad: bytes | None = None) -> Path:
    for d in ("trainA", "trainB"):
        for i in range(4):
            png(root / d / f"{i}.png", seed=i)
    if bad is not None:
        (root / "trainB" / "bad.png").write_bytes(bad)
    return root


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input_is_one_line_exit_2_and_keeps_run_data(rel, case, toy_run, tmp_path):
    args = [str(a) for a in case.args(tmp_path / "inputs")]
    fresh = case.fresh if case.fresh is not None else args[args.index("--plugin") + 1] not in ("toy", "toy-gan")
    if "--run-dir" not in args:
        run_dir = tmp_path / "fresh-run" if fresh else toy_run
        args += ["--run-dir", str(run_dir)] + ([] if fresh else ["--resume"])
    neighbour = _write(tmp_path / "neighbour" / "keep.txt", "untouched")
    before, before_nb = rel.snapshot(toy_run), rel.snapshot(neighbour.parent)
    inputs_before = rel.snapshot(tmp_path / "inputs")
    r = rel.run_cli(["run", *rel.QUIET, *args])
    assert r.code == 2, f"exit {r.code}\n{r.err}"
    line = r.error_line()
    assert re.search(case.fragment, line), f"{line!r} does not match {case.fragment!r}"
    assert len(line) < 2000
    assert rel.snapshot(toy_run) == before, "the existing run directory was modified"
    assert rel.snapshot(neighbour.parent) == before_nb
    assert rel.snapshot(tmp_path / "inputs") == inputs_before, "input data was modified"


# --- checkpoints: truncated, tampered, foreign, pickles -------------------------------------------
def _ckpt_files(rd: Path) -> list[Path]:
    return sorted((rd / "checkpoints").glob("ckpt-*.pt"))


def _retouch(path: Path, edit: Callable[[dict], None]) -> None:
    state = torch.load(path, weights_only=True)
    edit(state)
    torch.save(state, path)


CKPT_CASES = {
    "all-truncated": (lambda p: p.write_bytes(p.read_bytes()[: len(p.read_bytes()) // 2]),
                      ["run"], r"--resume: no checkpoint in"),
    "all-zero-byte": (lambda p: p.write_bytes(b""), ["run"], r"--resume: no checkpoint in"),
    "all-evil-pickle": (lambda p: p.write_bytes(pickle.dumps({"format": "ganforge-checkpoint", "x": Evil()})),
                        ["run"], r"--resume: no checkpoint in"),
    "all-evil-torch": (lambda p: torch.save({"format": "ganforge-checkpoint", "x": Evil()}, p),
                       ["run"], r"--resume: no checkpoint in"),
    "foreign-torch-file": (lambda p: torch.save({"weights": torch.zeros(3)}, p), ["run"], r"--resume: no checkpoint in"),
    "model-renamed": (lambda p: _retouch(p, lambda s: s.update(model="no-such-model")), ["run"],
                      r"is for model 'no-such-model', not 'toy-gan'"),
    "sample-model-renamed": (lambda p: _retouch(p, lambda s: s.update(model="no-such-model")), ["sample"],
                             r"unknown model \(from checkpoint\) 'no-such-model'"),
    "sample-config-unreadable": (lambda p: _retouch(p, lambda s: s.update(config="{not json")), ["sample"],
                                 r"config missing or unreadable"),
    "sample-config-unknown-key": (lambda p: _retouch(p, lambda s: s.update(config=json.dumps({"lrr": 1}))),
                                  ["sample"], r"unknown saved config key 'lrr'"),
    "sample-weights-missing": (lambda p: _retouch(p, lambda s: s["models"].pop("G")), ["sample"],
                               r"checkpoint does not match model 'toy-gan'"),
    "sample-weights-wrong-shape": (lambda p: _retouch(p, lambda s: s["models"]["G"].update(
        {k: torch.zeros(3) for k in s["models"]["G"]})), ["sample"], r"checkpoint does not match model 'toy-gan'"),
    "sample-truncated": (lambda p: p.write_bytes(p.read_bytes()[:1000]), ["sample"], r"no checkpoint found"),
    "eval-evil": (lambda p: p.write_bytes(pickle.dumps(Evil())), ["eval"], r"no checkpoint found"),
}


@pytest.mark.parametrize("name", sorted(CKPT_CASES))
def test_bad_checkpoints_are_one_line_exit_2_and_execute_nothing(rel, toy_run, name, recwarn):
    edit, command, fragment = CKPT_CASES[name]
    MARKER.unlink(missing_ok=True)
    for p in _ckpt_files(toy_run):
        edit(p)
    before = rel.snapshot(toy_run)
    if command[0] == "run":
        args = ["run", "--plugin", "toy", "--preset", "tiny", *rel.QUIET, "--run-dir", toy_run, "--resume"]
    else:
        args = [command[0], "--run-dir", toy_run, "--device", "cpu"]
    r = rel.run_cli(args)
    assert r.code == 2, r.err
    assert re.search(fragment, r.error_line()), r.error_line()
    assert not MARKER.exists(), "a checkpoint executed code"
    assert rel.snapshot(toy_run) == before


@pytest.mark.parametrize("kind", ["truncated", "zero-byte", "evil", "foreign", "directory"])
def test_sample_with_a_bad_checkpoint_file(rel, toy_run, tmp_path, kind):
    good = _ckpt_files(toy_run)[-1]
    bad = tmp_path / "bad.pt"
    if kind == "truncated":
        bad.write_bytes(good.read_bytes()[:3000])
    elif kind == "zero-byte":
        bad.write_bytes(b"")
    elif kind == "evil":
        torch.save({"format": "ganforge-checkpoint", "x": Evil()}, bad)
    elif kind == "foreign":
        torch.save([1, 2, 3], bad)
    else:
        bad.mkdir()
    MARKER.unlink(missing_ok=True)
    r = rel.run_cli(["sample", "--checkpoint", bad, "--device", "cpu", "-n", "2"])
    assert r.code == 2, r.err
    assert re.search(r"cannot be loaded safely|not a ganforge checkpoint|no checkpoint found|"
                     r"no such run directory or checkpoint", r.error_line())
    assert not MARKER.exists()


@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
@given(cut=st.integers(min_value=0), flips=st.lists(st.tuples(st.integers(min_value=0), st.integers(0, 7)),
                                                    max_size=4))
def test_damaged_checkpoint_bytes_never_escape_as_other_errors(toy_run_template, tmp_path_factory, cut, flips):
    """Truncation and bit flips anywhere: load_checkpoint returns a checkpoint dict or raises
    GanError — never another exception type, never a crash."""
    data = bytearray(_ckpt_files(toy_run_template)[-1].read_bytes())
    data = data[: cut % (len(data) + 1)] if cut % 3 == 0 else data
    for pos, bit in flips:
        if data:
            data[pos % len(data)] ^= 1 << bit
    p = tmp_path_factory.mktemp("dmg") / "ckpt-00000001.pt"
    p.write_bytes(bytes(data))
    try:
        state = load_checkpoint(p)
    except GanError as e:
        assert "\n" not in str(e).strip()
    else:
        assert isinstance(state, dict) and state["format"] == "ganforge-checkpoint"


@pytest.mark.parametrize("field,value", [
    (8, 0x0001),    # general-purpose flag: "encrypted" -> zipfile raises RuntimeError
    (10, 99),       # compression method 99 (AES) -> NotImplementedError
    (10, 8),        # "deflated" over stored bytes -> zlib.error
])
def test_damaged_zip_directory_fields_are_refused_in_one_line(toy_run_template, tmp_path, field, value):
    """The three byte flips CI's fuzzing found (a file marked encrypted, an unknown compression
    method, stored bytes declared deflated) each escaped as a different exception type."""
    import zipfile
    src = _ckpt_files(toy_run_template)[-1]
    data = bytearray(src.read_bytes())
    with zipfile.ZipFile(src) as z:
        first = z.infolist()[0].filename.encode()
    cd = data.find(b"PK\x01\x02" )
    assert cd > 0 and data[cd + 46: cd + 46 + len(first)] == first
    struct.pack_into("<H", data, cd + field, value)
    p = tmp_path / "ckpt-00000001.pt"
    p.write_bytes(bytes(data))
    with pytest.raises(GanError) as e:
        load_checkpoint(p)
    assert "cannot be loaded safely" in str(e.value) and "\n" not in str(e.value)


def _flip_inside_tensor_data(src: Path, dst: Path, record) -> None:
    """Copy ``src`` with one bit flipped in the middle of zip record ``record`` (stored bytes)."""
    data = bytearray(src.read_bytes())
    # local header: 30 bytes + name + extra, then the stored (uncompressed) bytes
    name_len, extra_len = struct.unpack("<HH", data[record.header_offset + 26: record.header_offset + 30])
    start = record.header_offset + 30 + name_len + extra_len
    data[start + record.file_size // 2] ^= 0x10
    dst.write_bytes(bytes(data))


def _flip_a_weight(src: Path, dst: Path) -> tuple[str, list[str]]:
    """Flip a bit inside the largest tensor record that holds model weights."""
    original = _flat(torch.load(src, weights_only=True))
    with zipfile.ZipFile(src) as z:
        records = sorted((i for i in z.infolist() if "/data/" in i.filename), key=lambda i: -i.file_size)
    for record in records:
        _flip_inside_tensor_data(src, dst, record)
        altered = _flat(torch.load(dst, weights_only=True))
        changed = [k for k, v in original.items() if isinstance(v, torch.Tensor) and not torch.equal(v, altered[k])]
        if any(k.startswith("models.") for k in changed):
            return record.filename, changed
    raise AssertionError("no record holds model weights")


def test_checkpoint_with_altered_tensor_bytes_is_refused(toy_run, tmp_path):
    src = _ckpt_files(toy_run)[-1]
    record, changed = _flip_a_weight(src, tmp_path / "ckpt-00000003.pt")
    try:
        load_checkpoint(tmp_path / "ckpt-00000003.pt")
    except GanError:
        return
    pytest.fail(f"loaded without error although record {record} was altered; changed: {changed}")


def _flat(obj, prefix=""):
    if isinstance(obj, dict):
        return {k2: v2 for k, v in obj.items() for k2, v2 in _flat(v, f"{prefix}{k}.").items()}
    if isinstance(obj, (list, tuple)):
        return {k2: v2 for i, v in enumerate(obj) for k2, v2 in _flat(v, f"{prefix}{i}.").items()}
    return {prefix: obj}


# --- property-based: --set keys, --set values, TOML -----------------------------------------------
def _toy_keys() -> tuple[set[str], set[str]]:
    from gan.config import RunConfig
    from gan_toy.toy import ToyConfig
    return {f.name for f in fields(ToyConfig)} | set(ToyConfig.renamed), {f.name for f in fields(RunConfig)}


TOY_KEYS, RUN_KEYS = _toy_keys()
KEY = st.from_regex(r"\A(run\.)?[a-z_][a-z0-9_]{0,12}(\.[a-z_]{1,6})?\Z")
TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=20)


@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(key=KEY, value=TEXT)
@example(key="run", value="1")
@example(key="run.", value="1")
def test_unknown_set_keys_are_refused(rel, tmp_path_factory, key, value):
    bare = key[4:] if key.startswith("run.") else key
    assume(bare not in TOY_KEYS | RUN_KEYS and bare.split(".")[0] not in TOY_KEYS)
    rd = tmp_path_factory.mktemp("k") / "run"
    r = rel.run_cli(["run", "--plugin", "toy", "--preset", "tiny", "--run-dir", rd, "--set", f"{key}={value}"])
    assert r.code == 2, r.err
    assert re.search(r"unknown (--set|run config|model config) key", r.error_line())
    assert not rd.exists()


def _invalid_for(tp: str, s: str) -> bool:
    """Python's own parsers are the oracle (ints may use ``_`` separators, as on the CLI)."""
    t = s.strip().lower()
    if tp == "int":
        try:
            int(s.replace("_", ""))
        except ValueError:
            return True
        return False
    if tp == "float":
        try:
            float(s)
        except ValueError:
            return True
        return False
    if tp == "bool":
        return t not in ("1", "true", "yes", "on", "0", "false", "no", "off")
    raise AssertionError(tp)


TYPED = [("hidden", "int"), ("batch_size", "int"), ("lr", "float"), ("beta1", "float"), ("plot", "bool"),
         ("run.seed", "int"), ("run.log_every", "int"), ("run.compile", "bool"), ("run.ema_decay", "float")]


@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
@given(field=st.sampled_from(TYPED), value=TEXT)
@example(field=("hidden", "int"), value="0x10")
@example(field=("lr", "float"), value="1e-3e")
@example(field=("plot", "bool"), value="2")
def test_ill_typed_set_values_are_refused(rel, tmp_path_factory, field, value):
    key, tp = field
    assume(_invalid_for(tp, value))
    if key == "run.ema_decay":
        assume(value.strip().lower() not in ("none", "null", ""))
    rd = tmp_path_factory.mktemp("v") / "run"
    r = rel.run_cli(["run", "--plugin", "toy", "--preset", "tiny", "--run-dir", rd, "--set", f"{key}={value}"])
    assert r.code == 2, r.err
    line = r.error_line()
    assert f"--set {key.split('.')[-1]}=" in line and "expected" in line, line
    assert not rd.exists()


@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
@given(doc=st.one_of(st.text(max_size=60), st.binary(max_size=60)))
@example(doc="[model]\nlr = 1e\n")
@example(doc="[run]\nseed = 1\nseed = 2\n")
@example(doc=b"\x00\x00")
def test_arbitrary_toml_files_are_handled(rel, tmp_path_factory, doc):
    """Any file content: exit 0 (it was a valid config) or exit 2 with one error line; never a
    traceback, never exit 1. Random documents that are valid TOML must also have valid keys."""
    d = tmp_path_factory.mktemp("t")
    cfg = _write(d / "c.toml", doc)
    r = rel.run_cli(["run", "--plugin", "toy", "--preset", "tiny", *rel.QUIET, "--config", cfg,
                     "--run-dir", d / "run", "--max-steps", "1"])
    assert r.code in (0, 2), r.err
    if r.code == 2:
        assert re.search(r"--config|unknown .* key|expected", r.error_line())


# Values stay inside the ranges torch accepts: out-of-range numbers are a known bug with its own
# xfail test below (test_out_of_range_values_are_gan_errors), not re-found here.
SCALARS = st.one_of(st.integers(1, 5), st.floats(0.01, 0.5), st.booleans(),
                    st.text(alphabet=string.ascii_letters, max_size=6).filter(
                        lambda x: x.lower() not in ("inf", "nan", "infinity")))
TOML_KEYS = sorted((TOY_KEYS | RUN_KEYS) - {"compile"}) + ["nope", "lr_"]


def _toml_scalar(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        return json.dumps(v)
    return repr(v)


@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(table=st.sampled_from(["run", "model", "modle", "data", "Run"]),
       key=st.sampled_from(TOML_KEYS), value=SCALARS)
def test_structured_toml_configs_are_checked(rel, tmp_path_factory, table, key, value):
    d = tmp_path_factory.mktemp("s")
    cfg = _write(d / "c.toml", f"[{table}]\n{key} = {_toml_scalar(value)}\n")
    r = rel.run_cli(["run", "--plugin", "toy", "--preset", "tiny", *rel.QUIET, "--config", cfg,
                     "--run-dir", d / "run", "--max-steps", "1", "--set", "eval.samples=8"])
    valid_table = table in ("run", "model")
    valid_key = (table == "run" and key in RUN_KEYS) or (table == "model" and key in TOY_KEYS)
    if not valid_table:
        assert r.code == 2 and "unknown table" in r.error_line(), r.err
    elif not valid_key:
        assert r.code == 2 and re.search(r"unknown (run|model) config key", r.error_line()), r.err
    else:
        assert r.code in (0, 2), r.err
        if r.code == 2:
            r.error_line()


# --- values of the right type but out of range ------------------------------------------------------
@pytest.mark.parametrize("assignment", ["lr=-1", "beta1=2", "batch_size=0", "run.ema_decay=2"])
def test_out_of_range_values_are_gan_errors(rel, tmp_path, assignment):
    r = rel.run_cli(["run", "--plugin", "toy", "--preset", "tiny", *rel.QUIET, "--run-dir", tmp_path / "r",
                     "--set", assignment])
    assert r.code == 2, r.err
    assert assignment.split("=")[0].split(".")[-1] in r.error_line()


# --- text corpora and tokenizers (SeqGAN) -----------------------------------------------------------
def _corpus(path: Path, words: list[str], n: int = 40) -> Path:
    import random
    rng = random.Random(0)
    lines = [" ".join(rng.choice(words) for _ in range(rng.randint(3, 6))) for _ in range(n)]
    return _write(path, "\n".join(lines) + "\n")


def test_mismatched_tokenizer_is_refused(tmp_path):
    from gan_seqgan.text import TextCorpus, make_text_dataset
    a = make_text_dataset(_corpus(tmp_path / "a.txt", ["red", "green", "blue", "cat", "dog"]), None)
    b = make_text_dataset(_corpus(tmp_path / "b.txt", ["one", "two", "three", "four", "five", "six",
                                                       "seven", "eight", "nine"]), None)
    assert a.vocab_size != b.vocab_size
    a.save(tmp_path / "ta")
    b.save(tmp_path / "tb")
    with pytest.raises(GanError, match="belongs to another run or corpus"):
        TextCorpus.load(tmp_path / "ta", vocab_size=b.vocab_size)
    (tmp_path / "ta" / "tokenizer.json").write_bytes((tmp_path / "tb" / "tokenizer.json").read_bytes())
    with pytest.raises(GanError, match="from different runs"):
        TextCorpus.load(tmp_path / "ta")
    (tmp_path / "ta" / "tokenizer.json").write_text("{not a tokenizer")
    with pytest.raises(GanError, match="not a valid tokenizer"):
        TextCorpus.load(tmp_path / "ta")


def test_reopening_a_text_run_after_its_corpus_changed_is_refused(rel, tmp_path):
    corpus = _corpus(tmp_path / "corpus.txt", ["red", "green", "blue", "cat", "dog"])
    rd = tmp_path / "run"
    r = rel.run_cli(["run", "--plugin", "seqgan", "--preset", "tiny", *rel.QUIET, "--dataset", "text",
                     "--data-root", corpus, "--run-dir", rd, "--max-steps", "1"])
    assert r.code == 0, r.err
    _corpus(corpus, ["one", "two", "three", "four", "five", "six", "seven", "eight", "nine"])
    before = rel.snapshot(rd)
    r = rel.run_cli(["sample", "--run-dir", rd, "--device", "cpu", "-n", "2"])
    assert r.code == 2, r.err
    assert re.search(r"checkpoint does not match|tokenizer|vocab", r.error_line())
    assert rel.snapshot(rd) == before

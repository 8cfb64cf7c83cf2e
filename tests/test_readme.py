"""Every ``gan`` command in README.md runs, so an example that stops working fails CI.

The commands are read from the README's ```bash blocks at test time: a command added to the README
is covered without touching this file (as long as its data paths are among those below). They run
in order, in one scratch folder, through ``gan.cli.main`` in this process (no interpreter start per
command), and each must exit 0.

How a README line becomes test commands (the substitutions):

* A line ending in ``\\`` continues on the next; ``# comments`` are dropped; a line splits at ``;`` and ``&&``; only parts starting with ``gan ``
  run (``pip install``, ``python -m pytest`` are what CI itself does).
* ``[--flag]`` runs the command without and with the flag; ``a|b|c`` as one argument runs it once
  per alternative (``gan list models|losses``).
* Sizes: every ``gan run`` and ``gan import`` gets ``--preset tiny`` unless it names a preset; every
  ``gan run`` also ``--device cpu`` and
  ``--max-steps 2`` (4 with ``--resume``, so a resumed run really trains further) unless it names
  ``--max-steps``; ``--set steps=N`` stays (``--max-steps`` cuts it).
* Data: ``HOME`` is the scratch folder, so ``~/data/...`` lands there. Generated before the first
  command (tiny, random): ``~/data/mnist`` (IDX .gz files), ``corpus.txt`` (a text corpus),
  ``~/data/horse2zebra`` (CycleGAN trainA/trainB/testA/testB folders of PNGs), ``photos/``
  (PNGs to translate), ``run.toml`` (``[run]`` / ``[model]`` tables), ``~/data/celeba`` (CelebA
  layout), and the foreign generator weights ``gan import`` reads (``latest_net_G_A.pth`` /
  ``latest_net_G_B.pth``, ``200000-G.ckpt``, ``generator.pth``), saved from the reference networks
  the anchor tests define (their architectures, tiny widths). A README command that needs
  other files fails here until they are added to :func:`make_data`.
* ``gan export`` without ``--format`` (ONNX, about a minute of torch.onnx on a CPU) gets
  ``--format torchscript`` in the default test; the ``slow`` variant runs every command as written.
* Paths like ``runs/s1`` are relative to the scratch folder, so commands that reuse a run directory
  (``--resume``, ``gan sample``, ``gan report``) see what the earlier commands wrote.
"""

import gzip
import os
import re
import shlex
from itertools import product
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"


def readme_commands(text: str) -> list[list[str]]:
    """The ``gan`` commands of the README's bash blocks, expanded, without the leading ``gan``."""
    out = []
    for block in re.findall(r"```bash\n(.*?)```", text, re.S):
        block = re.sub(r"\\\n\s*", " ", block)  # continuation lines
        for line in block.splitlines():
            line = re.sub(r"(^|\s)#.*$", "", line).strip()
            for part in re.split(r";|&&", line):
                part = part.strip()
                if part.startswith("gan "):
                    out += expand(shlex.split(part)[1:])
    return out


def expand(argv: list[str]) -> list[list[str]]:
    """``[--json]`` → without / with; ``a|b|c`` → one command per alternative."""
    options = []
    for a in argv:
        m = re.fullmatch(r"\[(.+)\]", a)
        if m:
            options.append([[], [m.group(1)]])
        elif "|" in a:
            options.append([[alt] for alt in a.split("|")])
        else:
            options.append([[a]])
    return [[x for part in combo for x in part] for combo in product(*options)]


def sized(argv: list[str]) -> list[str]:
    """Tiny sizes for ``gan run`` (see the module docstring)."""
    if argv[:1] not in (["run"], ["import"]):
        return argv
    argv = list(argv)
    if "--preset" not in argv:
        argv += ["--preset", "tiny"]
    if argv[0] == "import":
        return argv
    if "--max-steps" not in argv:
        argv += ["--max-steps", "4" if "--resume" in argv else "2"]
    if "--device" not in argv:
        argv += ["--device", "cpu"]
    return argv


def _png(path: Path, rng: np.random.Generator, size: int = 20) -> None:
    from PIL import Image
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(rng.integers(0, 256, (size, size, 3), dtype=np.uint8)).save(path)


def make_data(home: Path, cwd: Path) -> None:
    rng = np.random.default_rng(0)
    mnist = home / "data" / "mnist"
    mnist.mkdir(parents=True)
    for prefix, n in (("train", 64), ("t10k", 32)):
        for kind, arr in (("images-idx3", rng.integers(0, 256, (n, 28, 28))), ("labels-idx1", rng.integers(0, 10, n))):
            header = bytes([0, 0, 0x08, arr.ndim]) + b"".join(int(s).to_bytes(4, "big") for s in arr.shape)
            (mnist / f"{prefix}-{kind}-ubyte.gz").write_bytes(gzip.compress(header + arr.astype(np.uint8).tobytes()))
    words = "the a cat dog sat ran on under mat tree quickly slowly big small red".split()
    (cwd / "corpus.txt").write_text("\n".join(" ".join(rng.choice(words, rng.integers(3, 8))) for _ in range(120)) + "\n")
    for d in ("trainA", "trainB", "testA", "testB"):
        for i in range(4):
            _png(home / "data" / "horse2zebra" / d / f"{i}.png", rng)
    for i in range(2):
        _png(cwd / "photos" / f"p{i}.png", rng)
    (cwd / "run.toml").write_text("[run]\nseed = 3\n\n[model]\nbatch_size = 8\n")
    celeba = home / "data" / "celeba"
    attrs = ["Black_Hair", "Blond_Hair", "Brown_Hair", "Male", "Young", "Smiling"]
    rows = [f"{i:06d}.png " + " ".join(str(v) for v in rng.choice([-1, 1], len(attrs))) for i in range(12)]
    (celeba / "images").mkdir(parents=True)
    (celeba / "list_attr_celeba.txt").write_text(f"{len(rows)}\n{' '.join(attrs)}\n" + "\n".join(rows) + "\n")
    for i in range(12):
        _png(celeba / "images" / f"{i:06d}.png", rng)
    foreign_weights(cwd)


def _module(path: str):
    """A test module of another suite, loaded from its file (its reference networks)."""
    import importlib.util
    spec = importlib.util.spec_from_file_location(f"readme_ref_{Path(path).parent.parent.name}", ROOT / path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def foreign_weights(cwd: Path) -> None:
    """Generator weights as the original code bases save them, for the README's ``gan import``
    lines: tiny widths of the reference architectures the anchor tests reimplement."""
    import torch
    trans = _module("plugins/gan_translation/tests/test_anchors.py")
    image = _module("plugins/gan_image/tests/test_anchors.py")
    torch.save(trans.randomize(trans.JResnetGenerator(3, 3, 8, 2), 1).state_dict(), cwd / "latest_net_G_A.pth")
    torch.save(trans.randomize(trans.JResnetGenerator(3, 3, 8, 2), 2).state_dict(), cwd / "latest_net_G_B.pth")
    torch.save(trans.randomize(trans.SGenerator(8, 5, 2)).state_dict(), cwd / "200000-G.ckpt")  # CelebA's 5
    torch.save(image.randomized().state_dict(), cwd / "generator.pth")


def test_readme_has_the_commands_this_test_expects():
    cmds = readme_commands(README.read_text(encoding="utf-8"))
    assert len(cmds) >= 15, cmds
    assert ["list", "metrics"] in cmds and ["plugins", "--json"] in cmds and ["plugins"] in cmds
    assert any(c[:1] == ["report"] for c in cmds) and any("--resume" in c for c in cmds)
    assert sized(["run", "--plugin", "x", "--resume"])[-4:] == ["--max-steps", "4", "--device", "cpu"]


@pytest.mark.parametrize("mode", ["fast", pytest.param("as-written", marks=pytest.mark.slow)])
def test_every_readme_command_runs(mode, tmp_path, monkeypatch, capsys):
    from gan.cli import main
    home, cwd = tmp_path / "home", tmp_path / "work"
    home.mkdir()
    cwd.mkdir()
    make_data(home, cwd)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.chdir(cwd)
    cmds = readme_commands(README.read_text(encoding="utf-8"))
    for argv in cmds:
        argv = [os.path.expanduser(a) if a.startswith("~") else a for a in sized(argv)]  # as a shell does
        if mode == "fast" and argv[0] == "export" and "--format" not in argv:
            argv += ["--format", "torchscript"]  # ONNX export: about a minute; the slow variant runs it
        rc = main(argv)
        captured = capsys.readouterr()
        assert rc == 0, f"README command failed (exit {rc}): gan {shlex.join(argv)}\n{captured.err[-3000:]}"
    assert (cwd / "runs" / "s1" / "report.html").is_file() and (cwd / "compare.html").is_file()
    assert any((cwd / "out").iterdir())


if __name__ == "__main__":  # pragma: no cover - print what the test would run
    for c in readme_commands(README.read_text(encoding="utf-8")):
        print("gan", shlex.join(sized(c)))
    pytest.main([__file__])

"""Shared helpers of the reliability suite (exposed as the session fixture ``rel``).

The suite drives the real command line: in-process through :func:`gan.cli.main` (fast, for bad
input), in forked children (cheap processes that can be SIGKILLed at random points: the parent has
already paid for the imports), and through ``python -m gan`` subprocesses for the slow variants.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import multiprocessing
import os
import shutil
import sys
import textwrap
import time
import traceback
import types
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

#: run options every test run uses: tiny, CPU, no progress bar, no TensorBoard (its import alone
#: costs seconds on the shared box)
QUIET = ["--device", "cpu", "--set", "run.progress=false", "--set", "run.tensorboard=false"]


def gan_env(**extra: str) -> dict[str, str]:
    """Environment for ``python -m gan`` subprocesses on the shared 2-core box."""
    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", PYTHONUNBUFFERED="1",
               GANFORGE_DISABLE_PLUGIN_AUTOLOAD="1")
    env.update(extra)
    return env


@dataclass
class CliResult:
    code: int
    out: str
    err: str

    def error_line(self) -> str:
        """The one ``error:`` line; fails when there are none or several, or a traceback."""
        lines = [x for x in self.err.splitlines() if x.startswith("error:")]
        assert len(lines) == 1, f"expected exactly one error line, got:\n{self.err}"
        assert "Traceback" not in self.err and "Traceback" not in self.out, self.err
        return lines[0]


def run_cli(args: Sequence[str]) -> CliResult:
    """``gan.cli.main(args)`` in-process with stdout/stderr captured."""
    from gan.cli import main
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main([str(a) for a in args])
    return CliResult(code, out.getvalue(), err.getvalue())


def snapshot(root: Path) -> dict[str, str]:
    """``relative path -> sha256`` of every file (and ``link -> target`` of every symlink)."""
    root = Path(root)
    out: dict[str, str] = {}
    if not root.exists():
        return out
    for p in sorted(root.rglob("*")):
        rel = str(p.relative_to(root))
        if rel == ".lock":  # the run-directory lock: records its last holder's pid, not run data
            continue
        if p.is_symlink():
            out[rel] = "link:" + os.readlink(p)
        elif p.is_file():
            out[rel] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


def metrics_records(path: Path) -> list[dict]:
    """Every line of ``metrics.jsonl`` parsed (a line that is not JSON fails the test)."""
    records = []
    if not path.exists():
        return records
    data = path.read_text(encoding="utf-8")
    for i, line in enumerate(data.splitlines(), 1):
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError as e:
            raise AssertionError(f"{path}:{i} is not valid JSON ({e}): {line[:200]!r}") from None
    assert not data or data.endswith("\n"), f"{path}: last line is torn: {data[-200:]!r}"
    return records


# --- forked children ---------------------------------------------------------------------------
def _child(argv: list[str], log: str, setup: Callable[[], None] | None) -> None:
    fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    sys.stdout = io.TextIOWrapper(os.fdopen(1, "wb", closefd=False), line_buffering=True)
    sys.stderr = io.TextIOWrapper(os.fdopen(2, "wb", closefd=False), line_buffering=True)
    code = 99
    try:
        import torch
        torch.set_num_threads(1)
        if setup is not None:
            setup()
        from gan.cli import main
        code = main(argv)
    except BaseException:  # noqa: BLE001 - report anything, then leave without pytest's atexit
        traceback.print_exc()
    finally:
        with contextlib.suppress(Exception):
            sys.stdout.flush()
            sys.stderr.flush()
        os._exit(code)


_WARM: list[bool] = []


def warm_up() -> None:
    """Import what a toy run needs once in this process, so forked children start in ~0.1 s."""
    if _WARM:
        return
    import tempfile
    with tempfile.TemporaryDirectory() as d:
        r = run_cli(["run", "--plugin", "toy", "--preset", "tiny", *QUIET, "--run-dir", Path(d) / "r",
                     "--max-steps", "1"])
        assert r.code == 0, r.err
    _WARM.append(True)


def spawn_cli(argv: Sequence[str], log: Path, setup: Callable[[], None] | None = None
              ) -> multiprocessing.Process:
    """Run ``gan <argv>`` in a forked child (stdout+stderr appended to ``log``); returns the process.

    ``setup`` runs in the child before the CLI (fault injection that must not touch the parent).
    """
    warm_up()
    ctx = multiprocessing.get_context("fork")
    p = ctx.Process(target=_child, args=([str(a) for a in argv], str(log), setup))
    p.start()
    return p


def wait_for(predicate: Callable[[], bool], timeout: float, proc=None, interval: float = 0.01) -> bool:
    """Poll ``predicate`` until true (True), ``timeout`` (False) or ``proc`` exits (False)."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        if proc is not None and not (proc.is_alive() if hasattr(proc, "is_alive") else proc.poll() is None):
            return predicate()
        time.sleep(interval)
    return False


# --- throwaway plugins -------------------------------------------------------------------------
class FakeDist:
    def __init__(self, name: str, version: str = "0.0.1") -> None:
        self.name, self.version = name, version


class FakeEntryPoint:
    """Stands in for an ``importlib.metadata.EntryPoint`` of group ``ganforge.plugins``."""

    def __init__(self, name: str, module: str, dist: str) -> None:
        self.name, self.value, self.dist = name, module, FakeDist(dist)

    def load(self):
        import importlib
        return importlib.import_module(self.value)


def install_plugins(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, plugins: dict[str, str]) -> dict[str, str]:
    """Write each ``name -> source`` as a uniquely named module and expose it as an entry point.

    Returns ``name -> module name``. Only the fake entry points are visible (the installed example
    plugin is hidden), so the tests see built-ins + these.
    """
    import importlib.metadata as md
    site = tmp_path / f"site-{uuid.uuid4().hex[:8]}"
    site.mkdir()
    modules = {}
    for name, source in plugins.items():
        mod = f"relplug_{name.replace('-', '_')}_{uuid.uuid4().hex[:8]}"
        (site / f"{mod}.py").write_text(textwrap.dedent(source), encoding="utf-8")
        modules[name] = mod
    monkeypatch.syspath_prepend(str(site))
    eps = [FakeEntryPoint(n, m, f"{n}-dist") for n, m in modules.items()]
    real = md.entry_points

    def entry_points(group=None, **kw):
        if group == "ganforge.plugins":
            return list(eps)
        return real(group=group, **kw) if group is not None else real(**kw)

    monkeypatch.setattr(md, "entry_points", entry_points)
    monkeypatch.delenv("GANFORGE_DISABLE_PLUGIN_AUTOLOAD", raising=False)
    return modules


@pytest.fixture(autouse=True)
def _restore_default_plugin_manager():
    """``gan.cli.main`` installs its manager process-wide; put the previous one back after each
    test so throwaway plugins never leak into later tests."""
    import gan.plugins
    saved = gan.plugins._DEFAULT
    yield
    gan.plugins._DEFAULT = saved


@pytest.fixture(scope="session")
def rel():
    """Helpers of the reliability suite (see this module)."""
    return types.SimpleNamespace(
        QUIET=QUIET, gan_env=gan_env, run_cli=run_cli, snapshot=snapshot,
        metrics_records=metrics_records, spawn_cli=spawn_cli, wait_for=wait_for,
        install_plugins=install_plugins, CliResult=CliResult)


@pytest.fixture(scope="session")
def toy_run_template(tmp_path_factory) -> Path:
    """A finished 3-step toy run (config, metrics, checkpoints, samples) to copy into tests."""
    rd = tmp_path_factory.mktemp("toy-template") / "run"
    r = run_cli(["run", "--plugin", "toy", "--preset", "tiny", *QUIET, "--run-dir", rd,
                 "--max-steps", "3", "--set", "run.log_every=1", "--set", "run.ckpt_every=1",
                 "--set", "plot=true"])
    assert r.code == 0, r.err
    return rd


@pytest.fixture
def toy_run(toy_run_template, tmp_path) -> Path:
    """A private copy of :func:`toy_run_template`."""
    dst = tmp_path / "existing-run"
    shutil.copytree(toy_run_template, dst, symlinks=True)
    return dst

"""Security: nothing loaded from disk executes code, runs never write outside their directory, names
and paths from configs are data (never executed), and a run needs no network."""

from __future__ import annotations

import ast
import os
import pickle
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
MARKER = Path("/tmp/ganforge_reliability_pwned_security")


def _gadget(module: str, name: str, arg) -> bytes:
    """A protocol-0 pickle calling ``module.name(arg)`` on load (no import of the target needed)."""
    return f"c{module}\n{name}\n(V{arg}\ntR.".encode()


GADGETS = {
    "os.system": lambda: _gadget("os", "system", f"touch {MARKER}"),
    "posix.system": lambda: _gadget("posix", "system", f"touch {MARKER}"),
    "builtins.eval": lambda: _gadget("builtins", "eval", f"open({str(MARKER)!r}, 'w')"),
    "builtins.exec": lambda: _gadget("builtins", "exec", f"open({str(MARKER)!r}, 'w')"),
    "__builtin__.eval": lambda: _gadget("__builtin__", "eval", f"open({str(MARKER)!r}, 'w')"),
    "subprocess.getoutput": lambda: _gadget("subprocess", "getoutput", f"touch {MARKER}"),
    "numpy.load": lambda: _gadget("numpy", "load", str(MARKER)),
    "reduce-protocol-4": lambda: pickle.dumps(_Evil(), protocol=4),
    "object-array": lambda: pickle.dumps(np.array([_Evil()], dtype=object), protocol=2),
    "inside-a-dict": lambda: pickle.dumps({"data": np.zeros((2, 3072), np.uint8), "labels": _Evil()}, protocol=2),
}


class _Evil:
    def __reduce__(self):
        return (os.system, (f"touch {MARKER}",))


@pytest.fixture(autouse=True)
def _no_marker():
    MARKER.unlink(missing_ok=True)
    yield
    assert not MARKER.exists(), "a file loaded by ganforge executed code"
    MARKER.unlink(missing_ok=True)


# --- static: every loader in the shipped code is safe ---------------------------------------------
def _runtime_sources() -> list[Path]:
    files = list((ROOT / "core" / "gan").rglob("*.py"))
    for pkg in (ROOT / "plugins").iterdir():
        files += [f for f in pkg.rglob("*.py") if "tests" not in f.relative_to(pkg).parts]
    ex = ROOT / "examples" / "third_party_plugin"
    files += [f for f in ex.rglob("*.py") if "tests" not in f.relative_to(ex).parts]
    return sorted(files)


def _dotted(node: ast.AST) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return f"{_dotted(node.value)}.{node.attr}"
    return "?"


UNSAFE_CALLS = {"pickle.load", "pickle.loads", "cPickle.load", "marshal.loads", "marshal.load",
                "shelve.open", "dill.load", "dill.loads", "yaml.load", "yaml.unsafe_load", "eval", "exec",
                "os.system", "os.popen", "subprocess.run", "subprocess.Popen", "subprocess.call",
                "subprocess.check_output", "torch.jit.load", "jit.load", "urllib.request.urlopen",
                "urlopen", "requests.get", "torch.hub.load", "hub.load", "load_state_dict_from_url",
                "download_url_to_file", "download_url", "socket.socket", "socket.create_connection"}


# (file, function) allowed one listed call, with the reason it is safe there
ALLOWED = {("core/gan/export.py", "_load_torchscript", "torch.jit.load"):
           "loads only the file gan export has just written, to check its parity"}


def _calls_by_function(tree: ast.AST):
    """Every node with the name of the innermost function that holds it (None at module level)."""
    stack = [(tree, None)]
    while stack:
        node, fn = stack.pop()
        yield node, fn
        inner = node.name if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) else fn
        stack.extend((child, inner) for child in ast.iter_child_nodes(node))


def test_shipped_code_has_no_unsafe_loader_or_network_call():
    problems = []
    for f in _runtime_sources():
        tree = ast.parse(f.read_text(encoding="utf-8"), str(f))
        for node, fn in _calls_by_function(tree):
            if isinstance(node, ast.Call):
                name = _dotted(node.func)
                where = f"{f.relative_to(ROOT)}:{node.lineno}"
                kwargs = {k.arg: k.value for k in node.keywords}
                if name.endswith("torch.load"):
                    wo = kwargs.get("weights_only")
                    if not (isinstance(wo, ast.Constant) and wo.value is True):
                        problems.append(f"{where}: torch.load without weights_only=True")
                if name in UNSAFE_CALLS and (str(f.relative_to(ROOT)), fn, name) not in ALLOWED:
                    problems.append(f"{where}: {name}(...)")
                if name.endswith(("np.load", "numpy.load")):
                    ap = kwargs.get("allow_pickle")
                    if ap is not None and not (isinstance(ap, ast.Constant) and ap.value is False):
                        problems.append(f"{where}: numpy.load with allow_pickle")
                dl = kwargs.get("download")
                if dl is not None and not (isinstance(dl, ast.Constant) and dl.value is False):
                    problems.append(f"{where}: download={ast.unparse(dl)}")
            if isinstance(node, ast.ClassDef):
                bases = [_dotted(b) for b in node.bases]
                if any(b.endswith("Unpickler") for b in bases):
                    methods = {n.name for n in node.body if isinstance(n, ast.FunctionDef)}
                    if "find_class" not in methods:
                        problems.append(f"{f.relative_to(ROOT)}:{node.lineno}: Unpickler without find_class")
    assert not problems, "\n".join(problems)


def test_the_static_scan_sees_the_loaders_it_should():
    """Guard against a vacuous scan: the known safe loaders are found by it."""
    texts = {f.relative_to(ROOT).as_posix(): f.read_text(encoding="utf-8") for f in _runtime_sources()}
    assert "weights_only=True" in texts["core/gan/checkpoint.py"]
    assert "class NumpyOnlyUnpickler(pickle.Unpickler)" in texts["core/gan/safe_pickle.py"]
    assert "load_numpy_pickle" in texts["plugins/gan_image/datasets.py"]
    assert "load_numpy_pickle" in texts["plugins/gan_seqgan/oracle.py"]


# --- dynamic: the restricted unpicklers -----------------------------------------------------------
@pytest.mark.parametrize("gadget", sorted(GADGETS))
def test_oracle_pickle_never_executes_code(rel, tmp_path, gadget):
    evil = tmp_path / "target_params.pkl"
    evil.write_bytes(GADGETS[gadget]())
    r = rel.run_cli(["run", "--plugin", "seqgan", "--preset", "tiny", *rel.QUIET, "--run-dir",
                     tmp_path / "run", "--set", f"oracle.params={evil}"])
    assert r.code == 2, r.err
    assert "oracle.params=" in r.error_line()
    assert not (tmp_path / "run").exists()


def test_oracle_pickle_in_data_root_never_executes_code(rel, tmp_path):
    root = tmp_path / "authors"
    root.mkdir()
    (root / "target_params_py3.pkl").write_bytes(GADGETS["os.system"]())
    r = rel.run_cli(["run", "--plugin", "seqgan", "--preset", "tiny", *rel.QUIET, "--run-dir",
                     tmp_path / "run", "--dataset", "oracle", "--data-root", root])
    assert r.code == 2 and "refused" in r.error_line(), r.err


def test_oracle_unpickler_still_reads_plain_numpy_pickles(tmp_path):
    from gan_seqgan.oracle import load_numpy_pickle
    arrays = [np.arange(6, dtype=np.float32).reshape(2, 3), np.ones(4)]
    for protocol in (2, 4):
        p = tmp_path / f"ok{protocol}.pkl"
        p.write_bytes(pickle.dumps(arrays, protocol=protocol))
        got = load_numpy_pickle(p)
        assert all(np.array_equal(a, b) for a, b in zip(arrays, got))


@pytest.mark.parametrize("gadget", sorted(GADGETS))
def test_cifar_batches_never_execute_code(rel, tmp_path, gadget):
    root = tmp_path / "cifar-10-batches-py"
    root.mkdir()
    for i in range(1, 6):
        (root / f"data_batch_{i}").write_bytes(GADGETS[gadget]())
    r = rel.run_cli(["run", "--plugin", "gan", "--preset", "tiny", *rel.QUIET, "--run-dir",
                     tmp_path / "run", "--dataset", "cifar10", "--data-root", tmp_path])
    assert r.code == 2, r.err
    assert "data_batch_1" in r.error_line()


def test_cifar_unpickler_still_reads_real_batches(tmp_path):
    from gan_image.datasets import make_cifar10
    root = tmp_path / "cifar-10-batches-py"
    root.mkdir()
    rng = np.random.default_rng(0)
    for i in range(1, 6):
        batch = {b"data": rng.integers(0, 255, (4, 3072), dtype=np.uint8), b"labels": [0, 1, 2, 3]}
        (root / f"data_batch_{i}").write_bytes(pickle.dumps(batch, protocol=2))
    data = make_cifar10(tmp_path)
    assert tuple(data.images.shape) == (20, 3, 32, 32)


@pytest.mark.filterwarnings("ignore:Detected pickle protocol")
@pytest.mark.parametrize("gadget", ["os.system", "builtins.eval", "reduce-protocol-4"])
def test_checkpoint_loader_never_executes_code(tmp_path, gadget):
    from gan.checkpoint import CheckpointManager, load_checkpoint
    from gan.errors import GanError
    ck = tmp_path / "checkpoints"
    ck.mkdir()
    (ck / "ckpt-00000001.pt").write_bytes(GADGETS[gadget]())
    with pytest.raises(GanError, match="cannot be loaded safely"):
        load_checkpoint(ck / "ckpt-00000001.pt")
    with pytest.warns(UserWarning, match="skipping unreadable checkpoint"):
        assert CheckpointManager(ck).latest() is None


# --- run directories ------------------------------------------------------------------------------
def _toy(rel, run_dir, *extra):
    return rel.run_cli(["run", "--plugin", "toy", "--preset", "tiny", *rel.QUIET, "--run-dir", run_dir,
                        "--max-steps", "2", "--set", "plot=true", "--set", "run.log_every=1", *extra])


def test_run_dir_with_dotdot_writes_only_where_it_points(rel, tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "neighbour.txt").write_text("keep")
    before = rel.snapshot(tmp_path)
    r = _toy(rel, tmp_path / "a" / ".." / "b" / "run")
    assert r.code == 0, r.err
    assert f"run directory: {tmp_path / 'b' / 'run'}" in r.out
    after = rel.snapshot(tmp_path)
    new = {k for k in after if k not in before}
    assert new and all(k.startswith("b/run/") for k in new), sorted(new)
    assert {k: v for k, v in after.items() if k in before} == before


def test_run_dir_through_a_symlink_writes_into_its_target_only(rel, tmp_path):
    target = tmp_path / "real"
    target.mkdir()
    (tmp_path / "link").symlink_to(target, target_is_directory=True)
    (tmp_path / "neighbour.txt").write_text("keep")
    before = rel.snapshot(tmp_path)
    r = _toy(rel, tmp_path / "link")
    assert r.code == 0, r.err
    after = rel.snapshot(tmp_path)
    new = {k for k in after if k not in before}
    assert new and all(k.startswith("real/") for k in new), sorted(new)
    assert (target / "checkpoints" / "ckpt-00000002.pt").exists()


@pytest.mark.parametrize("name", [
    "config.json",
    "metrics.jsonl",
])
def test_symlinked_file_in_run_dir_never_writes_outside(rel, tmp_path, name):
    run = tmp_path / "run"
    run.mkdir()
    outside = tmp_path / "outside.txt"
    outside.write_text("precious data without a trailing newline")
    (run / name).symlink_to(outside)
    r = _toy(rel, run)
    assert outside.read_text() == "precious data without a trailing newline"
    assert r.code in (0, 2), r.err
    if r.code == 2:
        r.error_line()


# --- names and paths from configs are data --------------------------------------------------------
SHELL = f"$(touch {MARKER})"
PYTHON = f"__import__('os').system('touch {MARKER}')"


@pytest.mark.parametrize("args,fragment", [
    (["--dataset", SHELL], "unknown dataset"),
    (["--dataset", PYTHON], "unknown dataset"),
    (["--plugin", PYTHON], "unknown plugin or model"),
    (["--set", f"loss={PYTHON}"], "unknown loss"),
    (["--device", PYTHON], "--device"),
    (["--dataset", "ring-8", "--data-root", SHELL], "takes no --data-root"),
])
def test_names_from_the_command_line_are_never_executed(rel, tmp_path, args, fragment):
    plugin = [] if "--plugin" in args else ["--plugin", "toy"]
    r = rel.run_cli(["run", *plugin, "--preset", "tiny", *rel.QUIET, "--run-dir", tmp_path / "r", *args])
    assert r.code == 2 and fragment in r.error_line(), r.err


def test_names_from_a_toml_config_are_never_executed(rel, tmp_path):
    cfg = tmp_path / "c.toml"
    cfg.write_text(f'[model]\nloss = "{PYTHON}"\n')
    r = rel.run_cli(["run", "--plugin", "toy", "--preset", "tiny", *rel.QUIET, "--run-dir", tmp_path / "r",
                     "--config", cfg])
    assert r.code == 2 and "unknown loss" in r.error_line(), r.err


def test_dataset_recorded_in_a_run_dir_is_never_executed(rel, toy_run):
    import json
    cfg = json.loads((toy_run / "config.json").read_text())
    cfg["data"], cfg["data_root"] = PYTHON, SHELL
    (toy_run / "config.json").write_text(json.dumps(cfg))
    r = rel.run_cli(["sample", "--run-dir", toy_run, "--device", "cpu", "-n", "2"])
    assert r.code == 2 and "unknown dataset" in r.error_line(), r.err
    cfg["data"] = "folder"
    (toy_run / "config.json").write_text(json.dumps(cfg))
    r = rel.run_cli(["eval", "--run-dir", toy_run, "--device", "cpu"])
    assert r.code == 2, r.err
    r.error_line()


# --- no network -----------------------------------------------------------------------------------
NO_NETWORK = """
import socket

def _refuse(*a, **k):
    with open({log!r}, "a") as f:
        f.write("network attempt: %r\\n" % (a[1:] if a else k,))
    raise OSError(101, "network access is not allowed in ganforge runs")

socket.socket.connect = _refuse
socket.socket.connect_ex = _refuse
socket.socket.sendto = _refuse
socket.create_connection = _refuse
socket.getaddrinfo = _refuse
"""


def _forbid_network(log: Path):
    def setup():
        exec(NO_NETWORK.format(log=str(log)), {})
    return setup


def test_runs_need_no_network(rel, tmp_path):
    """Train, sample and evaluate three domains in a child whose sockets refuse to connect (and
    log every attempt): everything succeeds and nothing even tried."""
    attempts, log = tmp_path / "attempts.log", tmp_path / "child.log"
    runs = [["run", "--plugin", "toy", "--preset", "tiny", *rel.QUIET, "--run-dir", tmp_path / "toy",
             "--set", "run.tensorboard=true"],
            ["run", "--plugin", "dcgan", "--preset", "tiny", *rel.QUIET, "--run-dir", tmp_path / "dcgan"],
            ["run", "--plugin", "pix2pix", "--preset", "tiny", *rel.QUIET, "--run-dir", tmp_path / "p2p"],
            ["run", "--plugin", "seqgan", "--preset", "tiny", *rel.QUIET, "--run-dir", tmp_path / "seq"],
            ["sample", "--run-dir", tmp_path / "dcgan", "--device", "cpu", "-n", "2"],
            ["eval", "--run-dir", tmp_path / "toy", "--device", "cpu"]]
    for argv in runs:
        p = rel.spawn_cli(argv, log, setup=_forbid_network(attempts))
        p.join(300)
        assert p.exitcode == 0, f"{argv[:3]}: exit {p.exitcode}\n{log.read_text()[-3000:]}"
    assert not attempts.exists(), attempts.read_text()


SITE = """
import os, socket
def _refuse(*a, **k):
    raise OSError(101, "network access is not allowed in ganforge runs")
socket.socket.connect = _refuse
socket.socket.connect_ex = _refuse
socket.create_connection = _refuse
socket.getaddrinfo = _refuse
"""


@pytest.mark.slow
def test_every_builtin_model_trains_without_network_in_a_fresh_interpreter(rel, tmp_path):
    from gan.plugins import BUILTIN_PLUGINS
    from gan.testing import fresh_manager
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(textwrap.dedent(SITE))
    env = rel.gan_env(PYTHONPATH=os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")]))
    models = sorted(fresh_manager(*[p for p in BUILTIN_PLUGINS if p[0] != "core"]).registry("model").names())
    cwd = tmp_path / "cwd"  # `python -m gan` puts the cwd first on sys.path: keep it empty
    cwd.mkdir()
    for model in models:
        r = subprocess.run([sys.executable, "-m", "gan", "run", "--plugin", model, "--preset", "tiny",
                            "--device", "cpu", "--run-dir", str(tmp_path / f"run-{model}"),
                            "--set", "run.progress=false"],
                           env=env, capture_output=True, text=True, timeout=600, cwd=cwd)
        assert r.returncode == 0, f"{model}: {r.stderr[-3000:]}"

"""The command line: happy paths and one-line errors with exit code 2."""

import json

import pytest

from gan.cli import main


def run(capsys, *args):
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def _one_error_line(err):
    lines = [x for x in err.splitlines() if x.startswith("error:")]
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


@pytest.mark.parametrize("args,fragment", [
    (["run", "--plugin", "nope"], "unknown plugin or model 'nope'; choose from:"),
    (["run", "--plugin", "toy", "--preset", "huge"], "unknown preset 'huge'"),
    (["run", "--plugin", "toy", "--set", "lr=fast"], "--set lr='fast': expected float"),
    (["run", "--plugin", "toy", "--set", "nonsense=1"], "unknown --set key 'nonsense'"),
    (["run", "--plugin", "toy", "--set", "novalue"], "expected key=value"),
    (["run", "--plugin", "toy", "--dataset", "nowhere"], "unknown dataset 'nowhere'; choose from:"),
    (["run", "--plugin", "toy", "--data-root", "/tmp"], "--data-root needs --dataset"),
    (["run", "--plugin", "toy", "--device", "tpu"], "--device 'tpu'"),
    (["run", "--plugin", "toy", "--model", "dcgan"], "unknown model of plugin 'toy' 'dcgan'"),
    (["run", "--plugin", "toy", "--config", "/nonexistent.toml"], "file not found"),
    (["sample", "-n", "2"], "give exactly one of --run-dir or --checkpoint"),
    (["eval", "--run-dir", "/nonexistent-run"], "no such run directory"),
])
def test_bad_input_is_one_line_exit_2(capsys, tmp_path, args, fragment):
    code, out, err = run(capsys, *args, *(["--run-dir", str(tmp_path / "r")] if args[0] == "run" else []))
    assert code == 2
    assert fragment in _one_error_line(err)


def test_cuda_requested_without_gpu(capsys, tmp_path):
    import torch
    if torch.cuda.is_available():
        pytest.skip("machine has CUDA")
    code, _, err = run(capsys, "run", "--plugin", "toy", "--device", "cuda", "--run-dir", str(tmp_path))
    assert code == 2 and "CUDA is not available" in _one_error_line(err)


def test_run_sample_eval_resume_end_to_end(capsys, tmp_path):
    rd = tmp_path / "run"
    code, out, err = run(capsys, "run", "--plugin", "toy", "--preset", "tiny", "--run-dir", str(rd),
                         "--device", "cpu", "--max-steps", "2", "--set", "run.log_every=1")
    assert code == 0, err
    assert "completed at step 2" in out
    cfg = json.loads((rd / "config.json").read_text())
    assert cfg["model"] == "toy-gan" and cfg["run"]["max_steps"] == 2
    assert (rd / "checkpoints" / "ckpt-00000002.pt").exists()
    before = (rd / "checkpoints" / "ckpt-00000002.pt").read_bytes()
    # refusing to overwrite an existing run
    code, _, err = run(capsys, "run", "--plugin", "toy", "--preset", "tiny", "--run-dir", str(rd))
    assert code == 2 and "already holds checkpoints" in _one_error_line(err)
    assert (rd / "checkpoints" / "ckpt-00000002.pt").read_bytes() == before
    # resume to the end of the tiny preset (4 steps)
    code, out, err = run(capsys, "run", "--plugin", "toy", "--preset", "tiny", "--run-dir", str(rd),
                         "--resume", "--device", "cpu")
    assert code == 0, err
    assert "resumed from" in err and "completed at step 4" in out
    code, out, err = run(capsys, "sample", "--run-dir", str(rd), "-n", "3", "--device", "cpu")
    assert code == 0, err
    assert len(out.strip().splitlines()) == 3
    code, out, err = run(capsys, "eval", "--run-dir", str(rd), "--device", "cpu", "--json")
    assert code == 0, err
    rec = json.loads(out)
    assert rec["model"] == "toy-gan" and "modes_covered" in rec and "protocol" in rec
    # built-in data needs no files: a --data-root for it is a mistake, said in one line
    code, _, err = run(capsys, "sample", "--run-dir", str(rd), "--data-root", str(tmp_path))
    assert code == 2 and "built-in data" in _one_error_line(err)


def test_toml_config_file(capsys, tmp_path):
    f = tmp_path / "run.toml"
    f.write_text("[run]\nseed = 3\nlog_every = 1\n[model]\nsteps = 3\nbatch_size = 16\n")
    rd = tmp_path / "run"
    code, out, err = run(capsys, "run", "--plugin", "toy-gan", "--preset", "tiny", "--config", str(f),
                         "--run-dir", str(rd), "--device", "cpu")
    assert code == 0, err
    cfg = json.loads((rd / "config.json").read_text())
    assert cfg["run"]["seed"] == 3 and cfg["config"]["steps"] == 3 and cfg["config"]["batch_size"] == 16
    bad = tmp_path / "bad.toml"
    bad.write_text("[model\n")
    code, _, err = run(capsys, "run", "--plugin", "toy", "--config", str(bad), "--run-dir", str(tmp_path / "x"))
    assert code == 2 and "not valid TOML" in _one_error_line(err)
    # a wrong type in the file names the file and table, not a --set the user never typed
    typed = tmp_path / "typed.toml"
    typed.write_text('[model]\nlr = "fast"\n')
    code, _, err = run(capsys, "run", "--plugin", "toy", "--config", str(typed), "--run-dir", str(tmp_path / "y"))
    line = _one_error_line(err)
    assert code == 2 and f"--config {typed} [model] lr='fast': expected float" in line


def test_list_and_plugins(capsys):
    code, out, _ = run(capsys, "list", "models")
    assert code == 0 and "toy-gan" in out
    code, out, _ = run(capsys, "list", "losses")
    assert code == 0 and all(n in out for n in ("minimax", "non-saturating", "least-squares",
                                                 "wasserstein", "hinge", "wgan-gp", "r1"))
    code, out, _ = run(capsys, "plugins", "--json")
    rows = {r["name"]: r for r in json.loads(out)}
    assert rows["toy"]["provides"]["model"] == ["toy-gan"] and rows["toy"]["builtin"]
    code, out, _ = run(capsys, "-p", "no:toy", "list", "models")
    assert "toy-gan" not in out
    code, _, err = run(capsys, "list", "widgets")
    assert code == 2


def test_debug_shows_traceback_for_errors(capsys):
    from gan.errors import GanError
    with pytest.raises(GanError):
        main(["--debug", "run", "--plugin", "nope"])


def test_help_and_version_do_not_import_torch():
    """`gan --help` / `--version` load every plugin (their commands and options) but collect no
    registry, so torch is not imported: ~0.3 s of CPU instead of ~3 s."""
    import os
    import subprocess
    import sys
    from pathlib import Path
    root = Path(__file__).resolve().parents[1]
    env = dict(os.environ)
    # this checkout's example plugin (the installed entry point may point at another checkout)
    env["PYTHONPATH"] = os.pathsep.join([str(root / "examples" / "third_party_plugin"),
                                         env.get("PYTHONPATH", "")])
    probe = ("import sys, io, contextlib\nfrom gan.cli import main\n"
             "for args in (['--help'], ['--version'], ['run', '--help']):\n"
             "    with contextlib.redirect_stdout(io.StringIO()) as out:\n"
             "        assert main(args) == 0, args\n"
             "    assert out.getvalue().strip(), args\n"
             "print(sorted(m for m in sys.modules if m == 'torch' or m.startswith('torch.'))[:3])")
    r = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "[]", r.stdout

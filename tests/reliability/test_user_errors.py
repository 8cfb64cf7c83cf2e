"""Issue 10.7 — exit codes and wording: every user-caused OS error is one line naming the path
(exit 2); NaN/inf are refused at validation for every float setting; refused checkpoints are named
one line each with the reason, and the final error counts them."""

from __future__ import annotations

import dataclasses
import errno
import os
import pickle
import typing

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gan.config import RunConfig, resolve_config
from gan.errors import GanError

USER_ERRNOS = [errno.EACCES, errno.EPERM, errno.EROFS, errno.ENOSPC, errno.EDQUOT, errno.ENOENT]


def _toy(rel, rd, *extra):
    return rel.run_cli(["run", "--plugin", "toy", "--preset", "tiny", *rel.QUIET, "--run-dir", rd,
                        "--max-steps", "2", *extra])


@pytest.mark.parametrize("code", USER_ERRNOS, ids=[errno.errorcode[c] for c in USER_ERRNOS])
@pytest.mark.parametrize("site", ["run-dir", "config.json", "checkpoint", "metrics"])
def test_os_errors_are_one_line_naming_the_path_exit_2(rel, monkeypatch, tmp_path, code, site):
    """The kernel's refusals injected where a run writes: creating the run directory, replacing
    config.json, writing a checkpoint, opening metrics.jsonl (a write error names no file itself)."""
    import pathlib
    rd = tmp_path / "run"
    target = {"run-dir": rd, "config.json": rd / "config.json",
              "checkpoint": rd / "checkpoints", "metrics": rd / "metrics.jsonl"}[site]
    if site == "run-dir":
        real_mkdir = pathlib.Path.mkdir

        def mkdir(self, *a, **k):
            if self == rd:
                raise OSError(code, os.strerror(code), str(self))
            return real_mkdir(self, *a, **k)
        monkeypatch.setattr(pathlib.Path, "mkdir", mkdir)
    else:
        real_replace, real_open = os.replace, os.open

        def replace(src, dst, *a, **k):
            if str(dst).startswith(str(target)):
                raise OSError(code, os.strerror(code))  # as a failing write: no file name
            return real_replace(src, dst, *a, **k)

        def open_(path, *a, **k):
            if site == "metrics" and str(path) == str(target):
                raise OSError(code, os.strerror(code), str(path))
            return real_open(path, *a, **k)
        monkeypatch.setattr(os, "replace", replace)
        monkeypatch.setattr(os, "open", open_)
    r = _toy(rel, rd)
    assert r.code == 2, r.err
    line = r.error_line()
    assert str(target) in line and os.strerror(code) in line, line


def _float_settings():
    from gan.plugins import GanPluginManager
    pm = GanPluginManager()
    pm.load()
    out = [("toy", f"run.{f.name}") for f in dataclasses.fields(RunConfig)
           if float in (typing.get_args(typing.get_type_hints(RunConfig)[f.name]) or
                        (typing.get_type_hints(RunConfig)[f.name],))]
    for e in pm.registry("model").entries():
        cfg = e.obj.Config()

        def walk(obj, prefix):
            hints = typing.get_type_hints(type(obj))
            for f in dataclasses.fields(obj):
                v = getattr(obj, f.name)
                if dataclasses.is_dataclass(v):
                    walk(v, f"{prefix}{f.name}.")
                elif float in (typing.get_args(hints[f.name]) or (hints[f.name],)):
                    out.append((e.name, prefix + f.name))
        walk(cfg, "")
    return pm, out


PM, FLOAT_SETTINGS = _float_settings()


def test_the_float_settings_are_found():
    assert ("toy-gan", "lr") in FLOAT_SETTINGS and ("toy", "run.ema_decay") in FLOAT_SETTINGS
    assert len(FLOAT_SETTINGS) > 40


@settings(max_examples=150, deadline=None)
@given(setting=st.sampled_from(FLOAT_SETTINGS),
       raw=st.sampled_from(["nan", "NaN", "inf", "-inf", "Infinity", "-Infinity", "1e999", "-1e999"]))
def test_nan_and_inf_are_refused_for_every_float_setting(setting, raw):
    model, key = setting
    cls = PM.registry("model").resolve(PM.default_model(model))
    with pytest.raises(GanError) as e:
        resolve_config(cls.Config, RunConfig(), assignments=[(key, raw)])
    assert key.split(".")[-1] in str(e.value) and "finite" in str(e.value)


def test_nan_in_a_toml_config_is_refused_naming_file_and_key(rel, tmp_path):
    toml = tmp_path / "run.toml"
    toml.write_text("[run]\nema_decay = nan\n")
    r = rel.run_cli(["run", "--plugin", "toy", "--preset", "tiny", *rel.QUIET, "--run-dir", tmp_path / "r",
                     "--config", toml])
    assert r.code == 2 and "ema_decay" in r.error_line() and "finite" in r.error_line()


class _Evil:
    def __reduce__(self):
        return (os.system, ("true",))


def test_refused_checkpoints_are_named_one_line_each_and_counted(rel, toy_run):
    import torch
    files = sorted((toy_run / "checkpoints").glob("ckpt-*.pt"))
    assert len(files) >= 2
    torch.save({"format": "ganforge-checkpoint", "x": _Evil()}, files[-1])
    files[0].write_bytes(pickle.dumps(_Evil()))
    for f in files[1:-1]:
        f.write_bytes(f.read_bytes()[:200])
    r = rel.run_cli(["run", "--plugin", "toy", "--preset", "tiny", *rel.QUIET, "--run-dir", toy_run, "--resume"])
    assert r.code == 2, r.err
    warned = [x for x in r.err.splitlines() if x.startswith("warning: skipping unreadable checkpoint")]
    assert len(warned) == len(files), r.err
    assert all(any(f.name in w for w in warned) for f in files)
    evil = next(w for w in warned if files[-1].name in w)
    assert f"holds a pickled callable {os.system.__module__}.system; refused" in evil
    assert "UserWarning" not in r.err and "warnings.warn" not in r.err and "Traceback" not in r.err
    assert f"({len(files)} file(s) refused" in r.error_line()

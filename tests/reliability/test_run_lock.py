"""Issue 10.2 — concurrent runs: one writer per run directory (an OS lock a killed process
releases), readers without the lock never see a half-written file."""

from __future__ import annotations

import json
import os
import signal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gan.errors import GanError
from gan.rundir import LOCK_FILE, RunLock, append_jsonl, read_jsonl


def _held_by_other(run_dir) -> bool:
    try:
        with RunLock(run_dir):
            return False
    except GanError:
        return True


def _long_toy(rel, run_dir):
    return ["run", "--plugin", "toy", "--preset", "tiny", *rel.QUIET, "--run-dir", run_dir,
            "--set", "steps=1000000", "--set", "run.ckpt_every=5", "--set", "run.log_every=5"]


def test_second_run_on_a_busy_run_dir_exits_2_naming_the_holder_and_readers_work(rel, tmp_path):
    rd = tmp_path / "run"
    first = rel.spawn_cli(_long_toy(rel, rd), tmp_path / "first.log")
    try:
        assert rel.wait_for(lambda: any((rd / "checkpoints").glob("ckpt-*.pt")) if (rd / "checkpoints").is_dir()
                            else False, 60, first), (tmp_path / "first.log").read_text()
        assert _held_by_other(rd)
        for extra in ([], ["--resume"]):
            r = rel.run_cli(_long_toy(rel, rd) + extra)
            assert r.code == 2, r.err
            assert f"is in use by another gan run (pid {first.pid} on host" in r.error_line()
        # readers take no lock: sampling and evaluating a run that is being written works
        for cmd in (["sample", "-n", "2"], ["eval"]):
            r = rel.run_cli([*cmd, "--run-dir", rd, "--device", "cpu"])
            assert r.code == 0, r.err
        rel.metrics_records(rd / "metrics.jsonl")  # whole lines only
    finally:
        os.kill(first.pid, signal.SIGKILL)
        first.join(10)
    # the kernel released the lock with the killed process: the run continues
    assert not _held_by_other(rd)
    r = rel.run_cli(_long_toy(rel, rd)[:-4] + ["--resume", "--max-steps", "12"])
    assert r.code == 0, r.err


def test_lock_is_per_directory_and_released_on_exit(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    with RunLock(a):
        assert _held_by_other(a) and not _held_by_other(b)
        info = json.loads((a / LOCK_FILE).read_text())
        assert info["pid"] == os.getpid()
    assert not _held_by_other(a)


@settings(max_examples=40, deadline=None)
@given(records=st.lists(st.dictionaries(st.text(min_size=1, max_size=5), st.integers() | st.text(max_size=20),
                                        max_size=4), max_size=8),
       cut=st.floats(0, 1))
def test_readers_see_only_whole_records_of_a_file_being_appended(tmp_path_factory, records, cut):
    path = tmp_path_factory.mktemp("jl") / "metrics.jsonl"
    for rec in records:
        append_jsonl(path, rec)
    data = path.read_bytes() if path.exists() else b""
    partial = json.dumps({"step": 99, "loss": 1.5}).encode() + b"\n"
    path.write_bytes(data + partial[: int(cut * (len(partial) - 1))])  # a write in progress
    assert read_jsonl(path) == records


def test_metrics_log_writes_each_line_with_one_write(monkeypatch, tmp_path):
    from gan.trainer import MetricsLog
    writes = []
    real = os.write
    monkeypatch.setattr(os, "write", lambda fd, data: writes.append(data) or real(fd, data))
    log = MetricsLog(tmp_path / "metrics.jsonl", resume_step=0)
    log.write({"step": 1, "text": "x" * 20000})
    log.close()
    assert len(writes) == 1 and writes[0].endswith(b"\n")

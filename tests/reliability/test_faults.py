"""Process faults: SIGKILL at random points (also mid checkpoint write), SIGINT/SIGTERM, dying
DataLoader workers, a full disk while a checkpoint is written.

The invariant after any fault: every ``ckpt-*.pt`` in ``checkpoints/`` loads with
``load_checkpoint``, ``metrics.jsonl`` is valid JSON lines, and ``--resume`` finishes the run with
*exactly* the parameters of an uninterrupted run (resume is exact, so a chain of kills and resumes
must not change the result).
"""

from __future__ import annotations

import contextlib
import io
import os
import random
import re
import signal
import subprocess
import sys
import time
import zlib
from pathlib import Path

import pytest
import torch

from gan.checkpoint import CheckpointManager, load_checkpoint
from gan.errors import GanError

TMP_CKPT = re.compile(r"^\.ckpt-(\d{8,})\.pt\.tmp-(\d+)$")


def _ckpts(rd: Path) -> list[Path]:
    return CheckpointManager(rd / "checkpoints").list()


def _tmp_files(rd: Path) -> list[Path]:
    d = rd / "checkpoints"
    return sorted(p for p in d.iterdir() if TMP_CKPT.match(p.name)) if d.is_dir() else []


def _check_run_dir(rel, rd: Path, model: str) -> int | None:
    """Every complete checkpoint loads, latest() finds one, metrics parse; returns the latest step."""
    ckpts = _ckpts(rd)
    for p in ckpts:
        state = load_checkpoint(p, model)
        assert state["step"] == int(p.name[5:13]), p
    rel.metrics_records(rd / "metrics.jsonl")
    if not ckpts:
        return None
    found = CheckpointManager(rd / "checkpoints").latest(model)
    assert found is not None and found[0] == ckpts[-1]
    return found[1]["step"]


def _final_state(rd: Path, model: str) -> dict:
    found = CheckpointManager(rd / "checkpoints").latest(model)
    assert found is not None
    return found[1]


def _assert_same_training_state(a: dict, b: dict) -> None:
    assert a["step"] == b["step"]
    for part in ("models", "optimizers"):
        fa, fb = _flatten(a[part]), _flatten(b[part])
        assert fa.keys() == fb.keys(), part
        diff = [k for k in fa if not _equal(fa[k], fb[k])]
        assert not diff, f"{part} differ from the uninterrupted run: {diff[:5]}"


def _flatten(obj, prefix=""):
    if isinstance(obj, dict):
        out = {}
        for k, v in obj.items():
            out.update(_flatten(v, f"{prefix}{k}."))
        return out
    if isinstance(obj, (list, tuple)):
        out = {}
        for i, v in enumerate(obj):
            out.update(_flatten(v, f"{prefix}{i}."))
        return out
    return {prefix: obj}


def _equal(x, y) -> bool:
    if isinstance(x, torch.Tensor):
        return isinstance(y, torch.Tensor) and x.shape == y.shape and torch.equal(x, y)
    return x == y


# --- SIGKILL at random points ---------------------------------------------------------------------
TOY_KILL_ARGS = ["--set", "hidden=128", "--set", "layers=2", "--set", "run.ckpt_every=1",
                 "--set", "run.log_every=1", "--set", "run.keep_last=2"]


def test_sigkill_at_random_points_then_resume_equals_uninterrupted_run(rel, tmp_path):
    """Six SIGKILLs at seeded random moments of a run that checkpoints every step (most of a step
    is spent writing + fsyncing the checkpoint, so kills land mid-write too); after each kill the
    run directory is consistent, and the resumed chain ends bit-identical to a straight run."""
    rng = random.Random(1234)
    rd, log = tmp_path / "run", tmp_path / "children.log"
    target = 10_000
    base = ["run", "--plugin", "toy", "--preset", "tiny", *rel.QUIET, "--run-dir", rd,
            "--set", f"steps={target}", *TOY_KILL_ARGS]
    kills, mid_write, progress = 0, 0, []
    for _ in range(6):
        resume = bool(_ckpts(rd))
        metrics = rd / "metrics.jsonl"
        size0 = metrics.stat().st_size if metrics.exists() else 0
        p = rel.spawn_cli(base + (["--resume"] if resume else []), log)
        # kill at a random moment once this incarnation trains (its first metrics line is out;
        # the first incarnation also waits for its first checkpoint, so there is one to resume)
        assert rel.wait_for(lambda: metrics.exists() and metrics.stat().st_size > size0
                            and (resume or bool(_ckpts(rd))), 60, p), log.read_text()[-3000:]
        time.sleep(rng.uniform(0.0, 0.4))
        os.kill(p.pid, signal.SIGKILL)
        p.join(10)
        assert p.exitcode == -signal.SIGKILL
        kills += 1
        mid_write += any(TMP_CKPT.match(t.name).group(2) == str(p.pid) for t in _tmp_files(rd))
        progress.append(_check_run_dir(rel, rd, "toy-gan"))
    assert kills == 6 and progress[-1] is not None
    # finish: resume up to a few steps past the last checkpoint, then compare with a straight run
    stop = progress[-1] + 5
    r = rel.run_cli(base + ["--resume", "--max-steps", stop])
    assert r.code == 0, r.err
    assert f"completed at step {stop}" in r.out
    straight = tmp_path / "straight"
    r = rel.run_cli(["run", "--plugin", "toy", "--preset", "tiny", *rel.QUIET, "--run-dir", straight,
                     "--set", f"steps={target}", "--set", "hidden=128", "--set", "layers=2",
                     "--set", "run.ckpt_every=0", "--max-steps", stop])
    assert r.code == 0, r.err
    _assert_same_training_state(_final_state(rd, "toy-gan"), _final_state(straight, "toy-gan"))
    _check_run_dir(rel, rd, "toy-gan")
    steps = [x["step"] for x in rel.metrics_records(rd / "metrics.jsonl") if "D/loss" in x]
    relogged = sum(1 for a, b in zip(steps, steps[1:]) if b <= a)
    print(f"kills={kills} mid-write={mid_write} checkpoint steps after kills={progress} "
          f"metrics lines={len(steps)} re-logged after resume={relogged}")


def _die_inside_checkpoint_write(n: int):
    """Child-side fault: the n-th torch.save writes half its bytes, fsyncs, then SIGKILLs itself."""
    def setup():
        real = torch.save
        calls = {"n": 0}

        def save(obj, f, *a, **k):
            calls["n"] += 1
            if calls["n"] != n or not hasattr(f, "write"):
                return real(obj, f, *a, **k)
            buf = io.BytesIO()
            real(obj, buf, *a, **k)
            data = buf.getvalue()
            f.write(data[: len(data) // 2])
            f.flush()
            os.fsync(f.fileno())
            os.kill(os.getpid(), signal.SIGKILL)

        torch.save = save
    return setup


def test_kill_in_the_middle_of_a_checkpoint_write(rel, tmp_path):
    rd, log = tmp_path / "run", tmp_path / "child.log"
    args = ["run", "--plugin", "toy", "--preset", "tiny", *rel.QUIET, "--run-dir", rd,
            "--set", "steps=8", "--set", "run.ckpt_every=1", "--set", "run.log_every=1"]
    p = rel.spawn_cli(args, log, setup=_die_inside_checkpoint_write(3))
    p.join(60)
    assert p.exitcode == -signal.SIGKILL, log.read_text()[-2000:]
    tmps = _tmp_files(rd)
    assert [t.name for t in tmps] == [f".ckpt-00000003.pt.tmp-{p.pid}"]
    with pytest.raises(GanError):
        load_checkpoint(tmps[0])  # the torn temp file really is unreadable...
    assert _check_run_dir(rel, rd, "toy-gan") == 2  # ...and never counted as a checkpoint
    r = rel.run_cli(args + ["--resume"])
    assert r.code == 0, r.err
    assert "ckpt-00000002.pt (step 2)" in r.err and "completed at step 8" in r.out
    straight = tmp_path / "straight"
    r = rel.run_cli(["run", "--plugin", "toy", "--preset", "tiny", *rel.QUIET, "--run-dir", straight,
                     "--set", "steps=8"])
    assert r.code == 0, r.err
    _assert_same_training_state(_final_state(rd, "toy-gan"), _final_state(straight, "toy-gan"))


def test_leftovers_of_a_torn_write_are_ignored_by_resume(rel, toy_run):
    """The state a kill mid-write leaves (a ``.ckpt-*.pt.tmp-PID`` file), plus an unreadable newest
    checkpoint: resume skips both and continues from the newest complete checkpoint."""
    ck = toy_run / "checkpoints"
    good = (ck / "ckpt-00000003.pt").read_bytes()
    (ck / ".ckpt-00000004.pt.tmp-4242").write_bytes(good[: len(good) // 3])
    (ck / "ckpt-00000005.pt").write_bytes(good[:100])
    r = rel.run_cli(["run", "--plugin", "toy", "--preset", "tiny", *rel.QUIET, "--run-dir",
                     toy_run, "--resume", "--max-steps", "4", "--set", "run.ckpt_every=1"])
    assert r.code == 0, r.err
    # one line naming the file, no Python warning source line
    assert re.search(r"^warning: skipping unreadable checkpoint.*ckpt-00000005\.pt.*$", r.err, re.M), r.err
    assert "UserWarning" not in r.err and "warnings.warn" not in r.err
    assert "ckpt-00000003.pt (step 3)" in r.err and "completed at step 4" in r.out
    assert load_checkpoint(ck / "ckpt-00000004.pt", "toy-gan")["step"] == 4
    rel.metrics_records(toy_run / "metrics.jsonl")


@pytest.mark.filterwarnings("ignore:skipping unreadable checkpoint")
def test_unreadable_newer_checkpoint_never_causes_good_ones_to_be_pruned(rel, toy_run):
    ck = toy_run / "checkpoints"
    (ck / "ckpt-00000050.pt").write_bytes(b"torn by a disk fault")
    r = rel.run_cli(["run", "--plugin", "toy", "--preset", "tiny", *rel.QUIET, "--run-dir", toy_run,
                     "--resume", "--max-steps", "5", "--set", "steps=8", "--set", "run.ckpt_every=1",
                     "--set", "run.keep_last=1"])
    assert r.code == 0, r.err
    found = CheckpointManager(ck).latest("toy-gan")
    assert found is not None and found[1]["step"] == 5, sorted(p.name for p in ck.iterdir())


# --- SIGINT / SIGTERM -----------------------------------------------------------------------------
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_signal_saves_a_checkpoint_and_exits_cleanly(rel, tmp_path, sig):
    rd, log = tmp_path / "run", tmp_path / "child.log"
    args = ["run", "--plugin", "toy", "--preset", "tiny", *rel.QUIET, "--run-dir", rd,
            "--set", "steps=100000", "--set", "run.log_every=1", "--set", "run.ckpt_every=0"]
    p = rel.spawn_cli(args, log)
    metrics = rd / "metrics.jsonl"
    assert rel.wait_for(lambda: metrics.exists() and metrics.stat().st_size > 2000, 60, p), \
        log.read_text()[-2000:]
    os.kill(p.pid, sig)
    p.join(60)
    text = log.read_text()
    assert p.exitcode == 130, text[-2000:]
    m = re.search(r"interrupted at step (\d+)", text)
    assert m, text[-2000:]
    step = int(m.group(1))
    assert "Traceback" not in text and "error:" not in text
    assert [c.name for c in _ckpts(rd)] == [f"ckpt-{step:08d}.pt"]  # ckpt_every=0: the exit save
    assert not _tmp_files(rd)
    assert _check_run_dir(rel, rd, "toy-gan") == step
    assert rel.metrics_records(metrics)[-1]["step"] == step
    # the interrupted run continues exactly
    r = rel.run_cli(args + ["--resume", "--max-steps", step + 3])
    assert r.code == 0 and f"completed at step {step + 3}" in r.out, r.err
    straight = tmp_path / "straight"
    r = rel.run_cli(["run", "--plugin", "toy", "--preset", "tiny", *rel.QUIET, "--run-dir", straight,
                     "--set", "steps=100000", "--set", "run.ckpt_every=0", "--max-steps", step + 3])
    assert r.code == 0, r.err
    _assert_same_training_state(_final_state(rd, "toy-gan"), _final_state(straight, "toy-gan"))


# --- DataLoader workers ---------------------------------------------------------------------------
def _write_unaligned(root: Path, n: int = 6, corrupt: str | None = None) -> Path:
    """CycleGAN folders; the held-out testA/testB hold only good images, so a corrupt training
    image is met by the training stream (in its DataLoader worker), not by an evaluation."""
    from PIL import Image
    g = torch.Generator().manual_seed(0)
    for d in ("trainA", "trainB", "testA", "testB"):
        (root / d).mkdir(parents=True, exist_ok=True)
        for i in range(n):
            a = (torch.rand(20, 20, 3, generator=g) * 255).to(torch.uint8).numpy()
            Image.fromarray(a).save(root / d / f"{i}.png")
    if corrupt:
        (root / corrupt).write_bytes(b"\x89PNG\r\n\x1a\n" + b"not really a png" * 4)
    return root


def test_batchstream_worker_killed_is_one_clear_error():
    from torch.utils.data import Dataset, get_worker_info

    from gan.data import BatchStream

    class DiesInWorker(Dataset):
        def __len__(self):
            return 32

        def __getitem__(self, i):
            if get_worker_info() is not None:
                os.kill(os.getpid(), signal.SIGKILL)
            return torch.zeros(2)

    stream = BatchStream(DiesInWorker(), 4, num_workers=1)
    with pytest.raises(GanError) as e:
        next(stream)
    msg = str(e.value)
    assert "\n" not in msg and "worker died" in msg and "num_workers=0" in msg


def test_after_a_worker_death_other_pools_dying_raise_nothing_more():
    """A recipe with two streams (CycleGAN's A and B) has two worker pools. After the first death
    became the run's one-line error, the other pool's workers dying must not make torch's SIGCHLD
    handler raise again in whatever runs next (seen in CI as a traceback during exit)."""
    from torch.utils.data import Dataset, get_worker_info

    from gan.data import BatchStream

    class Healthy(Dataset):
        def __len__(self):
            return 32

        def __getitem__(self, i):
            return torch.zeros(2)

    class DiesInWorker(Healthy):
        def __getitem__(self, i):
            if get_worker_info() is not None:
                os.kill(os.getpid(), signal.SIGKILL)
            return torch.zeros(2)

    other = BatchStream(Healthy(), 4, num_workers=1)
    next(other)
    other_pids = [w.pid for w in other._loader_iter._workers]
    with pytest.raises(GanError):
        next(BatchStream(DiesInWorker(), 4, num_workers=1))
    assert other._loader_iter is None  # its pool was shut down with the failing one
    for pid in other_pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    time.sleep(1.0)  # a still-registered dead worker would raise RuntimeError here
    assert next(other).shape == (4, 2)  # and the stream restarts its pool on demand


def _kill_worker_on_item(n: int):
    """Child-side: the DataLoader worker SIGKILLs itself on the (n+1)-th image it reads."""
    def setup():
        from torch.utils.data import get_worker_info

        from gan_translation import datasets

        real = datasets.ImageFiles.__getitem__
        seen = {"n": 0}

        def getitem(self, i):
            if get_worker_info() is not None:
                seen["n"] += 1
                if seen["n"] > n:
                    os.kill(os.getpid(), signal.SIGKILL)
            return real(self, i)

        datasets.ImageFiles.__getitem__ = getitem
    return setup


def _cyclegan_worker_args(rel, tmp_path):
    data = _write_unaligned(tmp_path / "data")
    return ["run", "--plugin", "cyclegan", "--preset", "tiny", *rel.QUIET, "--run-dir",
            tmp_path / "run", "--dataset", "unaligned", "--data-root", data,
            "--set", "run.num_workers=1", "--set", "steps=6", "--set", "run.ckpt_every=1"]


def test_dataloader_worker_death_in_a_run_is_one_clear_error(rel, tmp_path):
    log = tmp_path / "child.log"
    p = rel.spawn_cli(_cyclegan_worker_args(rel, tmp_path), log, setup=_kill_worker_on_item(12))
    p.join(180)
    text = log.read_text()
    res = rel.CliResult(p.exitcode, "", text)
    assert p.exitcode in (1, 2), text[-3000:]  # see the xfail below for 1 vs 2
    line = res.error_line()
    assert "worker" in line and ("killed" in line or "died" in line), line
    _check_run_dir(rel, tmp_path / "run", "cyclegan")


def _worker_dies_while_main_computes(flag: Path):
    """Child-side, deterministic: the first loss() call raises a flag and computes for 3 s; the
    worker, asked for a second batch, waits for the flag and SIGKILLs itself. torch notices the
    death in its SIGCHLD handler, i.e. inside the recipe's computation, not in BatchStream."""
    def setup():
        from torch.utils.data import get_worker_info

        from gan_translation import datasets
        from gan_translation.cyclegan import CycleGAN

        real_get, real_loss = datasets.ImageFiles.__getitem__, CycleGAN.loss
        seen = {"n": 0}

        def getitem(self, i):
            if get_worker_info() is not None:
                seen["n"] += 1
                if seen["n"] > 2:  # past the first batch (tiny: 2 images), which the main process
                    while not flag.exists():  # needs before its first loss() call
                        time.sleep(0.01)
                    os.kill(os.getpid(), signal.SIGKILL)
            return real_get(self, i)

        def loss(self, *a, **k):
            if not flag.exists():
                flag.write_text("go")
                time.sleep(3)
            return real_loss(self, *a, **k)

        datasets.ImageFiles.__getitem__ = getitem
        CycleGAN.loss = loss
    return setup


def test_worker_death_noticed_during_computation_is_a_gan_error(rel, tmp_path):
    log = tmp_path / "child.log"
    p = rel.spawn_cli(_cyclegan_worker_args(rel, tmp_path), log,
                      setup=_worker_dies_while_main_computes(tmp_path / "flag"))
    p.join(180)
    text = log.read_text()
    assert p.exitcode == 2, text[-3000:]
    assert "data-loading worker died" in rel.CliResult(2, "", text).error_line()


def test_bad_image_read_by_a_worker_names_the_file(rel, tmp_path):
    data = _write_unaligned(tmp_path / "data", corrupt="trainB/3.png")
    r = rel.run_cli(["run", "--plugin", "cyclegan", "--preset", "tiny", *rel.QUIET,
                     "--run-dir", tmp_path / "run", "--dataset", "unaligned", "--data-root", data,
                     "--set", "run.num_workers=1", "--set", "steps=6"])
    assert r.code == 2
    assert "trainB/3.png" in r.error_line()


def test_bad_image_read_in_process_names_the_file(rel, tmp_path):
    data = _write_unaligned(tmp_path / "data", corrupt="trainB/3.png")
    r = rel.run_cli(["run", "--plugin", "cyclegan", "--preset", "tiny", *rel.QUIET,
                     "--run-dir", tmp_path / "run", "--dataset", "unaligned", "--data-root", data,
                     "--set", "run.num_workers=0", "--set", "steps=6"])
    assert r.code == 2
    assert "trainB/3.png" in r.error_line() and "cannot decode image" in r.error_line()


# --- full disk ------------------------------------------------------------------------------------
def _file_size_limit(limit: int):
    """Child-side: the kernel refuses to grow any file past ``limit`` bytes (EFBIG), as a full disk
    refuses with ENOSPC; both reach Python as an OSError from ``write`` mid-checkpoint."""
    def setup():
        import resource
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    return setup


@pytest.fixture
def run_hit_by_full_disk(rel, tmp_path):
    """Two checkpointed steps, then a resumed run whose next checkpoint write fails in the kernel."""
    rd = tmp_path / "run"
    args = ["run", "--plugin", "toy", "--preset", "tiny", *rel.QUIET, "--run-dir", rd,
            "--set", "steps=6", "--set", "hidden=256", "--set", "run.ckpt_every=1",
            "--set", "run.log_every=1"]
    r = rel.run_cli(args + ["--max-steps", "2"])
    assert r.code == 0, r.err
    before = rel.snapshot(rd / "checkpoints")
    size = (rd / "checkpoints" / "ckpt-00000002.pt").stat().st_size
    log = tmp_path / "child.log"
    p = rel.spawn_cli(args + ["--resume"], log, setup=_file_size_limit(size // 2))
    p.join(120)
    return rd, args, before, p.exitcode, log.read_text()


def test_full_disk_during_checkpoint_write_leaves_previous_intact(rel, run_hit_by_full_disk):
    rd, args, before, code, text = run_hit_by_full_disk
    assert code in (1, 2), text  # failed, not killed, not hung
    assert "Traceback" not in text
    after = rel.snapshot(rd / "checkpoints")
    assert after == before, "checkpoints changed or a torn temp file was left behind"
    assert _check_run_dir(rel, rd, "toy-gan") == 2
    r = rel.run_cli(args + ["--resume"])  # space is back
    assert r.code == 0 and "completed at step 6" in r.out, r.err


def test_full_disk_during_checkpoint_write_says_so(rel, run_hit_by_full_disk):
    rd, args, before, code, text = run_hit_by_full_disk
    res = rel.CliResult(code, "", text)
    assert code == 2, text
    line = res.error_line()
    assert "could not write checkpoint" in line and "ckpt-00000002.pt is intact" in line, line


# --- every built-in model, real subprocesses (slow) -----------------------------------------------
#: config overrides that make each tiny run long enough to be killed mid-training
LONGER = {"seqgan": ["--set", "adversarial_rounds=40"], "mle": ["--set", "pretrain_g_epochs=40"]}


def _builtin_models() -> list[str]:
    from gan.testing import fresh_manager
    from gan.plugins import BUILTIN_PLUGINS
    pm = fresh_manager(*[p for p in BUILTIN_PLUGINS if p[0] != "core"])
    return sorted(pm.registry("model").names())


@pytest.mark.slow
@pytest.mark.parametrize("model", _builtin_models())
def test_sigkill_subprocess_every_builtin_model(rel, tmp_path, model):
    """``python -m gan run`` killed 3 times at seeded random moments of training, then resumed."""
    import dataclasses

    from gan.plugins import default_manager
    cls = default_manager().registry("model").resolve(model)
    fields = {f.name for f in dataclasses.fields(cls.Config)}
    longer = LONGER.get(model, ["--set", "steps=40"] if "steps" in fields else [])
    rng = random.Random(zlib.crc32(model.encode()))
    rd = tmp_path / "run"
    base = [sys.executable, "-m", "gan", "run", "--plugin", model, "--preset", "tiny", *rel.QUIET,
            "--run-dir", str(rd), "--set", "run.ckpt_every=1", "--set", "run.log_every=1", *longer]
    kills = 0
    for i in range(3):
        resume = ["--resume"] if _ckpts(rd) else []
        n0 = len(_ckpts(rd))
        p = subprocess.Popen(base + resume, env=rel.gan_env(), stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE, cwd=tmp_path)
        # wait until this process has written a checkpoint of its own, then kill at random
        ok = rel.wait_for(lambda: len(_ckpts(rd)) > n0, 240, p)
        if not ok:
            assert p.poll() == 0, p.stderr.read().decode()[-3000:]
            break  # finished before we could kill it
        time.sleep(rng.uniform(0, 0.5))
        p.kill()
        kills += p.wait(30) == -9
        p.stderr.close()
        _check_run_dir(rel, rd, model)
    assert kills >= 1, "the run always finished before the kill: make it longer (LONGER)"
    r = subprocess.run(base + (["--resume"] if _ckpts(rd) else []), env=rel.gan_env(), cwd=tmp_path,
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    assert "completed at step" in r.stdout
    step = _check_run_dir(rel, rd, model)
    print(f"{model}: {kills} SIGKILLs, resumed to step {step}")

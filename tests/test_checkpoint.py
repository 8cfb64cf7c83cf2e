import errno
import os
import pickle

import pytest
import torch

from gan.checkpoint import CheckpointManager, atomic_save, load_checkpoint, rng_state, set_rng_state
from gan.errors import GanError


def _state(step):
    return {"format": "ganforge-checkpoint", "model": "toy-gan", "step": step,
            "w": torch.full((3,), float(step))}


def test_keep_last_and_latest(tmp_path):
    cm = CheckpointManager(tmp_path, keep_last=2)
    for s in (1, 2, 3):
        cm.save(_state(s), s)
    assert [p.name for p in cm.list()] == ["ckpt-00000002.pt", "ckpt-00000003.pt"]
    path, state = cm.latest()
    assert state["step"] == 3 and path.name == "ckpt-00000003.pt"
    assert not list(tmp_path.glob(".*tmp*"))


def test_temp_files_of_killed_writes_are_removed_and_live_ones_kept(tmp_path):
    import subprocess
    import sys
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True).stdout.strip()
    orphan = tmp_path / f".ckpt-00000004.pt.tmp-{dead}"  # a write SIGKILLed midway
    in_flight = tmp_path / f".ckpt-00000004.pt.tmp-{os.getppid()}"  # a live process's write
    unrelated = tmp_path / "notes.tmp-1"
    for p in (orphan, in_flight, unrelated):
        p.write_bytes(b"partial")
    cm = CheckpointManager(tmp_path, keep_last=2)
    cm.save(_state(5), 5)
    assert not orphan.exists() and in_flight.exists() and unrelated.exists()
    assert [p.name for p in cm.list()] == ["ckpt-00000005.pt"]


def test_truncated_newest_checkpoint_falls_back_to_previous(tmp_path):
    cm = CheckpointManager(tmp_path, keep_last=3)
    cm.save(_state(1), 1)
    p2 = cm.save(_state(2), 2)
    p2.write_bytes(p2.read_bytes()[:50])
    with pytest.raises(GanError, match="cannot be loaded safely"):
        load_checkpoint(p2)
    with pytest.warns(UserWarning, match="skipping unreadable checkpoint"):
        path, state = cm.latest()
    assert state["step"] == 1


def test_checkpoint_of_other_model_is_refused(tmp_path):
    cm = CheckpointManager(tmp_path)
    cm.save(_state(1), 1)
    with pytest.raises(GanError, match="is for model 'toy-gan', not 'dcgan'"):
        cm.latest(expect_model="dcgan")


class _Evil:
    def __reduce__(self):
        return (os.system, ("echo pwned > /tmp/ganforge_pwned",))


def test_pickle_that_executes_code_is_rejected(tmp_path):
    p = tmp_path / "ckpt-00000001.pt"
    with open(p, "wb") as f:
        pickle.dump({"format": "ganforge-checkpoint", "x": _Evil()}, f)
    if os.path.exists("/tmp/ganforge_pwned"):
        os.remove("/tmp/ganforge_pwned")
    with pytest.raises(GanError, match="cannot be loaded safely"):
        load_checkpoint(p)
    assert not os.path.exists("/tmp/ganforge_pwned")
    torch_p = tmp_path / "evil.pt"
    torch.save({"format": "ganforge-checkpoint", "x": _Evil()}, torch_p)
    with pytest.raises(GanError, match="cannot be loaded safely"):
        load_checkpoint(torch_p)
    assert not os.path.exists("/tmp/ganforge_pwned")


def test_zero_byte_and_foreign_files(tmp_path):
    z = tmp_path / "z.pt"
    z.write_bytes(b"")
    with pytest.raises(GanError):
        load_checkpoint(z)
    f = tmp_path / "f.pt"
    torch.save({"weights": torch.zeros(2)}, f)
    with pytest.raises(GanError, match="not a ganforge checkpoint"):
        load_checkpoint(f)


def test_full_disk_keeps_previous_checkpoint(tmp_path, monkeypatch):
    cm = CheckpointManager(tmp_path)
    first = cm.save(_state(1), 1)
    before = first.read_bytes()
    real_save = torch.save

    def full_disk(obj, f, *a, **k):
        f.write(b"partial")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(torch, "save", full_disk)
    with pytest.raises(GanError, match=r"No space left on device.*previous checkpoint .*ckpt-00000001.pt is intact"):
        cm.save(_state(2), 2)
    monkeypatch.setattr(torch, "save", real_save)
    assert first.read_bytes() == before
    assert [p.name for p in cm.list()] == ["ckpt-00000001.pt"]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_rng_state_round_trip_is_weights_only_loadable(tmp_path):
    import random

    import numpy as np
    torch.manual_seed(1)
    s = rng_state()
    atomic_save(s, tmp_path / "rng.pt")
    loaded = torch.load(tmp_path / "rng.pt", weights_only=True)
    a = (torch.rand(3), np.random.rand(3), random.random())
    set_rng_state(loaded)
    b = (torch.rand(3), np.random.rand(3), random.random())
    assert torch.equal(a[0], b[0]) and np.array_equal(a[1], b[1]) and a[2] == b[2]

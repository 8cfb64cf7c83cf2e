"""Sample snapshots during training: when to take them and the index that lists them.

A run is watched, not waited for: without snapshots a 5,000-step run shows nothing until it ends.
The cadence is steady in both the run's own progress and wall time — a snapshot every
``run.sample_fraction`` of each stage (5 % by default, so every stage shows about 20 whatever its
length) and at least every ``run.sample_minutes`` (so a slow stage of a few long steps still shows
something), and always at the end of a stage. ``run.sample_every=N`` replaces the fraction with a fixed
step interval. Recipes draw snapshots from fixed latents / held-out inputs, so one snapshot compares
with the next.

Each snapshot appends one line to ``<run_dir>/samples/snapshots.jsonl`` (step, stage, wall time, the
files written, relative to ``samples/``); ``gan report`` builds its timeline from that index.
Sampling is side-effect free (RNG streams restored), so the wall-time trigger cannot change training.
"""

from __future__ import annotations

import json
import math
import os
import time
from pathlib import Path
from typing import Any

INDEX = "snapshots.jsonl"


class SnapshotSchedule:
    """Decides after each step whether a snapshot is due."""

    def __init__(self, config: Any, clock: Any = time.monotonic) -> None:
        self.every = int(getattr(config, "sample_every", 0) or 0)
        self.fraction = float(getattr(config, "sample_fraction", 0.0) or 0.0)
        self.seconds = 60.0 * float(getattr(config, "sample_minutes", 0.0) or 0.0)
        self._clock = clock
        self._last = clock()

    def interval(self, stage_steps: int) -> int:
        """Steps between snapshots within a stage of ``stage_steps`` steps (0 = none by steps)."""
        if self.every:
            return self.every
        if self.fraction <= 0 or stage_steps <= 0:
            return 0
        return max(1, math.ceil(stage_steps * self.fraction))

    def due(self, stage_step: int, stage_steps: int, *, final: bool = False) -> bool:
        """True when a snapshot should be taken after ``stage_step`` steps of the stage.

        ``final``: this step ends the stage or the run; the trainer snapshots there anyway, so the
        schedule says no (one snapshot per step, never two).
        """
        if final:
            return False
        k = self.interval(stage_steps)
        if k and stage_step % k == 0:
            return True
        return bool(self.seconds) and self._clock() - self._last >= self.seconds

    def taken(self) -> None:
        """Restart the wall-time clock (called after every snapshot, scheduled or not)."""
        self._last = self._clock()


def record(samples_dir: Path, step: int, stage: str | None, stage_step: int,
           paths: list[Path] | None) -> dict[str, Any]:
    """Append the snapshot's line to the index (one ``write`` per line: a reader never sees half a
    line glued to the next). Returns the record."""
    samples_dir = Path(samples_dir)
    files = []
    for p in paths or []:
        p = Path(p)
        try:
            files.append(str(p.resolve().relative_to(samples_dir.resolve())))
        except ValueError:
            files.append(str(p))
    rec = {"step": int(step), "stage": stage, "stage_step": int(stage_step), "time": time.time(),
           "files": files}
    samples_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(samples_dir / INDEX, os.O_WRONLY | os.O_CREAT | os.O_APPEND | getattr(os, "O_NOFOLLOW", 0),
                 0o644)
    with os.fdopen(fd, "a", encoding="utf-8") as f:
        f.write(json.dumps(rec, sort_keys=True) + "\n")
    return rec


def read_index(samples_dir: Path) -> list[dict[str, Any]]:
    """The snapshots of a run, one per step (a resumed run's later record of a step wins), in step
    order. Tolerates a missing index and a torn last line (the run may still be writing)."""
    path = Path(samples_dir) / INDEX
    by_step: dict[int, dict[str, Any]] = {}
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return []
    for line in text.splitlines():
        try:
            rec = json.loads(line)
        except ValueError:
            continue
        if isinstance(rec, dict) and isinstance(rec.get("step"), int):
            by_step[rec["step"]] = rec
    return [by_step[k] for k in sorted(by_step)]

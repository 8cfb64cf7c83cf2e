"""One progress bar per stage, in that stage's own units.

A single bar over all stages lies: SeqGAN's 936 MLE batches take seconds each while its 8 adversarial
rounds take minutes each, so one bar's ETA says 2 s when minutes remain. Each stage therefore gets its
own tqdm bar — named by the stage (``[2/3] pretrain_d``), counting that stage's steps (a recipe may
name the unit with a ``unit`` attribute on its :class:`gan.protocols.Stage`, e.g. ``"round"``), with the
ETA from that stage's speed and that stage's latest logged values in the postfix.

Quiet when ``run.progress`` is false or stderr is not a terminal (logs, CI, pipes): tqdm's
``disable=None`` checks the terminal.
"""

from __future__ import annotations

from typing import Any

# logged keys worth showing, most useful first; other keys of the stage follow until MAX_POSTFIX
_PREFERRED = ("loss", "acc_real", "acc_fake", "d_real", "d_fake", "real", "fake", "adv", "l1")
MAX_POSTFIX = 6


class StageProgress:
    """The bars of one ``fit()``; ``enabled=False`` makes every method a no-op."""

    def __init__(self, enabled: bool, stages: list[Any], stream: Any = None) -> None:
        self.enabled = enabled
        self.stages = stages
        self.stream = stream
        self.bar: Any = None
        self.index: int | None = None

    def start(self, index: int, done: int, limit: int | None = None) -> None:
        """Open the bar of stage ``index`` with ``done`` of its steps already done (a resume) and
        at most ``limit`` steps to go in this run (``max_steps``)."""
        if not self.enabled or index == self.index:
            return
        self.close()
        from tqdm.auto import tqdm
        stage = self.stages[index]
        total = stage.steps if limit is None else min(stage.steps, done + max(0, limit))
        self.bar = tqdm(total=total, initial=done, desc=f"[{index + 1}/{len(self.stages)}] {stage.name}",
                        unit=getattr(stage, "unit", None) or "step", dynamic_ncols=True, leave=True,
                        disable=None, file=self.stream, smoothing=0.1)
        self.index = index

    def update(self, n: int = 1) -> None:
        if self.bar is not None:
            self.bar.update(n)

    def show(self, logs: dict[str, float]) -> None:
        """Put the stage's latest logged values in the postfix (replacing the previous ones)."""
        if self.bar is not None and logs:
            self.bar.set_postfix(postfix_items(logs), refresh=False)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
        self.bar, self.index = None, None


def postfix_items(logs: dict[str, float], limit: int = MAX_POSTFIX) -> dict[str, str]:
    """``{"D/loss": 0.693, "G/loss": 1.2, "time/steps_per_s": 3}`` → ``{"D/loss": "0.693", ...}``:
    phase values only (time and eval keys are left to the bar and the report), preferred names
    first, at most ``limit``."""
    keys = [k for k in logs if "/" in k and not k.startswith(("time/", "eval/"))]

    def rank(k: str) -> tuple[int, int]:
        name = k.split("/")[-1]
        return (_PREFERRED.index(name) if name in _PREFERRED else len(_PREFERRED), keys.index(k))

    return {k: f"{logs[k]:.3g}" for k in sorted(keys, key=rank)[:limit]}


STATUS_FILE = "status.json"


def write_status(run_dir: Any, status: str, step: int, stages: list[Any], limit: int | None = None) -> None:
    """``<run_dir>/status.json``: where the run stands (running / completed / interrupted / failed,
    the step, each stage's length and unit), rewritten atomically at start and end, so ``gan report``
    can tell a finished run from one in progress and place each stage on the step axis."""
    if run_dir is None:
        return
    import json
    import time
    from pathlib import Path

    from .checkpoint import atomic_write_text
    start = 0
    rows = []
    for s in stages:
        rows.append({"name": s.name, "steps": int(s.steps), "unit": getattr(s, "unit", "step"),
                     "first_step": start + 1, "last_step": start + int(s.steps)})
        start += int(s.steps)
    rec = {"status": status, "step": int(step), "total_steps": start, "max_steps": limit,
           "stages": rows, "time": time.time()}
    atomic_write_text(Path(run_dir) / STATUS_FILE, json.dumps(rec, indent=2) + "\n")

"""The training-health monitor: the signals practitioners watch, and alarms when a run is failing.

A GAN run fails quietly: the losses keep printing while the discriminator has won, the generator
has collapsed onto one mode, or the weights are on their way to infinity. The trainer hands this
monitor every flushed log interval (host floats, already synced for ``metrics.jsonl``), so watching
costs no extra device sync; the one extra cost is the recipe's diversity signal, computed at log
time on a small fixed sample.

What recipes log for it (see :func:`d_stats`): ``<D phase>/acc_real`` and ``acc_fake`` (D's accuracy
on each side), ``d_real`` / ``d_fake`` (D(x) and D(G(z)) means); the trainer adds every phase's
``grad_norm``. A recipe may define ``health_diversity() -> (name, value)``, higher = more diverse
(classes covered, modes covered, 1 - self-BLEU, mean |output - input|).

Alarms (each once per episode: it fires when its condition has held ``patience`` intervals, and
again only after the condition has cleared):

``d_wins``
    D's accuracy ≥ 0.99 on real and on fake, or its adversarial loss in [0, 1e-3), for ``patience``
    consecutive intervals: G gets no useful gradient any more.
``g_loss_rising``
    G's adversarial loss rose in each of ``patience`` consecutive intervals and by at least 50 % of
    its starting value over them.
``explosion``
    a loss or gradient norm is not finite, or exceeds ``explode_factor`` (1000) × its magnitude in
    the first interval (floor 1), at once (no patience: one interval is enough).
``collapse``
    the diversity signal fell below ``(1 - collapse_drop)`` × its best value so far for ``patience``
    consecutive intervals.

Each alarm is one warning line on stderr and a ``{"alarm": KIND, "step": N, ...}`` record in
``metrics.jsonl``. ``run.on_alarm=stop`` stops the run after writing a checkpoint (status
``stopped``); ``off`` disables the monitor.
"""

from __future__ import annotations

import math
import sys
import time
from dataclasses import dataclass, field
from typing import Any

import torch


def decision_threshold(objective: Any) -> float | None:
    """The score above which D calls a sample real: 0 for logits and hinge scores, ``(a + b)/2`` for
    least squares; ``None`` (a critic has no threshold) means the midpoint of the batch means."""
    name = getattr(objective, "name", "")
    if name in ("minimax", "non-saturating", "hinge"):
        return 0.0
    if name == "least-squares":
        return 0.5 * (objective.a + objective.b)
    return None


def d_stats(real: torch.Tensor, fake: torch.Tensor, objective: Any = None) -> dict[str, torch.Tensor]:
    """D's health statistics for one batch, as device tensors for the phase's logs.

    ``acc_real`` / ``acc_fake``: fraction of reals scored above the decision threshold and of fakes
    below it. ``d_real`` / ``d_fake``: mean D(x), D(G(z)) — probabilities σ(score) for the
    probabilistic objectives (the papers' D(x)), raw scores otherwise.
    """
    real, fake = real.detach().float(), fake.detach().float()
    thr = decision_threshold(objective)
    t = 0.5 * (real.mean() + fake.mean()) if thr is None else thr
    prob = getattr(objective, "name", "") in ("minimax", "non-saturating")
    return {"acc_real": (real > t).float().mean(), "acc_fake": (fake < t).float().mean(),
            "d_real": real.sigmoid().mean() if prob else real.mean(),
            "d_fake": fake.sigmoid().mean() if prob else fake.mean()}


@dataclass
class HealthThresholds:
    """When each alarm fires (see the module docstring)."""

    patience: int = 5  # consecutive log intervals a condition must hold
    d_win_accuracy: float = 0.99  # D's accuracy on both sides at or above this: D has won
    d_win_loss: float = 1e-3  # or its adversarial loss below this (and >= 0)
    g_rise_min: float = 0.5  # G's loss must rise by this fraction of its start over the window
    explode_factor: float = 1e3  # a loss / grad norm this many times its first magnitude explodes
    collapse_drop: float = 0.5  # diversity this fraction below its best is a collapse


@dataclass
class HealthMonitor:
    """Watches flushed log intervals; returns alarm records (see the module docstring)."""

    thresholds: HealthThresholds = field(default_factory=HealthThresholds)
    alarms: list[dict[str, Any]] = field(default_factory=list)
    _count: dict[str, int] = field(default_factory=dict)
    _active: set[str] = field(default_factory=set)
    _g_history: list[float] = field(default_factory=list)
    _first: dict[str, float] = field(default_factory=dict)
    _best_diversity: float | None = None

    # --- the conditions ---------------------------------------------------------------------------
    @staticmethod
    def _pick(logs: dict[str, float], *keys: str) -> float | None:
        for k in keys:
            if k in logs:
                return logs[k]
        return None

    def _d_wins(self, logs: dict[str, float]) -> dict[str, Any] | None:
        t = self.thresholds
        acc_r = [v for k, v in logs.items() if k.endswith("/acc_real")]
        acc_f = [v for k, v in logs.items() if k.endswith("/acc_fake")]
        loss = self._pick(logs, "D/adv", "D/loss")
        by_acc = bool(acc_r and acc_f and min(acc_r) >= t.d_win_accuracy and min(acc_f) >= t.d_win_accuracy)
        by_loss = loss is not None and 0.0 <= loss < t.d_win_loss
        if by_acc or by_loss:
            return {"acc_real": min(acc_r) if acc_r else None, "acc_fake": min(acc_f) if acc_f else None,
                    "d_loss": loss}
        return None

    def _g_rising(self, logs: dict[str, float]) -> dict[str, Any] | None:
        g = self._pick(logs, "G/adv", "G/loss")
        if g is None or not math.isfinite(g):
            return None
        h = self._g_history
        h.append(g)
        p = self.thresholds.patience
        del h[:-(p + 1)]
        if len(h) < p + 1:
            return None
        rising = all(b > a for a, b in zip(h, h[1:]))
        if rising and h[-1] - h[0] >= self.thresholds.g_rise_min * max(abs(h[0]), 0.1):
            return {"g_loss": h[-1], "g_loss_start": h[0], "intervals": p}
        return None

    def _explosion(self, logs: dict[str, float]) -> dict[str, Any] | None:
        bad = {}
        for k, v in logs.items():
            if not (k.endswith("/loss") or k.endswith("/grad_norm") or k.endswith("/adv")):
                continue
            if not math.isfinite(v):
                bad[k] = v
                continue
            if k not in self._first:
                self._first[k] = abs(v)
            elif abs(v) > self.thresholds.explode_factor * max(self._first[k], 1.0):
                bad[k] = v
        return {"values": {k: str(v) if not math.isfinite(v) else v for k, v in bad.items()}} if bad else None

    def _collapse(self, diversity: tuple[str, float] | None) -> dict[str, Any] | None:
        if diversity is None:
            return None
        name, value = diversity
        if not math.isfinite(value):
            return None
        best = self._best_diversity
        self._best_diversity = value if best is None else max(best, value)
        if best is not None and best > 0 and value <= (1 - self.thresholds.collapse_drop) * best:
            return {"signal": name, "value": value, "best": best}
        return None

    # --- the interval -----------------------------------------------------------------------------
    def observe(self, step: int, logs: dict[str, float],
                diversity: tuple[str, float] | None = None) -> list[dict[str, Any]]:
        """Feed one flushed interval; returns the alarms that fire now (also kept in ``alarms``)."""
        fired = []
        checks = {"explosion": (self._explosion(logs), 1), "d_wins": (self._d_wins(logs), None),
                  "g_loss_rising": (self._g_rising(logs), 1), "collapse": (self._collapse(diversity), None)}
        for kind, (detail, need) in checks.items():
            need = need or self.thresholds.patience
            if detail is None:
                self._count[kind] = 0
                self._active.discard(kind)
                continue
            self._count[kind] = self._count.get(kind, 0) + 1
            if self._count[kind] >= need and kind not in self._active:
                self._active.add(kind)
                rec = {"alarm": kind, "step": step, "time": time.time(), **detail}
                fired.append(rec)
        self.alarms.extend(fired)
        return fired


def check_interval(trainer: Any, logs: dict[str, float], stage: Any = None) -> None:
    """The trainer's call at every flushed interval: diversity signal, alarms, warning lines,
    ``metrics.jsonl`` records and, with ``on_alarm=stop``, the stop request (the trainer then writes
    a checkpoint and ends with status ``stopped``)."""
    monitor: HealthMonitor | None = getattr(trainer, "health", None)
    if monitor is None:
        return
    diversity = None
    signal = getattr(trainer.recipe, "health_diversity", None)
    if signal is not None:
        with trainer._side_effect_free(), torch.no_grad():
            diversity = signal()
        if diversity is not None:
            logs[f"health/{diversity[0]}"] = float(diversity[1])
    for rec in monitor.observe(trainer.step, logs, diversity):
        if stage is not None:
            rec["stage"] = stage.name
        if trainer.is_main:
            detail = ", ".join(f"{k}={_short(v)}" for k, v in rec.items()
                               if k not in ("alarm", "step", "time", "stage"))
            print(f"warning: health alarm {rec['alarm']} at step {rec['step']}: {detail}", file=sys.stderr)
            if trainer._metrics is not None:
                trainer._metrics.write(rec)
        if trainer.config.on_alarm == "stop":
            trainer._stop_signal = "alarm"


def _short(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{k}: {_short(x)}" for k, x in v.items()) + "}"
    return str(v)


def monitor_for(config: Any) -> HealthMonitor | None:
    """The monitor a run gets from its :class:`gan.config.RunConfig` (``None`` with ``on_alarm=off``)."""
    if getattr(config, "on_alarm", "warn") == "off":
        return None
    return HealthMonitor(HealthThresholds(patience=getattr(config, "health_patience", 5)))


__all__ = ["decision_threshold", "d_stats", "HealthThresholds", "HealthMonitor", "check_interval", "monitor_for"]

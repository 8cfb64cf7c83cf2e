"""The adversarial trainer: stages × phases × repeats.

Recipes say *what* each phase computes (:meth:`Recipe.loss`); this module says *how* it is run:
freezing (only the phase's modules get gradients), zero_grad, backward, gradient clipping,
optimizer and scheduler steps, AMP (bf16 autocast on CUDA; fp16 with a GradScaler on request), EMA
of generators, ``torch.compile``, DDP wrapping, logging, evaluation, samples and checkpoints.

Design choices worth knowing:

* Logged values stay on the device and are summed there; the host sees them only every
  ``log_every`` steps (one sync), so logging costs nothing in the hot path.
* Non-finite losses are detected without a per-step host sync: the first bad (step, phase) is
  recorded in a device tensor and checked at every log and before every checkpoint, so no
  checkpoint ever holds NaN weights and the error names the exact phase and step. With
  ``on_nonfinite="skip"`` the check must gate the optimizer step, so that mode syncs every phase.
* Under DDP each trained module is wrapped on its own, and inside a phase only the phase's modules
  are called through their wrappers (:class:`gan.protocols.Nets`); frozen networks are called raw, so
  DDP's reducer only ever sees the parameters that phase trains.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import threading
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import torch
from torch import nn

from .checkpoint import FORMAT, FORMAT_VERSION, CheckpointManager, atomic_write_text, rng_state, \
    seed_everything, set_rng_state
from .config import RunConfig, to_jsonable
from .data import dist_info
from .errors import DataError, GanError, GanWarning, NonFiniteLossError, NotEnoughDataError
from .protocols import LossOutput, Nets, Phase, Recipe, Stage


#: unbroken fp16 overflows after which the gradients count as non-finite: the scale has halved
#: from 2**16 to below 2**-24, where no fp16 gradient is representable any more
AMP_MAX_OVERFLOW_STREAK = 40


def resolve_device(name: str) -> torch.device:
    """``auto`` → CUDA when present, else CPU; ``cuda`` without a GPU is a clear error."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(name)
    except RuntimeError:
        raise GanError(f"--device {name!r}: expected auto, cpu, cuda or cuda:N") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise GanError(f"--device {name}: CUDA is not available on this machine (use auto or cpu)")
    if dev.type not in ("cpu", "cuda"):
        raise GanError(f"--device {name!r}: expected auto, cpu, cuda or cuda:N")
    return dev


class MetricsLog:
    """Appends one JSON object per line; each line is a single ``write`` so a kill never leaves a
    half line that later lines glue onto (a torn tail is dropped on the next open).

    ``resume_step``: the step training continues from. Records of later steps were written by the
    run that was killed after its last checkpoint; the resumed run logs those steps again, so they
    are dropped (the file is rewritten atomically) rather than left as duplicates. 0 (a fresh
    start) drops every record of an earlier attempt that never reached a checkpoint.
    """

    def __init__(self, path: Path, resume_step: int) -> None:
        self.path = path
        if path.is_symlink():
            raise GanError(f"{path} is a symbolic link; a run writes only inside its run directory")
        if path.exists():
            lines = path.read_bytes().splitlines(keepends=True)
            # a line without its newline is the torn tail of a killed write
            kept = [ln for ln in lines if ln.endswith(b"\n") and _keep_record(ln, resume_step)]
            if len(kept) != len(lines):
                atomic_write_text(path, b"".join(kept).decode("utf-8", "replace"))
        self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | getattr(os, "O_NOFOLLOW", 0), 0o644)

    def write(self, record: dict[str, Any]) -> None:
        # one os.write per line: a reader (gan report) sees whole lines or none of one
        data = (json.dumps(record, sort_keys=True, default=str) + "\n").encode("utf-8")
        try:
            os.write(self._fd, data)
        except OSError as e:
            e.filename = e.filename or str(self.path)
            raise

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


class AdversarialTrainer:
    """Runs a :class:`Recipe`.

    Args:
        recipe: the built recipe (models on its device).
        config: execution settings.
        run_dir: where config, metrics, checkpoints and samples go; ``None`` keeps nothing on disk.
        pm: the :class:`gan.plugins.GanPluginManager` whose lifecycle hooks are called.
        cli_options: values of plugin-added ``gan run`` options.
    """

    def __init__(self, recipe: Recipe, config: RunConfig | None = None, run_dir: str | Path | None = None,
                 pm: Any = None, cli_options: dict[str, Any] | None = None) -> None:
        self.recipe = recipe
        self.config = config or RunConfig()
        self.run_dir = Path(run_dir) if run_dir is not None else None
        self.pm = pm
        self.cli_options = cli_options or {}
        self.rank, self.world = dist_info()
        # DDP whenever a process group exists, one rank included (torchrun --nproc-per-node 1)
        self.distributed = torch.distributed.is_available() and torch.distributed.is_initialized()
        self.is_main = self.rank == 0
        self.device = recipe.device
        self.step = 0
        self.stage_index = 0
        self.stage_step = 0
        self.status = "new"
        self.last_checkpoint: Path | None = None
        self._stop_signal: int | str | None = None  # a signal number, "alarm", or "peer" (another rank's)
        self.ckpt = CheckpointManager(self.run_dir / "checkpoints", self.config.keep_last) \
            if self.run_dir else None
        recipe.run_dir = self.run_dir

        amp = self.config.amp
        if amp == "auto":
            amp = "bf16" if self.device.type == "cuda" else "off"
        self.amp_dtype = {"off": None, "bf16": torch.bfloat16, "fp16": torch.float16}[amp]
        self.scaler = torch.amp.GradScaler(self.device.type, enabled=amp == "fp16")

        self._trainable: dict[str, list[nn.Parameter]] = {
            name: [p for p in m.parameters() if p.requires_grad] for name, m in recipe.models.items()}
        trained = {n for stage in recipe.stages() for ph in recipe.phases(stage) for n in ph.module_names}
        unknown = trained - set(recipe.models)
        if unknown:
            raise GanError(f"recipe {recipe.name!r}: phases name unknown modules {sorted(unknown)}")
        if self.config.channels_last and self.device.type == "cuda":
            for m in recipe.models.values():
                m.to(memory_format=torch.channels_last)
        self.wrapped: dict[str, nn.Module] = {}
        for name in sorted(trained):
            m = recipe.models[name]
            if self.distributed and self._trainable[name]:
                from torch.nn.parallel import DistributedDataParallel as DDP
                ids = [self.device.index] if self.device.type == "cuda" else None
                m = DDP(m, device_ids=ids, broadcast_buffers=True)
            if self.config.compile:
                m = torch.compile(m)
            if m is not recipe.models[name]:
                self.wrapped[name] = m
        # the ranks agree on stopping over a CPU (gloo) group: NCCL's would cost a device sync per step
        self._stop_group: Any = None
        if self.distributed and torch.distributed.get_backend() != "gloo":
            self._stop_group = torch.distributed.new_group(backend="gloo")
        ema_decay = self.config.ema_decay if self.config.ema_decay is not None else recipe.default_ema_decay
        if ema_decay:
            from .ema import averaged
            for name in recipe.ema_models:
                if name in recipe.models:
                    recipe.ema[name] = averaged(recipe.models[name], ema_decay)
        self._log_sums: dict[str, torch.Tensor] = {}
        self._log_counts: dict[str, int] = {}  # per key: a phase with repeats/every logs more/less often
        self._bad = torch.full((), -1, dtype=torch.long, device=self.device)
        self._phase_codes: dict[str, int] = {}
        self._metrics: MetricsLog | None = None
        self._snapshots: Any = None  # gan.snapshots.SnapshotSchedule while fit() runs
        self._eval_skipped: set[str] = set()
        self._amp_overflows = torch.zeros((), dtype=torch.long, device=self.device)  # since the last log
        self._amp_streak: dict[str, torch.Tensor] = {}  # per phase: overflows in a row
        self._t_last_log = time.perf_counter()
        self._steps_at_last_log = 0
        from .health import monitor_for
        self.health = monitor_for(self.config)  # training-health alarms (gan.health)

    # --- state ------------------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        r = self.recipe
        rng = rng_state()
        if self.world > 1:
            gathered: list[Any] = [None] * self.world
            torch.distributed.all_gather_object(gathered, rng)
            rng = {"per_rank": gathered}
        return {
            "format": FORMAT, "format_version": FORMAT_VERSION,
            "model": r.name, "step": self.step, "stage_index": self.stage_index,
            "stage_step": self.stage_step,
            "models": {k: m.state_dict() for k, m in r.models.items()},
            "optimizers": {k: o.state_dict() for k, o in r.optimizers.items()},
            "schedulers": {k: s.state_dict() for k, s in r.schedulers.items()},
            "ema": {k: e.state_dict() for k, e in r.ema.items()},
            "scaler": self.scaler.state_dict(),
            "rng": rng,
            "recipe": r.extra_state(),
            "config": json.dumps(to_jsonable(r.config), sort_keys=True),
            "run": json.dumps(to_jsonable(self.config), sort_keys=True),
        }

    def load_state_dict(self, state: dict[str, Any], *, weights_only: bool = False) -> None:
        """Restore a checkpoint; ``weights_only`` restores models and EMA alone (sampling, eval)."""
        r = self.recipe
        if state.get("model") != r.name:
            raise GanError(f"checkpoint is for model {state.get('model')!r}, not {r.name!r}")
        try:
            for k, m in r.models.items():
                m.load_state_dict(state["models"][k])
            for k, e in r.ema.items():
                if k in state.get("ema", {}):
                    e.load_state_dict(state["ema"][k])
                else:  # saved without an EMA (older run, import, EMA switched on since): restart it
                    # from the loaded weights, or sampling would read the freshly initialised copy
                    e.module.load_state_dict(r.models[k].state_dict())
                    e.n_averaged.zero_()
            if weights_only:
                return
            for k, o in r.optimizers.items():
                o.load_state_dict(state["optimizers"][k])
            for k, s in r.schedulers.items():
                s.load_state_dict(state["schedulers"][k])
        except (KeyError, RuntimeError, ValueError) as e:
            lines = [ln.strip() for ln in str(e).strip().splitlines() if ln.strip()] or [repr(e)]
            # torch's first line is only a heading ("Error(s) in loading state_dict for X:")
            first = lines[1] if lines[0].startswith("Error(s) in loading") and len(lines) > 1 else lines[0]
            raise GanError(f"checkpoint does not match model {r.name!r} with this config "
                           f"(different preset, --set values or data?): {first[:240]}") from None
        self.scaler.load_state_dict(state["scaler"])
        rng = state["rng"]
        if "per_rank" in rng:
            if len(rng["per_rank"]) != self.world:
                raise GanError(f"checkpoint was written by {len(rng['per_rank'])} processes; "
                               f"resume with the same number (now {self.world})")
            rng = rng["per_rank"][self.rank]
        set_rng_state(rng)
        r.load_extra_state(state.get("recipe", {}))
        self.step, self.stage_index, self.stage_step = state["step"], state["stage_index"], state["stage_step"]

    def resume(self, path: str | Path | None = None) -> Path | None:
        """Load ``path`` or the newest readable checkpoint of the run directory."""
        from .checkpoint import load_checkpoint
        if path is not None:
            state, found = load_checkpoint(path, self.recipe.name), Path(path)
        else:
            if self.ckpt is None:
                raise GanError("--resume needs --run-dir")
            latest = self.ckpt.latest(self.recipe.name)
            if latest is None:
                raise GanError(f"--resume: {self.ckpt.none_found()}")
            found, state = latest
        self.load_state_dict(state)
        self.last_checkpoint = found
        return found

    def save_checkpoint(self) -> Path | None:
        self._check_finite()
        if self.ckpt is None and self.world == 1:
            return None
        state = self.state_dict()  # collective under DDP: every rank takes part
        path = None
        if self.is_main and self.ckpt is not None:
            path = self.ckpt.save(state, self.step)
            self.last_checkpoint = path
            self._hook("gan_on_checkpoint", trainer=self, path=path)
        if self.world > 1:
            torch.distributed.barrier()
        return path

    # --- running ----------------------------------------------------------------------------------
    def _hook(self, name: str, **kwargs: Any) -> None:
        if self.pm is not None:
            self.pm.call(name, **kwargs)

    def _autocast(self) -> contextlib.AbstractContextManager:
        if self.amp_dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=self.amp_dtype)

    def _activate(self, phase: Phase | None) -> None:
        """Only ``phase``'s modules get gradients; ``None`` makes every module trainable again."""
        active = phase.module_names if phase else tuple(self._trainable)
        for name, params in self._trainable.items():
            flag = name in active
            for p in params:
                p.requires_grad_(flag)
        self.recipe.nets = Nets(self.recipe.models, self.wrapped, active if phase else ())

    def _plugin_note(self) -> str:
        try:
            return f" from plugin {self.pm.plugin_of_model(self.recipe.name)!r}" if self.pm else ""
        except Exception:  # noqa: BLE001 - the note must never mask the real error
            return ""

    def _record(self, prefix: str, logs: dict[str, Any]) -> None:
        for k, v in logs.items():
            key = f"{prefix}/{k}"
            v = v.detach().float().mean() if isinstance(v, torch.Tensor) else torch.tensor(float(v))
            v = v.to(self.device)
            self._log_sums[key] = self._log_sums[key] + v if key in self._log_sums else v.clone()
            # per-key counts: a phase run n_critic times a step logs its mean, not n_critic × it
            self._log_counts[key] = self._log_counts.get(key, 0) + 1

    def _flag_nonfinite(self, value: torch.Tensor, phase: Phase) -> None:
        code = self._phase_codes.setdefault(phase.name, len(self._phase_codes))
        bad = ~torch.isfinite(value.detach()).all()
        tag = torch.tensor(self.step * 1000 + code, device=self.device)
        self._bad = torch.where((self._bad < 0) & bad, tag, self._bad)

    def _nonfinite_error(self, code: int) -> NonFiniteLossError:
        step, pcode = divmod(code, 1000)
        phase = next((n for n, c in self._phase_codes.items() if c == pcode), "?")
        last = self.last_checkpoint or "none (no checkpoint written yet)"
        return NonFiniteLossError(f"non-finite loss or gradient in phase {phase!r} at step {step + 1}; "
                                  f"last good checkpoint: {last}")

    def _check_finite(self) -> None:
        code = int(self._bad.item())
        if code >= 0:
            raise self._nonfinite_error(code)

    def run_phase(self, phase: Phase, batch: Any, scratch: dict[str, Any]) -> LossOutput:
        r = self.recipe
        opt = r.optimizers[phase.optimizer]
        opt.zero_grad(set_to_none=True)
        try:
            with self._autocast():
                out = r.loss(phase, batch, self.step, scratch)
        except GanError:
            raise
        except Exception as e:
            e.add_note(f"(in model {r.name!r}{self._plugin_note()}, phase {phase.name!r}, "
                       f"step {self.step + 1})")
            raise
        if out.loss is None:
            self._record(phase.name, out.logs)
            return out
        loss = out.loss
        skip_mode = self.config.on_nonfinite == "skip"
        if skip_mode and not bool(torch.isfinite(loss.detach())):
            self._record(phase.name, {"skipped": 1.0})
            return out
        self.scaler.scale(loss).backward()
        params = [p for n in phase.module_names for p in self._trainable[n]]
        scaling = self.scaler.is_enabled()
        if scaling:
            self.scaler.unscale_(opt)  # clipping, norms and checks see the true gradients
        if phase.grad_clip is not None:
            grad_norm = torch.nn.utils.clip_grad_norm_(params, phase.grad_clip)
            out.logs.setdefault("grad_norm", grad_norm)
        else:
            # a finite loss can still have NaN/inf gradients; one fused norm catches them
            grads = [p.grad for p in params if p.grad is not None]
            grad_norm = _total_norm(grads) if grads else torch.zeros((), device=self.device)
            out.logs.setdefault("grad_norm", grad_norm)  # watched by the health monitor
        if scaling:
            grad_norm = self._amp_overflow(grad_norm, loss, phase, out, skip_mode)
        elif skip_mode and not bool(torch.isfinite(grad_norm)):
            opt.zero_grad(set_to_none=True)
            self._record(phase.name, {"skipped": 1.0})
            return out
        if not skip_mode and not scaling:
            self._flag_nonfinite(loss.detach().float() + grad_norm.float(), phase)
        self.scaler.step(opt)
        self.scaler.update()
        self._record(phase.name, {"loss": loss, **out.logs})
        return out

    def _amp_overflow(self, grad_norm: torch.Tensor, loss: torch.Tensor, phase: Phase, out: LossOutput,
                      skip_mode: bool) -> torch.Tensor:
        """fp16 with a GradScaler: non-finite gradients of the scaled backward are overflows, which
        the scaler owns (it skips that optimizer step and lowers its scale); they are counted, not
        errors. Only a finite-loss check and a long unbroken run of overflows (the scale has
        fallen to nothing, so the gradients themselves are NaN/inf) stop the run."""
        overflow = ~torch.isfinite(grad_norm)
        self._amp_overflows = self._amp_overflows + overflow.long()
        streak = self._amp_streak.get(phase.name, torch.zeros((), dtype=torch.long, device=self.device))
        streak = self._amp_streak[phase.name] = torch.where(overflow, streak + 1, torch.zeros_like(streak))
        if not skip_mode:
            stuck = torch.where(streak > AMP_MAX_OVERFLOW_STREAK, float("nan"), 0.0)
            self._flag_nonfinite(loss.detach().float() + stuck, phase)
        finite = torch.where(overflow, torch.zeros_like(grad_norm), grad_norm)
        if "grad_norm" in out.logs:
            out.logs["grad_norm"] = finite
        return finite

    def train_step(self, stage: Stage, phases: list[Phase]) -> None:
        r = self.recipe
        scratch: dict[str, Any] = {}
        batch = None
        updated = False  # has an optimizer step of this trainer step run yet
        for phase in phases:
            if self.step % phase.every:
                continue
            self._activate(phase)
            for _ in range(phase.repeats_for(self.step)):
                if phase.fresh_batch or batch is None:
                    try:
                        batch = r.prepare_batch(r.next_batch(stage, phase))
                    except GanError as e:
                        raise DataError(str(e), before_update=not updated) from None
                self.run_phase(phase, batch, scratch)
                updated = True
        self._activate(None)
        self.step += 1
        self.stage_step += 1
        for s in r.schedulers.values():
            s.step()
        for name, ema in r.ema.items():
            ema.update_parameters(r.models[name])
        r.after_step(stage, self.step)

    def _flush_logs(self, stage: Stage) -> dict[str, float]:
        if not self._log_sums:
            return {}
        keys = list(self._log_sums)
        stacked = [self._log_sums[k] for k in keys]
        if self.scaler.is_enabled():  # a count, not a mean: optimizer steps the GradScaler skipped
            stacked.append(self._amp_overflows.float())
        values = torch.stack(stacked).tolist()  # the one host sync
        # each key is the mean over the times it was logged (D×5 repeats, G every 2nd step ...);
        # counters ("skipped") are totals over the interval
        logs = {k: v if k.endswith("/skipped") else v / self._log_counts[k] for k, v in zip(keys, values)}
        if self.scaler.is_enabled():
            logs["amp/overflow_steps"] = values[-1]
            logs["amp/scale"] = float(self.scaler.get_scale())
            self._amp_overflows.zero_()
        now = time.perf_counter()
        steps = self.step - self._steps_at_last_log
        logs["time/steps_per_s"] = steps / max(now - self._t_last_log, 1e-9)
        self._t_last_log, self._steps_at_last_log = now, self.step
        self._log_sums, self._log_counts = {}, {}
        from .health import check_interval
        check_interval(self, logs, stage)  # alarms are written before a non-finite value stops the run
        self._check_finite()
        if self.is_main:
            if self._metrics:
                self._metrics.write({"step": self.step, "stage": stage.name, "time": time.time(), **logs})
            self._hook("gan_on_step_end", trainer=self, step=self.step, logs=logs)
        return logs

    @contextlib.contextmanager
    def _side_effect_free(self) -> Iterator[None]:
        """Evaluation and sampling must not change training: same RNG streams, eval-mode nets.

        Without this, a run cut by ``max_steps`` (which evaluates) and resumed would diverge from
        an uninterrupted one.
        """
        from .modes import eval_mode
        state = rng_state()
        try:
            with eval_mode(*self.recipe.models.values()):
                yield
        finally:
            set_rng_state(state)

    def evaluate(self, stage: Stage | None = None, full: bool = False) -> dict[str, Any]:
        self._check_finite()
        with self._side_effect_free():
            try:
                results = self.recipe.evaluate(full=full) or {}
            except NotEnoughDataError as e:  # training is fine; only this figure cannot be had
                if self.is_main and str(e) not in self._eval_skipped:
                    self._eval_skipped.add(str(e))
                    warnings.warn(f"evaluation at step {self.step} skipped: {e}", GanWarning, stacklevel=2)
                return {}
        protocol = results.pop("protocol", None) if isinstance(results, dict) else None
        floats = {f"eval/{k}": float(v) for k, v in results.items() if isinstance(v, (int, float))}
        extras = {k: v for k, v in results.items() if not isinstance(v, (int, float))}
        if self.is_main:
            if self._metrics:
                rec = {"step": self.step, "stage": stage.name if stage else None, "time": time.time(),
                       **floats}
                if protocol is not None or extras:
                    rec["protocol"] = to_jsonable({**(protocol or {}), **extras})
                self._metrics.write(rec)
            self._hook("gan_on_evaluate", trainer=self, step=self.step, results=floats)
        if protocol is not None:
            floats["protocol"] = protocol
        return floats

    def _samples(self, stage: Stage | None = None) -> None:
        self._check_finite()
        if self._snapshots is not None:
            self._snapshots.taken()
        if self.is_main and self.run_dir is not None:
            from .snapshots import record
            with self._side_effect_free():
                paths = self.recipe.save_samples(self.run_dir / "samples", self.step)
            record(self.run_dir / "samples", self.step, stage.name if stage else None, self.stage_step, paths)
            self._hook("gan_on_samples", trainer=self, step=self.step, paths=list(paths or []))

    @contextlib.contextmanager
    def _signals(self) -> Iterator[None]:
        if threading.current_thread() is not threading.main_thread():
            yield
            return

        def handler(signum: int, frame: Any) -> None:
            self._stop_signal = signum

        old = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
        try:
            yield
        finally:
            for s, h in old.items():
                signal.signal(s, h)

    def _stop_agreed(self) -> bool:
        """Whether to stop after this step: a signal or a health alarm on any rank stops every rank.

        A signal reaches the ranks at different moments (torchrun forwards it to each, ``kill`` hits
        one), and an alarm is judged on each rank's own logs. A rank that stopped alone would enter
        the checkpoint's collectives while the others run the next step's: a hang or a torn run.
        One tiny all-reduce per step (MAX of 0 = go on, 1 = signal, 2 = alarm) keeps them in step.
        """
        if not self.distributed:
            return self._stop_signal is not None
        mine = 0 if self._stop_signal is None else 2 if self._stop_signal == "alarm" else 1
        flag = torch.tensor([mine], dtype=torch.int32)
        torch.distributed.all_reduce(flag, op=torch.distributed.ReduceOp.MAX, group=self._stop_group)
        agreed = int(flag.item())
        if agreed and self._stop_signal is None:
            self._stop_signal = "alarm" if agreed == 2 else "peer"
        elif agreed == 2:  # one rank's alarm and another's signal: every rank reports the alarm
            self._stop_signal = "alarm"
        return agreed > 0

    def verify_replicas(self) -> bool:
        """Under DDP: SHA-256 of every model's parameters and buffers on each rank, compared.

        DDP keeps replicas identical only if every rank runs the same phases on the same modules;
        a diverged replica silently trains a different model, so the trainer checks at the end of a
        run and records the digests in ``replicas.json``.
        """
        import hashlib
        digests = {}
        for name, m in sorted(self.recipe.models.items()):
            h = hashlib.sha256()
            for t in list(m.state_dict().values()):
                h.update(t.detach().cpu().contiguous().view(-1).view(torch.uint8).numpy().tobytes())
            digests[name] = h.hexdigest()
        gathered: list[Any] = [None] * self.world
        torch.distributed.all_gather_object(gathered, digests)
        identical = all(g == gathered[0] for g in gathered)
        if self.is_main and self.run_dir is not None:
            atomic_write_text(self.run_dir / "replicas.json", json.dumps(
                {"step": self.step, "identical": identical, "ranks": gathered}, indent=2) + "\n")
        if not identical:
            raise GanError(f"DDP replicas diverged by step {self.step}: parameters differ between "
                           f"ranks (see {self.run_dir}/replicas.json)")
        return identical

    def _write_run_files(self) -> None:
        if not (self.is_main and self.run_dir is not None):
            return
        self.run_dir.mkdir(parents=True, exist_ok=True)
        from . import __version__
        cfg = {"model": self.recipe.name, "config": to_jsonable(self.recipe.config),
               "run": to_jsonable(self.config), "data": getattr(self.recipe, "data_name", None),
               "data_root": getattr(self.recipe, "data_root", None),
               "versions": {"ganforge": __version__, "torch": torch.__version__},
               "world_size": self.world}
        atomic_write_text(self.run_dir / "config.json", json.dumps(cfg, indent=2, sort_keys=True) + "\n")
        self._metrics = MetricsLog(self.run_dir / "metrics.jsonl", resume_step=self.step)

    def fit(self) -> dict[str, Any]:
        """Train until every stage is done, ``max_steps`` is reached or a signal arrives."""
        r = self.recipe
        stages = r.stages()
        total = sum(s.steps for s in stages)
        limit = min(total, self.config.max_steps) if self.config.max_steps is not None else total
        if self.step == 0 and self.last_checkpoint is None:
            seed_everything(self.config.seed + self.rank)
        self._write_run_files()
        self._hook("gan_on_run_start", trainer=self)
        if self.step == 0 and self.config.eval_at_start and limit > 0:
            self.evaluate(stages[0] if stages else None)
        from .progress import StageProgress, write_status
        from .snapshots import SnapshotSchedule
        bar = StageProgress(self.is_main and self.config.progress and limit > self.step, stages)
        if self.is_main:
            write_status(self.run_dir, "running", self.step, stages, self.config.max_steps)
        self._snapshots = SnapshotSchedule(self.config)
        results: dict[str, Any] = {}
        evaluated_at = -1
        stop = False
        self.status = "running"
        try:
            with self._signals():
                while self.stage_index < len(stages) and self.step < limit:
                    stage = stages[self.stage_index]
                    if self.stage_step >= stage.steps:
                        self.stage_index += 1
                        self.stage_step = 0
                        continue
                    phases = r.phases(stage)
                    bar.start(self.stage_index, self.stage_step, limit - self.step)
                    while self.stage_step < stage.steps and self.step < limit:
                        self.train_step(stage, phases)
                        bar.update(1)
                        c = self.config
                        if c.log_every and self.step % c.log_every == 0:
                            bar.show(self._flush_logs(stage))
                        if c.eval_every and self.step % c.eval_every == 0:
                            results = self.evaluate(stage)
                        if self._snapshots.due(self.stage_step, stage.steps,
                                               final=self.stage_step >= stage.steps or self.step >= limit):
                            self._samples(stage)
                        if c.ckpt_every and self.step % c.ckpt_every == 0:
                            self.save_checkpoint()
                        if self._stop_agreed():
                            stop = True
                            break
                    if stop:  # as agreed, not as this rank's flag now: a late signal waits a step
                        self._flush_logs(stage)
                        self.save_checkpoint()
                        self.status = "stopped" if self._stop_signal == "alarm" else "interrupted"
                        break
                    bar.show(self._flush_logs(stage))
                    if self.stage_step >= stage.steps:  # stage finished (not cut by max_steps)
                        self.save_checkpoint()  # before evaluating: a failing evaluation keeps the model
                        results = self.evaluate(stage)
                        self._samples(stage)
                        evaluated_at = self.step
                        self.stage_index += 1
                        self.stage_step = 0
                else:
                    if self.step < total and evaluated_at != self.step:  # cut by max_steps
                        stage = stages[min(self.stage_index, len(stages) - 1)]
                        self._flush_logs(stage)
                        self.save_checkpoint()
                        results = self.evaluate(stage)
                        self._samples(stage)
                    self.status = "completed"
            if self.distributed:
                self.verify_replicas()
        except (RuntimeError, MemoryError) as e:
            self.status = "failed"
            from .sizes import is_out_of_memory, out_of_memory_error
            if is_out_of_memory(e):
                raise out_of_memory_error(e, f"training {r.name!r} at step {self.step + 1}", r.config,
                                          self.config) from None
            if "DataLoader worker" in str(e):  # noticed by torch's SIGCHLD handler mid-step
                from .data import worker_died_error
                raise worker_died_error(e) from None  # the pools are shut down in `finally`
            if self.world > 1 and _is_peer_failure(e):
                last = self.last_checkpoint or "none written yet"
                raise GanError(f"a peer process of this {self.world}-process run failed near step "
                               f"{self.step + 1} (rank {self.rank} lost its connection: "
                               f"{str(e).splitlines()[0][:100]}); resume from {last} with --resume"
                               ) from None
            raise
        except DataError as e:
            self.status = "failed"
            if e.before_update and self.step > 0 and self.ckpt is not None:
                # nothing of this step has run: the state is that of the last finished step
                if self.last_checkpoint is None or self.ckpt.step_of(self.last_checkpoint) != self.step:
                    self.save_checkpoint()
                raise DataError(f"{e} (checkpoint of step {self.step}: {self.last_checkpoint}; fix or "
                                f"remove the file, then --resume)") from None
            last = self.last_checkpoint or "none written yet"
            raise DataError(f"{e} (last checkpoint: {last})") from None
        except BaseException:
            self.status = "failed"
            raise
        finally:
            if self.status == "failed":
                from .data import shutdown_workers
                shutdown_workers()
            bar.close()
            self._snapshots = None
            if self.is_main and self.status != "new":
                with contextlib.suppress(Exception):
                    write_status(self.run_dir, self.status, self.step, stages, self.config.max_steps)
            if self.status != "new":
                with contextlib.suppress(Exception):
                    self._hook("gan_on_run_end", trainer=self, status=self.status)
            if self._metrics:
                self._metrics.close()
                self._metrics = None
        return results


def _keep_record(line: bytes, resume_step: int) -> bool:
    try:
        step = json.loads(line).get("step")
    except (ValueError, AttributeError):
        return True  # not ours to judge: keep it
    return not isinstance(step, int) or (resume_step > 0 and step <= resume_step)


def _is_peer_failure(e: RuntimeError) -> bool:
    msg = str(e)
    return any(k in msg for k in ("Connection reset", "Connection closed", "Broken pipe", "gloo",
                                  "NCCL", "ProcessGroup", "Socket", "timed out", "Timeout"))


def _total_norm(grads: list[torch.Tensor]) -> torch.Tensor:
    if hasattr(torch.nn.utils, "get_total_norm"):  # torch >= 2.6: fused
        return torch.nn.utils.get_total_norm(grads)
    return torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(g) for g in grads]))

"""Checkpoints: atomic writes, keep-last-N, full training state, safe loading.

A checkpoint is one ``torch.save`` file holding only tensors and Python primitives, so it loads
with ``torch.load(weights_only=True)``: a tampered file cannot execute code. It is written to a
temporary file in the same directory, flushed and fsynced, then renamed over the final name — a
crash or a full disk mid-write leaves the previous checkpoints intact.
"""

from __future__ import annotations

import os
import random
import re
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .errors import GanError, GanWarning

FORMAT = "ganforge-checkpoint"
FORMAT_VERSION = 1
_NAME = re.compile(r"^ckpt-(\d{8,})\.pt$")
_TMP = re.compile(r"^\.ckpt-\d{8,}\.pt\.tmp-(\d+)$")  # what _atomic_write leaves when killed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by someone else
    return True


def _fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _atomic_write(path: str | Path, write: Any, mode: str) -> Path:
    """Write via ``write(f)`` to a temp file in the same directory, fsync, then rename over ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        with open(tmp, mode, **({"encoding": "utf-8"} if "b" not in mode else {})) as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException as e:
        tmp.unlink(missing_ok=True)
        if isinstance(e, OSError) and e.filename is None:
            e.filename = str(path)  # a failing write (ENOSPC) names no file; the user needs one
        raise
    _fsync_dir(path.parent)
    return path


def atomic_save(obj: Any, path: str | Path) -> Path:
    """``torch.save`` to ``path`` atomically."""
    return _atomic_write(path, lambda f: torch.save(obj, f), "wb")


def atomic_write_text(path: str | Path, text: str) -> Path:
    """Write ``text`` to ``path`` atomically."""
    return _atomic_write(path, lambda f: f.write(text), "w")


def _verify_zip(p: Path) -> None:
    """torch.load does not check the zip records' CRC-32; bit rot or tampering would load silently."""
    import zipfile
    try:
        with zipfile.ZipFile(p) as z:
            bad = z.testzip()
    except Exception as e:  # noqa: BLE001 - damaged bytes reach zipfile/zlib code paths that raise
        # BadZipFile, zlib.error, RuntimeError ("encrypted"), NotImplementedError (compression
        # method), struct.error, ...: all mean the same thing to the user.
        raise GanError(f"checkpoint {p}: cannot be loaded safely (corrupt, truncated or not a "
                       f"ganforge checkpoint): {e}") from None
    if bad is not None:
        raise GanError(f"checkpoint {p}: record {bad} fails its CRC check (corrupted or altered)")


def load_checkpoint(path: str | Path, expect_model: str | None = None) -> dict[str, Any]:
    """Load a checkpoint safely (``weights_only=True``) and check it is one of ours."""
    p = Path(path)
    if not p.is_file():
        raise GanError(f"checkpoint {p}: file not found")
    _verify_zip(p)
    try:
        state = torch.load(p, map_location="cpu", weights_only=True)
    except Exception as e:  # noqa: BLE001 - truncated zips, tampered pickles, wrong formats
        raise GanError(f"checkpoint {p}: cannot be loaded safely: {_refusal_reason(e)}") from None
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise GanError(f"checkpoint {p}: not a ganforge checkpoint")
    if expect_model is not None and state.get("model") != expect_model:
        raise GanError(f"checkpoint {p} is for model {state.get('model')!r}, "
                       f"not {expect_model!r}")
    return state


_GLOBAL = re.compile(r"GLOBAL ([\w.]+)")


def _refusal_reason(e: Exception) -> str:
    """Why ``torch.load(weights_only=True)`` refused a file, in one short clause. torch's own
    message opens with paragraphs of advice (to load unsafely) before the reason."""
    msg = str(e)
    if "Weights only load failed" in msg or "WeightsUnpickler" in msg:
        m = _GLOBAL.search(msg)
        if m:
            return f"holds a pickled callable {m.group(1)}; refused (it could run code)"
        detail = next((ln.split("WeightsUnpickler error:", 1)[1].strip() for ln in msg.splitlines()
                       if "WeightsUnpickler error:" in ln), "")
        return f"holds pickled objects other than tensors and plain data ({detail[:120] or 'unsupported'}); refused"
    first = msg.strip().splitlines()[0] if msg.strip() else type(e).__name__
    return f"corrupt, truncated or not a ganforge checkpoint ({first[:160]})"


class CheckpointManager:
    """``<run_dir>/checkpoints/ckpt-<step>.pt`` with keep-last-N pruning."""

    def __init__(self, directory: str | Path, keep_last: int = 3) -> None:
        self.directory = Path(directory)
        self.keep_last = max(1, int(keep_last))
        self._cleaned = False
        self.refused: list[Path] = []  # files latest() skipped, each reported in one warning

    @staticmethod
    def step_of(path: Path) -> int:
        m = _NAME.match(path.name)
        return int(m.group(1)) if m else -1

    def path_for(self, step: int) -> Path:
        return self.directory / f"ckpt-{step:08d}.pt"

    def list(self) -> list[Path]:
        if not self.directory.is_dir():
            return []
        found = [(int(m.group(1)), p) for p in self.directory.iterdir()
                 if (m := _NAME.match(p.name))]
        return [p for _, p in sorted(found)]

    def remove_orphans(self) -> list[Path]:
        """Delete temp files left by checkpoint writes whose process is gone (a SIGKILL or power
        loss mid-write). They are never read, only take disk space; a file of a live process (say
        another rank still writing) is left alone."""
        removed = []
        if not self.directory.is_dir():
            return removed
        for p in self.directory.iterdir():
            m = _TMP.match(p.name)
            if m is None or (int(m.group(1)) != os.getpid() and _alive(int(m.group(1)))):
                continue
            p.unlink(missing_ok=True)
            removed.append(p)
        return removed

    def save(self, state: dict[str, Any], step: int) -> Path:
        path = self.path_for(step)
        if not self._cleaned:
            self._cleaned = True
            self.remove_orphans()
        previous = self.list()
        try:
            atomic_save(state, path)
        except (OSError, RuntimeError) as e:
            # torch.save reports a failing write (ENOSPC, EFBIG) as a RuntimeError from its zip writer
            if isinstance(e, RuntimeError) and not _is_write_failure(e):
                raise
            last = next((p for p in reversed(previous) if p != path), None)
            kept = f"the previous checkpoint {last} is intact" if last else "no earlier checkpoint exists"
            why = e.strerror if isinstance(e, OSError) and e.strerror else str(e).splitlines()[0][:120]
            raise GanError(f"could not write checkpoint {path} ({why}); {kept}") from None
        # Prune by step relative to the checkpoint just written, never by name order alone: a stale
        # newer file (unreadable, from an abandoned branch) must not push the fresh ones out.
        older = [p for p in self.list() if self.step_of(p) < step]
        for old in older[:max(0, len(older) - (self.keep_last - 1))]:
            old.unlink(missing_ok=True)
        return path

    def latest(self, expect_model: str | None = None) -> tuple[Path, dict[str, Any]] | None:
        """The newest checkpoint that loads; each newer one that does not is reported (one warning
        naming the file and the reason) and counted in ``refused``."""
        self.refused = []
        for p in reversed(self.list()):
            try:
                return p, load_checkpoint(p, expect_model)
            except GanError as e:
                if "is for model" in str(e):
                    raise
                self.refused.append(p)
                warnings.warn(f"skipping unreadable checkpoint: {e}", GanWarning, stacklevel=2)
        return None

    def none_found(self) -> str:
        """``no checkpoint in DIR`` with the count of refused files, for the final error."""
        refused = f" ({len(self.refused)} file(s) refused, each named above)" if self.refused else ""
        return f"no checkpoint in {self.directory}{refused}"


def _is_write_failure(e: RuntimeError) -> bool:
    msg = str(e)
    return any(k in msg for k in ("unexpected pos", "file write failed", "No space left",
                                  "Disk quota", "File too large", "inline_container"))


# --- RNG state ----------------------------------------------------------------------------------
def rng_state() -> dict[str, Any]:
    """Every RNG a run consumes, in weights_only-loadable form."""
    np_state = np.random.get_state()
    state: dict[str, Any] = {
        "torch": torch.get_rng_state(),
        "python": list(random.getstate()[1]),
        "python_version": random.getstate()[0],
        "python_gauss": random.getstate()[2],
        "numpy": {"keys": torch.from_numpy(np_state[1].astype(np.int64)), "pos": int(np_state[2]),
                  "has_gauss": int(np_state[3]), "cached_gaussian": float(np_state[4])},
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    torch.set_rng_state(state["torch"])
    random.setstate((state["python_version"], tuple(state["python"]), state["python_gauss"]))
    n = state["numpy"]
    np.random.set_state(("MT19937", n["keys"].numpy().astype(np.uint32), n["pos"], n["has_gauss"],
                         n["cached_gaussian"]))
    if "cuda" in state and torch.cuda.is_available():
        for i, s in enumerate(state["cuda"][: torch.cuda.device_count()]):
            torch.cuda.set_rng_state(s, i)


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)

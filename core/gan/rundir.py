"""One writer per run directory, any number of readers.

``gan run`` holds an exclusive OS lock (``flock``) on ``<run-dir>/.lock`` for as long as it runs.
The kernel drops the lock when the process ends, however it ends (SIGKILL included), so a killed
run never leaves a stale lock behind; the pid and host written into the file serve only the
message a second run prints. Readers (``gan sample``, ``gan eval``, ``gan report``) take no lock:
every file a run writes is either replaced atomically (checkpoints, config.json, samples) or
appended one whole line per ``write`` (metrics.jsonl, resume_history.jsonl), and
:func:`read_jsonl` ignores a last line that is not finished yet.
"""

from __future__ import annotations

import json
import os
import socket
import time
from pathlib import Path
from typing import Any

from .errors import GanError

try:  # POSIX; on other systems the lock is a no-op (documented in the README)
    import fcntl
except ImportError:  # pragma: no cover
    fcntl = None  # type: ignore[assignment]

LOCK_FILE = ".lock"
RESUME_HISTORY = "resume_history.jsonl"


class RunLock:
    """Exclusive lock on a run directory (a context manager); ``GanError`` naming the holder if taken."""

    def __init__(self, run_dir: str | Path) -> None:
        self.run_dir = Path(run_dir)
        self.path = self.run_dir / LOCK_FILE
        self._fd: int | None = None

    def busy_error(self, holder: str) -> GanError:
        return GanError(f"--run-dir {self.run_dir} is in use by another gan run ({holder}); "
                        f"wait for it to finish or choose another --run-dir")

    def check_free(self) -> None:
        """Raise the busy error if another process holds the lock now; takes and creates nothing."""
        if fcntl is None or not self.path.is_file():
            return
        try:
            fd = os.open(self.path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0))
        except OSError:
            return
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            raise self.busy_error(_holder(fd)) from None
        finally:
            os.close(fd)

    def acquire(self) -> RunLock:
        self.run_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0)
                     | getattr(os, "O_CLOEXEC", 0), 0o644)
        if fcntl is not None:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = _holder(fd)
                os.close(fd)
                raise self.busy_error(holder) from None
        os.ftruncate(fd, 0)
        os.write(fd, json.dumps({"pid": os.getpid(), "host": socket.gethostname(),
                                 "since": time.strftime("%Y-%m-%d %H:%M:%S")}).encode() + b"\n")
        self._fd = fd
        return self

    def release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)  # closing the descriptor drops the flock

    def __enter__(self) -> RunLock:
        return self.acquire()

    def __exit__(self, *exc: Any) -> None:
        self.release()


def _holder(fd: int) -> str:
    try:
        info = json.loads(os.pread(fd, 4096, 0).decode("utf-8") or "{}")
        return f"pid {info['pid']} on host {info['host']}, since {info.get('since', '?')}"
    except (OSError, ValueError, KeyError, TypeError):
        return "holder unknown: the lock file is being written"


def append_jsonl(path: str | Path, record: dict[str, Any]) -> None:
    """Append ``record`` as one line with a single ``write`` (readers never see half of it)."""
    data = (json.dumps(record, sort_keys=True, default=str) + "\n").encode("utf-8")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | getattr(os, "O_NOFOLLOW", 0), 0o644)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)


def read_jsonl(path: str | Path) -> list[dict[str, Any]]:
    """Complete records of a JSON-lines file that may be being appended to right now: a last line
    without its newline is an unfinished write and is left out, as is any line that is not JSON."""
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError:
        return []
    records = []
    for line in data.split(b"\n")[:-1]:  # the part after the last newline is unfinished
        try:
            rec = json.loads(line)
        except ValueError:
            continue
        if isinstance(rec, dict):
            records.append(rec)
    return records

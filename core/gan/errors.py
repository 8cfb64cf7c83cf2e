"""User-facing errors.

Anything a user can cause (a bad flag, a missing file, a corrupt checkpoint) raises :class:`GanError`
with a one-line message that names the offending value and what was expected. The CLI prints it as
``error: <message>`` and exits with code 2; a traceback is shown only with ``--debug``.
"""

from __future__ import annotations

import errno
from collections.abc import Iterable


class GanError(Exception):
    """A problem the user can fix; the message is printed as one line."""

    exit_code = 2


class PluginError(GanError):
    """A plugin failed to import, to register, or broke a contract."""


class NonFiniteLossError(GanError):
    """A loss or gradient became NaN/inf; the message names phase, step and the last good checkpoint."""


class DataError(GanError):
    """Reading training data failed mid-run (a file changed or vanished after the dataset was
    opened). ``before_update``: no optimizer step of the current trainer step had run yet, so the
    trainer's state is exactly that of the last finished step and can be checkpointed."""

    def __init__(self, message: str, before_update: bool = False) -> None:
        super().__init__(message)
        self.before_update = before_update


class NotEnoughDataError(GanError):
    """An evaluation cannot run on this little data. Training catches it and skips that
    evaluation with one line (the message says what is missing and what would make it run)."""


class GanWarning(UserWarning):
    """Something the user should know that does not stop the run; the CLI prints it as one
    ``warning:`` line (no source line)."""


#: errno values of OS errors the user causes and can fix (permissions, read-only or full disks,
#: missing or misplaced paths); the CLI turns them into one line naming the path, exit 2
USER_ERRNOS = frozenset(getattr(errno, n) for n in (
    "EACCES", "EPERM", "EROFS", "ENOSPC", "EDQUOT", "ENOENT", "ENOTDIR", "EISDIR", "EEXIST",
    "ENAMETOOLONG", "ELOOP", "EFBIG", "ENOTEMPTY", "EXDEV", "EMFILE", "ENFILE")
    if hasattr(errno, n))


def os_error_message(e: OSError, path: object = None) -> str:
    """``cannot use PATH: Read-only file system`` for a user-caused OS error."""
    where = e.filename if e.filename is not None else path
    why = e.strerror or str(e) or type(e).__name__
    if e.filename2 is not None:
        return f"{where} -> {e.filename2}: {why}"
    return f"{where}: {why}" if where is not None else why


def choices_error(kind: str, value: object, choices: Iterable[str]) -> GanError:
    """``unknown model 'dcgn'; choose from: cgan, dcgan, ...`` — the one shape every name error takes."""
    listed = ", ".join(sorted(choices)) or "(none registered)"
    return GanError(f"unknown {kind} {value!r}; choose from: {listed}")

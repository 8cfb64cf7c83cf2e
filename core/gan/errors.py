"""User-facing errors.

Anything a user can cause (a bad flag, a missing file, a corrupt checkpoint) raises :class:`GanError`
with a one-line message that names the offending value and what was expected. The CLI prints it as
``error: <message>`` and exits with code 2; a traceback is shown only with ``--debug``.
"""

from __future__ import annotations

from collections.abc import Iterable


class GanError(Exception):
    """A problem the user can fix; the message is printed as one line."""

    exit_code = 2


class PluginError(GanError):
    """A plugin failed to import, to register, or broke a contract."""


class NonFiniteLossError(GanError):
    """A loss or gradient became NaN/inf; the message names phase, step and the last good checkpoint."""


def choices_error(kind: str, value: object, choices: Iterable[str]) -> GanError:
    """``unknown model 'dcgn'; choose from: cgan, dcgan, ...`` — the one shape every name error takes."""
    listed = ", ".join(sorted(choices)) or "(none registered)"
    return GanError(f"unknown {kind} {value!r}; choose from: {listed}")

"""The process exit codes users and CI pipelines rely on, in one place (docs/product.md).

Nothing else in the package may hard-code an exit status. Click's usage-error status 2 is
remapped to ``ERROR`` by the CLI so it can never be read as "changes pending".
"""

from __future__ import annotations

import enum


class ExitCode(enum.IntEnum):
    """What a finished command tells its caller."""

    #: Success; for ``plan --detailed-exitcode``: nothing to change.
    OK = 0
    #: An error of any kind: bad input, usage, API failure, refused apply, unexpected crash.
    ERROR = 1
    #: ``plan --detailed-exitcode``: changes are pending and can be applied.
    CHANGES = 2
    #: Nothing applicable now, but work waits on someone else (a customer accepting an
    #: invitation, Microsoft support's Azure hand-off, a pending partner transfer).
    WAITING = 3
    #: Interrupted by the user (Ctrl-C); the conventional 128 + SIGINT.
    INTERRUPTED = 130

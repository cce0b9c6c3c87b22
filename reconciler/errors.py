"""The one error tree of the project.

Every failure a user can cause or meet is a ``ReconcilerError``: the CLI prints its message
(one paragraph: what, where, what to do) and exits 1, never a traceback. Anything that is not
a ``ReconcilerError`` is a bug; the CLI writes its traceback to a file and says where.

::

    ReconcilerError
    ├── UsageError            bad command-line arguments or paths
    ├── ManifestError         one or more manifest problems (carries all of them)
    ├── ConfigError           credentials, connection file, endpoints
    ├── ApiError              Partner Center said no (tree in partner_center.errors)
    ├── PlanError             the planner cannot produce a safe plan (ambiguous match, ...)
    ├── PlanFileError         a saved plan file cannot be read or has the wrong format
    ├── StalePlanError        a saved plan's live state has moved since planning
    ├── ApplyRefusedError     apply refused before any write (caps, approval, already applied)
    ├── LockHeldError         another writer holds the lock
    └── JournalError          the apply journal cannot be written (disk full, permissions)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


class ReconcilerError(Exception):
    """Base of every expected failure; its ``str`` is the user-facing message."""


class UsageError(ReconcilerError):
    """The command line asked for something that cannot be done as written."""


@dataclass(frozen=True, slots=True)
class Problem:
    """One problem found in a manifest, located precisely enough for an editor to jump to it.

    ``line`` and ``column`` are 1-based and point at the offending YAML node (not at the start
    of its document); ``path`` is a JSONPath such as ``$.subscriptions[1].quantity``.
    """

    file: str
    line: int
    column: int
    path: str
    message: str

    def render(self) -> str:
        """``file:line:col: $.json.path: sentence``: the format of ``reconciler validate``."""
        return f"{self.file}:{self.line}:{self.column}: {self.path}: {self.message}"


class ManifestError(ReconcilerError):
    """The manifests are not valid; carries every problem found, not just the first."""

    def __init__(self, problems: Sequence[Problem], *, files: int = 0) -> None:
        self.problems = tuple(problems)
        self.files = files
        super().__init__(self.summary())

    def summary(self) -> str:
        n = len(self.problems)
        noun = "problem" if n == 1 else "problems"
        listing = "\n".join(p.render() for p in self.problems)
        return f"{listing}\n{n} {noun} in the manifests; fix them and run `reconciler validate`."


class ConfigError(ReconcilerError):
    """Credentials, endpoints or the connection file are missing or wrong."""


class PlanError(ReconcilerError):
    """The planner refused to guess (for example an ambiguous match of target subscriptions)."""


class PlanFileError(ReconcilerError):
    """A saved plan file cannot be read, or was written by an incompatible version."""


class StalePlanError(ReconcilerError):
    """The live state of some customers moved since the saved plan was made."""

    def __init__(self, message: str, *, customers: Sequence[str]) -> None:
        self.customers = tuple(customers)
        super().__init__(message)


class ApplyRefusedError(ReconcilerError):
    """``apply`` refused to start: not approved, caps exceeded, plan already applied, ..."""


class LockHeldError(ReconcilerError):
    """Another apply holds the lock of the target tenant."""


class JournalError(ReconcilerError):
    """The apply journal cannot be written; no write is sent without its journal line."""

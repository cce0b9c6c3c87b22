"""What long commands (``plan``, ``apply``) tell the user while they work, all on stderr:

- ``--verbose``: one log line per Partner Center request (method, path, status, duration,
  attempt, MS-RequestId, MS-CorrelationId) and per retry;
- a final summary line (requests, retries, throttling waits, time): printed when stderr is a
  terminal, and with ``--verbose`` otherwise (so CI logs get it on request only);
- a progress bar while live state is read: only when stderr is a terminal, never in CI.

stdout is left alone, so ``plan --format json`` stays pure JSON whatever the flags. This module
must NOT hold business logic, print tokens, secrets or bodies, or write to stdout.
"""

from __future__ import annotations

import contextlib
import sys
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import IO, TYPE_CHECKING, Annotated, Protocol

import typer

if TYPE_CHECKING:
    from rich.progress import Progress, TaskID

    from reconciler.partner_center import client

VERBOSE_HELP = (
    "Log every Partner Center request (method, path, status, duration, request and correlation "
    "ids) and retry to stderr, and end with a summary line. Never tokens, secrets or bodies."
)
VerboseOpt = Annotated[bool, typer.Option("--verbose", "-v", help=VERBOSE_HELP)]


class Step(Protocol):
    """A progress report from the reader (``reading.Progress``): ``done`` of ``total`` customers
    of ``tenant`` have been read."""

    @property
    def tenant(self) -> str: ...
    @property
    def done(self) -> int: ...
    @property
    def total(self) -> int: ...


class Observer:
    """One command's request log, summary line and progress bars (see the module docstring).

    Use ``with Observer(verbose=...).session() as obs:``, hand it the clients with ``watch``,
    and pass ``obs.reading()``'s callback to the reader.
    """

    def __init__(
        self, *, verbose: bool, stream: IO[str] | None = None, tty: bool | None = None
    ) -> None:
        self.stream = sys.stderr if stream is None else stream
        self.tty = _isatty(self.stream) if tty is None else tty
        self.verbose = verbose
        self._clients: list[client.PartnerCenterClient] = []

    @property
    def wants_summary(self) -> bool:
        """On a terminal always; otherwise only when asked for with ``--verbose``."""
        return self.tty or self.verbose

    def watch(self, clients: Iterable[client.PartnerCenterClient]) -> None:
        """Count these clients' requests in the summary line."""
        self._clients.extend(clients)

    @contextlib.contextmanager
    def session(self) -> Iterator[Observer]:
        """The request log for the block (with ``--verbose``), then the summary line, which is
        printed even when the block fails: it says how hard the command tried."""
        from reconciler.partner_center import connect

        with connect.request_log(self.stream if self.verbose else None):
            try:
                yield self
            finally:
                if self._clients and self.wants_summary:
                    self.stream.write(connect.total_summary(self._clients) + "\n")
                    self.stream.flush()

    @contextlib.contextmanager
    def reading(self, what: str = "Reading") -> Iterator[Callable[[Step], None] | None]:
        """A progress callback for ``reading.read_live_state`` (``None`` off a terminal): one
        bar per tenant, removed when the read ends. Safe to call from worker threads."""
        if not self.tty:
            yield None
            return
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

        console = Console(file=self.stream, force_terminal=True)
        bars = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("customers"),
            console=console,
            transient=True,
            redirect_stdout=False,  # stdout is the command's output: never re-routed
            redirect_stderr=False,
        )
        with bars:
            yield TenantBars(bars, what)


class TenantBars:
    """The reader's progress callback: one bar per tenant, created on its first report."""

    def __init__(self, bars: Progress, what: str) -> None:
        self._bars = bars
        self._what = what
        # Reports come from the reader's worker threads; adding a task must happen once.
        self._lock = threading.Lock()
        self._tasks: dict[str, TaskID] = {}
        self._index: dict[TaskID, int] = {}  # position of each task in ``Progress.tasks``

    def __call__(self, step: Step) -> None:
        with self._lock:
            task = self._tasks.get(step.tenant)
            if task is None:
                task = self._bars.add_task(f"{self._what} {step.tenant}", total=step.total)
                self._tasks[step.tenant] = task
                self._index[task] = len(self._index)
            # Workers report out of order: a late "39 of 40" must not move the bar back.
            done = max(step.done, int(self._bars.tasks[self._index[task]].completed))
            self._bars.update(task, completed=done, total=step.total)

    def counts(self) -> dict[str, tuple[int, int]]:
        """(done, total) per tenant so far, for tests and the final state."""
        with self._lock:
            tasks = {t.id: t for t in self._bars.tasks}
            return {
                name: (int(tasks[tid].completed), int(tasks[tid].total or 0))
                for name, tid in self._tasks.items()
            }


def _isatty(stream: IO[str]) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # a closed or file-less stream is not a terminal
        return False

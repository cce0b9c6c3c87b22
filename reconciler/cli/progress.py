"""What long commands (``plan``, ``apply``) tell the user while they work, all on stderr:

- ``--verbose``: one log line per Partner Center request (method, path, status, duration,
  attempt, MS-RequestId, MS-CorrelationId) and per retry;
- a final summary line (requests, retries, throttling waits, time): printed when stderr is a
  terminal, and with ``--verbose`` otherwise (so CI logs get it on request only);
- progress bars per phase, only when stderr is a terminal, never in CI: while live state is
  read (signing in: tenants signed in of all; then one bar per tenant: customers read of the
  total, requests sent and answered 429), and while ``apply`` writes (one bar per stage: target
  side and source side steps done of their total, with the customers in flight and how many
  of them wait for provisioning or a transfer, and the requests and 429s so far).

stdout is left alone, so ``plan --format json`` stays pure JSON whatever the flags (apply's step
lines, printed while its bars are drawn on the same terminal, are drawn above the bars). This
module must NOT hold business logic, print tokens, secrets or bodies, or write to stdout.
"""

from __future__ import annotations

import contextlib
import sys
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import IO, TYPE_CHECKING, Annotated, Protocol

import typer

if TYPE_CHECKING:
    from collections.abc import Mapping

    from rich.progress import Progress, TaskID

    from reconciler.applying import steps
    from reconciler.partner_center import client

VERBOSE_HELP = (
    "Log every Partner Center request (method, path, status, duration, request and correlation "
    "ids) and retry to stderr, and end with a summary line. Never tokens, secrets or bodies."
)
VerboseOpt = Annotated[bool, typer.Option("--verbose", "-v", help=VERBOSE_HELP)]


class Step(Protocol):
    """A progress report from the reader (``reading.Progress``): ``done`` of ``total`` customers
    of ``tenant`` have been read (or, with ``phase`` "sign-in", ``done`` of ``total`` tenants
    have signed in)."""

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
        bars = self._bars(redirect_stdout=False)  # stdout is the command's output
        with bars:
            yield TenantBars(bars, what, self._requests)

    @contextlib.contextmanager
    def applying(self) -> Iterator[ApplyBars | None]:
        """Bars for apply's writes (``None`` off a terminal): feed them the plan's stage totals,
        each step and the workers' activity. Step lines printed on stdout meanwhile are drawn
        above the bars when stdout is the same terminal."""
        if not self.tty:
            yield None
            return
        bars = self._bars(redirect_stdout=_isatty(sys.stdout))
        with bars:
            yield ApplyBars(bars, self._requests)

    def _bars(self, *, redirect_stdout: bool) -> Progress:
        from rich.console import Console
        from rich.progress import BarColumn, Progress, TextColumn

        return Progress(
            TextColumn("{task.description}"),
            BarColumn(bar_width=24),
            TextColumn("{task.fields[count]}"),
            TextColumn("{task.fields[unit]}"),
            TextColumn("{task.fields[note]}", style="dim"),
            console=Console(file=self.stream, force_terminal=True),
            transient=True,
            redirect_stdout=redirect_stdout,
            redirect_stderr=False,
        )

    def _requests(self, tenant: str | None = None) -> tuple[int, int]:
        """Requests sent and answered 429 so far, by one tenant's client or all of them."""
        chosen = [c for c in self._clients if tenant is None or c.name == tenant]
        return (
            sum(c.stats.requests for c in chosen),
            sum(c.stats.throttled for c in chosen),
        )


Requests = Callable[..., tuple[int, int]]  # (tenant or None) -> (requests, 429s)


def _traffic(requests: Requests, tenant: str | None = None) -> str:
    sent, throttled = requests(tenant)
    return f"{sent} requests, {throttled} × 429"


#: The bar of the sign-in phase (tenants signed in), keyed apart from any tenant name.
SIGN_IN = "sign-in"


class TenantBars:
    """The reader's progress callback: a sign-in bar (tenants signed in), then one bar per
    tenant (customers read, the tenant's requests and 429s), each created on its first report."""

    def __init__(self, bars: Progress, what: str, requests: Requests | None = None) -> None:
        self._bars = bars
        self._what = what
        self._requests = requests or (lambda tenant=None: (0, 0))
        # Reports come from the reader's worker threads; adding a task must happen once.
        self._lock = threading.Lock()
        self._tasks: dict[str, TaskID] = {}
        self._index: dict[TaskID, int] = {}  # position of each task in ``Progress.tasks``

    def __call__(self, step: Step) -> None:
        signing_in = getattr(step, "phase", "customers") == SIGN_IN
        key = SIGN_IN if signing_in else step.tenant
        with self._lock:
            task = self._tasks.get(key)
            if task is None:
                described = "Signing in" if signing_in else f"{self._what} {step.tenant}"
                unit = "tenants" if signing_in else "customers"
                task = self._bars.add_task(
                    described, total=step.total, unit=unit, note="", count=""
                )
                self._tasks[key] = task
                self._index[task] = len(self._index)
            # Workers report out of order: a late "39 of 40" must not move the bar back.
            done = max(step.done, int(self._bars.tasks[self._index[task]].completed))
            note = "" if signing_in else _traffic(self._requests, step.tenant)
            count = f"{done}/{step.total}"
            self._bars.update(task, completed=done, total=step.total, note=note, count=count)

    def counts(self) -> dict[str, tuple[int, int]]:
        """(done, total) per tenant so far, for tests and the final state."""
        with self._lock:
            tasks = {t.id: t for t in self._bars.tasks}
            return {
                name: (int(tasks[tid].completed), int(tasks[tid].total or 0))
                for name, tid in self._tasks.items()
            }


class ApplyBars:
    """Apply's bars: one per stage (target side, source side) with its steps done of its total,
    and a line with the customers in flight, how many of them wait, and the requests so far.
    Called from the executor's workers (under its lock) and the command's thread."""

    def __init__(self, bars: Progress, requests: Requests | None = None) -> None:
        self._bars = bars
        self._requests = requests or (lambda tenant=None: (0, 0))
        self._lock = threading.Lock()
        self._stages: dict[str, TaskID] = {}
        self._done: dict[str, int] = {}
        self._totals: dict[str, int] = {}
        self._workers: TaskID | None = None
        self._now = (0, 0)

    def stages(self, totals: Mapping[steps.Stage, int]) -> None:
        """The plan's applicable changes per stage: a bar for each stage that has any."""
        with self._lock:
            for stage, total in totals.items():
                if total and stage.value not in self._stages:
                    label = STAGE_LABELS.get(stage.value, stage.value)
                    self._stages[stage.value] = self._bars.add_task(
                        label, total=total, unit="steps", note="", count=f"0/{total}"
                    )
                    self._done[stage.value], self._totals[stage.value] = 0, total
            self._workers = self._bars.add_task(
                "Customers in flight", total=None, unit="", note="", count=""
            )
            self._refresh()

    def step(self, result: steps.StepResult) -> None:
        """One step ended (whatever its outcome)."""
        from reconciler.applying import steps

        stage = steps.stage_of(result.change.action).value
        with self._lock:
            if stage in self._stages:
                self._done[stage] += 1
                done, total = self._done[stage], self._totals[stage]
                self._bars.update(self._stages[stage], completed=done, count=f"{done}/{total}")
            self._refresh()

    def activity(self, now: steps.Activity) -> None:
        """The workers' activity changed."""
        with self._lock:
            self._now = (now.in_flight, now.waiting)
            self._refresh()

    def _refresh(self) -> None:
        if self._workers is None:
            return
        in_flight, waiting = self._now
        self._bars.update(
            self._workers,
            count=str(in_flight),
            unit=f"({waiting} waiting for provisioning or a transfer)" if waiting else "",
            note=_traffic(self._requests),
        )

    def counts(self) -> dict[str, tuple[int, int]]:
        """(done, total) per stage so far, for tests."""
        with self._lock:
            return {name: (self._done[name], self._totals[name]) for name in self._stages}

    @property
    def in_flight(self) -> tuple[int, int]:
        """(customers in flight, of them waiting) as last reported."""
        with self._lock:
            return self._now


#: What each stage's bar is called (``steps.Stage`` values).
STAGE_LABELS = {
    "targets": "Target side (create, resize, transfer)",
    "sources": "Source side (suspend, cancel)",
}


def _isatty(stream: IO[str]) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # a closed or file-less stream is not a terminal
        return False

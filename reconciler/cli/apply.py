"""``reconciler apply``, ``reconciler unlock`` and ``reconciler journal export``: the commands of
applying.

``apply`` parses its options, asks for approval, prints each step as it completes and renders
the result of ``operations.apply.apply`` (which takes the lock, checks the plan, runs the
executor with its journal and reads live state again). This module holds no business logic
and makes no journal or lock call: decisions live in ``reconciler.applying`` and
``reconciler.planning``, their wiring in ``reconciler.operations``.
"""

from __future__ import annotations

import contextlib
import math
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from reconciler import errors, settings
from reconciler.cli import options, progress, runtime
from reconciler.exitcodes import ExitCode

if TYPE_CHECKING:  # imported inside the commands: start-up stays fast
    from reconciler.applying import blobconfig, steps
    from reconciler.operations.apply import ApplyResult
    from reconciler.planning import actions

_MARKS = {"succeeded": "ok", "failed": "FAILED", "skipped": "skipped", "unknown": "UNKNOWN"}


def _say(message: str) -> None:
    typer.echo(message, err=True)


def _approver(auto: bool) -> Callable[[actions.Plan], None]:
    def approve(plan: actions.Plan) -> None:
        from reconciler.rendering import text

        typer.echo(text.render(plan), nl=False)
        if auto:
            return
        if not sys.stdin.isatty():
            raise errors.ApplyRefusedError(
                "apply needs approval: this run is not interactive, so pass --auto-approve "
                "(CI) after reviewing the plan above. Nothing was changed."
            )
        answer = typer.prompt(
            "Apply these changes? Only 'yes' is accepted", default="", show_default=False
        )
        if answer.strip() != "yes":
            raise errors.ApplyRefusedError(
                "Apply cancelled: the answer was not 'yes'. Nothing changed."
            )

    return approve


def _print_step(r: steps.StepResult, done: int, total: int) -> None:
    """One line per step; the ``done/total`` count is the progress (also in CI logs)."""
    c = r.change
    count = f"({done}/{total}) "
    typer.echo(f"  {count}[{_MARKS[r.outcome.value]}] {c.action.value} {c.address}: {r.message}")


class _StageBars:
    """Apply's progress: the step lines (stdout, also in CI logs) and, on a terminal, the bars
    per stage (stderr) from the first write to the last."""

    def __init__(self, observer: progress.Observer) -> None:
        self._observer = observer
        self._open: contextlib.ExitStack | None = None
        self._bars: progress.ApplyBars | None = None

    def start(self, totals: Mapping[steps.Stage, int]) -> None:
        self._open = contextlib.ExitStack()
        self._bars = self._open.enter_context(self._observer.applying())
        if self._bars is not None:
            self._bars.stages(totals)

    def step(self, result: steps.StepResult, done: int, total: int) -> None:
        _print_step(result, done, total)
        if self._bars is not None:
            self._bars.step(result)

    def activity(self, now: steps.Activity) -> None:
        if self._bars is not None:
            self._bars.activity(now)

    def stop(self) -> None:
        """The bars end with the writes (the verification read draws its own)."""
        if self._open is not None:
            self._open.close()
        self._open, self._bars = None, None


def _exit_code(result: ApplyResult) -> int:
    report = result.report
    if result.plan.errored or (report is not None and not report.clean):
        return int(ExitCode.ERROR)
    if result.plan.gates:
        return int(ExitCode.WAITING)
    return int(ExitCode.OK)


def _render(result: ApplyResult) -> None:
    from reconciler.applying import steps, verify
    from reconciler.rendering import text

    plan, report = result.plan, result.report
    if report is None:
        typer.echo(text.render(plan), nl=False)
        typer.echo("Nothing to apply now.")
        return
    counts = ", ".join(f"{report.count(o)} {o.value}" for o in steps.Outcome)
    typer.echo(f"\nSteps: {counts}.")
    if result.verification_error is None:
        typer.echo("\nConsolidation state after this run (fresh read):")
        typer.echo(verify.render(result.verification), nl=False)
    else:
        typer.echo(
            f"\nThe verification read failed ({result.verification_error}); run "
            "`reconciler plan` to see state."
        )
    if result.overlap:
        typer.echo("\nBilling overlap:")
        for line in result.overlap:
            typer.echo(f"  {line}")
    if plan.deferred:
        typer.echo(f"\n{len(plan.deferred)} changes wait behind the policy caps: apply again.")
    if plan.gates:
        typer.echo(f"{len(plan.gates)} steps wait on others (see the plan above).")


_STATE_HELP = (
    f"Journals, applied plan ids and locks (default ${settings.ENV_STATE_DIR} or "
    f"{settings.DEFAULT_STATE_DIR})."
)
StateOpt = Annotated[Path | None, typer.Option("--state-dir", help=_STATE_HELP)]
BackendOpt = Annotated[
    str | None,
    typer.Option(
        "--state-backend",
        help=f"local (default) or azure: lock and journal shared in a blob container "
        f"(default ${settings.ENV_STATE_BACKEND}).",
    ),
]
ContainerOpt = Annotated[
    str | None,
    typer.Option(
        "--state-container-url",
        help="The azure backend's container, https://<account>.blob.core.windows.net/<name> "
        f"(default ${settings.ENV_STATE_CONTAINER_URL}); credentials only from the environment.",
    ),
]


def _export(
    state: Path,
    fmt: str,
    customers: Sequence[str],
    out: Path | None,
    shared: blobconfig.Config | None,
) -> int:
    from reconciler.operations import statedir

    if fmt not in statedir.FORMATS:
        raise typer.BadParameter("use csv or json", param_hint="--format")
    doc = statedir.export(state, fmt, customers, shared)
    if not doc.found:
        # Evidence for a dispute must not silently come out empty: say where we looked.
        typer.echo(
            f"No apply journal in {doc.where}; point --state-dir (or "
            f"{settings.ENV_STATE_DIR}) at the directory your applies used.",
            err=True,
        )
    if out is None:
        typer.echo(doc.document, nl=False)
    else:
        statedir.write(doc, out)
        typer.echo(f"Wrote {doc.events} journal events to {out}.")
    return int(ExitCode.OK)


def register(app: typer.Typer) -> None:
    _register_apply(app)
    _register_state(app)


def _register_apply(app: typer.Typer) -> None:
    @app.command()
    def apply(
        ctx: typer.Context,
        paths: Annotated[
            list[Path] | None,
            typer.Argument(
                metavar="[PLANFILE | PATH...]",
                help="A saved plan (.json or .json.gz from `plan --out`), or manifest "
                "files/directories to plan and apply in one go.",
                show_default="manifests/",
            ),
        ] = None,
        auto_approve: Annotated[
            bool, typer.Option("--auto-approve", help="Apply without asking (CI).")
        ] = False,
        customer: options.CustomerOpt = None,
        lock_timeout: Annotated[
            float, typer.Option("--lock-timeout", help="Seconds to wait for another apply.")
        ] = settings.DEFAULT_LOCK_TIMEOUT_SECONDS,
        manifests_dir: Annotated[
            Path | None,
            typer.Option("--manifests", help="Manifests of a saved plan (default manifests/)."),
        ] = None,
        state_opt: StateOpt = None,
        backend: BackendOpt = None,
        container_url: ContainerOpt = None,
        credentials: options.CredentialsOpt = None,
        connection: options.ConnectionOpt = None,
        parallelism: Annotated[
            int,
            typer.Option(
                "--parallelism",
                min=1,
                max=MAX_PARALLELISM,
                help="Customers worked on at once (each customer's changes stay in plan "
                "order); 1 applies one change at a time.",
            ),
        ] = settings.DEFAULT_APPLY_PARALLELISM,
        verbose: progress.VerboseOpt = False,
    ) -> int:
        """Carry out a plan: saved (refused if stale or applied before) or planned now.

        Every safety rule is re-checked against live state right before each write; every
        write is journalled. Exit 0 done, 1 error/refused/incomplete, 3 only work waiting on
        others remains.
        """
        from reconciler.operations import apply as applying
        from reconciler.operations import statedir

        _check_lock_timeout(lock_timeout)
        run = runtime.of(ctx)
        shared = statedir.shared(run.environ, backend=backend, container_url=container_url)
        request = applying.ApplyRequest(
            paths=paths or [],
            access=run.access(credentials, connection),
            state_dir=run.state_dir(state_opt),
            manifests=manifests_dir,
            customers=tuple(customer or ()),
            lock_timeout=lock_timeout,
            shared=shared,
            parallelism=parallelism,
        )
        with progress.Observer(verbose=verbose).session() as observer:
            bars = _StageBars(observer)
            hooks = applying.Hooks(
                approve=_approver(auto_approve),
                waiting=lambda held: _say(
                    f"Waiting for {held.describe()} (up to {lock_timeout:.0f}s)"
                ),
                started=lambda pid, run_id, journal: typer.echo(
                    f"Applying plan {pid} as run {run_id} (journal: {journal})"
                ),
                step=bars.step,
                stages=bars.start,
                activity=bars.activity,
                written=bars.stop,
            )
            try:
                result = applying.apply(request, observer, hooks)
            finally:
                bars.stop()
            _render(result)
        return _exit_code(result)


def _check_lock_timeout(seconds: float) -> None:
    """``--lock-timeout`` must be a finite number of seconds, 0 or more (``nan`` never times
    out and ``inf`` waits forever: both are refused before anything is read)."""
    if not math.isfinite(seconds) or seconds < 0:
        raise errors.UsageError(
            f"--lock-timeout {seconds} is not a number of seconds to wait: give 0 or more "
            f"(at most {MAX_LOCK_TIMEOUT_SECONDS:.0f}, a day), e.g. --lock-timeout 600."
        )
    if seconds > MAX_LOCK_TIMEOUT_SECONDS:
        raise errors.UsageError(
            f"--lock-timeout {seconds:g} is longer than a day ({MAX_LOCK_TIMEOUT_SECONDS:.0f} "
            "seconds); no apply holds a lock that long. Give a shorter wait, e.g. "
            "--lock-timeout 600."
        )


#: Most customers ``--parallelism`` may work on at once (each is a thread).
MAX_PARALLELISM = 256

#: Longest ``--lock-timeout`` accepted (a day): longer waits are a typo, not a plan.
MAX_LOCK_TIMEOUT_SECONDS = 86400.0


def _register_state(app: typer.Typer) -> None:
    @app.command()
    def unlock(
        ctx: typer.Context,
        lock_id: Annotated[str, typer.Argument(metavar="LOCK_ID", help="Id from the refusal.")],
    ) -> int:
        """Remove an apply lock whose holder is gone (only when you are sure it is).

        Locks live in the machine's lock directory (RECONCILER_LOCK_DIR, else
        ~/.local/state/reconciler), one per target tenant, whatever --state-dir an apply used.
        """
        from reconciler.operations import statedir

        info = statedir.unlock(runtime.of(ctx).environ, lock_id)
        typer.echo(f"Removed {info.describe()}.")
        return int(ExitCode.OK)

    journal_app = typer.Typer(no_args_is_help=True, help="Read the apply journals.")
    app.add_typer(journal_app, name="journal")

    @journal_app.command("export")
    def export(
        ctx: typer.Context,
        fmt: Annotated[str, typer.Option("--format", help="csv or json.")] = "csv",
        customer: options.CustomerOpt = None,
        out: Annotated[Path | None, typer.Option("--out", help="Write to this file.")] = None,
        state_opt: StateOpt = None,
        backend: BackendOpt = None,
        container_url: ContainerOpt = None,
    ) -> int:
        """Evidence for a billing dispute: what was created or suspended when, per customer,
        with request and correlation ids (with the azure state backend: of every run in the
        state container)."""
        from reconciler.operations import statedir

        run = runtime.of(ctx)
        shared = statedir.shared(run.environ, backend=backend, container_url=container_url)
        return _export(run.state_dir(state_opt), fmt, tuple(customer or ()), out, shared)

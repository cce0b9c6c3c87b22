"""``reconciler apply``, ``reconciler unlock`` and ``reconciler journal export``: the
composition root of applying.

``apply`` takes the target tenant's lock, reads live state, refuses a stale or already-applied
saved plan (or plans afresh), checks the caps, asks for approval, runs the executor with a
journal, re-reads live state and reports per customer. This module holds no business logic:
decisions live in ``reconciler.applying`` and ``reconciler.planning``.
"""

from __future__ import annotations

import os
import sys
import time
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated

import typer

from reconciler import errors, manifests, model
from reconciler.applying import checks, executor, journal, locking, steps, verify
from reconciler.cli import apply_writer, options, progress
from reconciler.cli import plan as plan_cli
from reconciler.exitcodes import ExitCode
from reconciler.planning import actions, planner, staleness
from reconciler.rendering import text

ENV_STATE_DIR = "RECONCILER_STATE_DIR"
DEFAULT_STATE_DIR = ".reconciler"


def _now() -> datetime:
    return datetime.now(UTC)


def state_dir(option: Path | None) -> Path:
    """``--state-dir``, else ``$RECONCILER_STATE_DIR``, else ``.reconciler``."""
    return option or Path(os.environ.get(ENV_STATE_DIR) or DEFAULT_STATE_DIR)


def _say(message: str) -> None:
    typer.echo(message, err=True)


def _clients(
    cons: model.Consolidation,
    credentials: Path | None,
    connection: Path | None,
    observer: progress.Observer,
) -> apply_writer.ClientWriter:
    """Clients configured like ``plan``'s (timeouts, back-off and pacing from the settings)."""
    from reconciler.partner_center import config, connect

    conn = config.resolve(cons.tenants, credentials_path=credentials, connection_path=connection)
    clients = connect.build_clients(cons.tenants, conn, delegated_for=[cons.target.name])
    observer.watch(clients.values())
    return apply_writer.ClientWriter(clients, cons.tenants)


def _read(
    desired: model.DesiredState,
    writer: apply_writer.ClientWriter,
    customers: Sequence[tuple[str, str]],
    observer: progress.Observer,
) -> model.LiveState:
    """Fresh live state of ``customers`` ((tenant id, source name) pairs), read exactly as
    ``plan`` reads it (``plan_cli.read_customers``), so fingerprints compare like with like."""
    return plan_cli.read_customers(desired, writer.clients, customers, observer)


def _stale(plan: actions.Plan, live: model.LiveState) -> None:
    stale = staleness.stale_message(plan, live)
    if stale is not None:
        message, moved = stale
        raise errors.StalePlanError(message, customers=moved)


def _approve(plan: actions.Plan, auto: bool) -> None:
    typer.echo(text.render(plan), nl=False)
    if auto:
        return
    if not sys.stdin.isatty():
        raise errors.ApplyRefusedError(
            "apply needs approval: this run is not interactive, so pass --auto-approve (CI) "
            "after reviewing the plan above. Nothing was changed."
        )
    answer = typer.prompt(
        "Apply these changes? Only 'yes' is accepted", default="", show_default=False
    )
    if answer.strip() != "yes":
        raise errors.ApplyRefusedError(
            "Apply cancelled: the answer was not 'yes'. Nothing changed."
        )


def _print_step(r: steps.StepResult, done: int, total: int) -> None:
    """One line per step; the ``done/total`` count is the progress (also in CI logs)."""
    c = r.change
    mark = {"succeeded": "ok", "failed": "FAILED", "skipped": "skipped", "unknown": "UNKNOWN"}
    count = f"({done}/{total}) "
    typer.echo(f"  {count}[{mark[r.outcome.value]}] {c.action.value} {c.address}: {r.message}")


def _exit_code(plan: actions.Plan, report: steps.ApplyReport | None) -> int:
    if plan.errored or (report is not None and not report.clean):
        return int(ExitCode.ERROR)
    if plan.gates:
        return int(ExitCode.WAITING)
    return int(ExitCode.OK)


def _load_plan(
    paths: list[Path] | None, manifests_opt: Path | None
) -> tuple[actions.Plan | None, model.DesiredState]:
    given = list(paths or [])
    if len(given) == 1 and given[0].is_file() and given[0].suffix == ".json":
        saved = plan_cli.read_plan(given[0])
        state = manifests.load([manifests_opt or Path("manifests")])
        if saved.consolidation != state.consolidation.name:
            raise errors.ApplyRefusedError(
                f"The plan {given[0]} is for consolidation '{saved.consolidation}' but the "
                f"manifests describe '{state.consolidation.name}'; pass the right --manifests."
            )
        return saved, state
    return None, manifests.load(given or [manifests_opt or Path("manifests")])


def run_apply(
    paths: list[Path] | None,
    *,
    manifests_opt: Path | None,
    auto_approve: bool,
    customers: Sequence[str],
    lock_timeout: float,
    state: Path,
    credentials: Path | None,
    connection: Path | None,
    verbose: bool = False,
) -> int:
    """The whole of ``reconciler apply``; returns the exit code."""
    saved, desired = _load_plan(paths, manifests_opt)
    cons = desired.consolidation
    if saved is not None:
        earlier = journal.applied_run(state, journal.plan_id(saved))
        if earlier:
            raise errors.ApplyRefusedError(
                f"This plan ({journal.plan_id(saved)}) was already applied by run {earlier}. "
                "Applying it twice is refused: run `reconciler plan --out FILE` for a fresh "
                "plan and apply that."
            )
    with progress.Observer(verbose=verbose).session() as observer:
        writer = _clients(cons, credentials, connection, observer)
        return _locked_run(
            saved, desired, writer, observer, customers, lock_timeout, state, auto_approve
        )


def _locked_run(
    saved: actions.Plan | None,
    desired: model.DesiredState,
    writer: apply_writer.ClientWriter,
    observer: progress.Observer,
    customers: Sequence[str],
    lock_timeout: float,
    state: Path,
    auto_approve: bool,
) -> int:
    """Take the target tenant's lock, plan (or check the saved plan), then execute."""
    cons = desired.consolidation
    pid = journal.plan_id(saved) if saved is not None else "fresh"
    me = locking.holder(
        tenant=cons.target.name,
        plan_id=pid,
        now=_now(),
        ttl=locking.DEFAULT_TTL,
        environ=os.environ,
    )
    lock = locking.acquire(
        state,
        me,
        timeout=lock_timeout,
        now=_now,
        sleep=time.sleep,
        on_wait=lambda held: _say(f"Waiting for {held.describe()} (up to {lock_timeout:.0f}s)"),
    )
    with lock:
        plan = _plan(saved, desired, writer, customers, observer)
        return _execute(plan, desired, writer, state, auto_approve, lock, observer)


def _plan(
    saved: actions.Plan | None,
    desired: model.DesiredState,
    writer: apply_writer.ClientWriter,
    customers: Sequence[str],
    observer: progress.Observer,
) -> actions.Plan:
    if saved is not None:
        plan = checks.narrow(saved, customers)
        checks.check_manifests(plan, desired)
        pairs = [(c.tenant_id, c.source) for c in plan.customers]
        _stale(plan, _read(desired, writer, pairs, observer))
        return plan
    chosen = planner.select_customers(desired, include=customers)
    if customers and not chosen:
        raise errors.UsageError(
            f"--customer {', '.join(customers)}: no manifest customer has that tenant id or name."
        )
    live = _read(desired, writer, [(c.tenant_id, c.source) for c in chosen], observer)
    return planner.build_plan(desired, live, now=_now(), include=customers)


def _execute(
    plan: actions.Plan,
    desired: model.DesiredState,
    writer: apply_writer.ClientWriter,
    state: Path,
    auto_approve: bool,
    lock: locking.Lock,
    observer: progress.Observer,
) -> int:
    cons = desired.consolidation
    checks.check_caps(plan, cons.policy)
    pid = journal.plan_id(plan)
    if not plan.has_applicable_changes:
        typer.echo(text.render(plan), nl=False)
        typer.echo("Nothing to apply now.")
        return _exit_code(plan, None)
    _approve(plan, auto_approve)
    # The prompt may have outlived the lock's TTL; one step may wait a whole activation.
    ttl = locking.DEFAULT_TTL + timedelta(minutes=cons.policy.activation_timeout_minutes)
    locking.extend(lock, now=_now(), ttl=ttl)
    run_id = _now().strftime("%Y%m%dT%H%M%SZ") + "-" + uuid.uuid4().hex[:8]
    records = journal.read_records(state)
    pending = journal.pending_creates(records)
    log = journal.Journal(state, run_id, pid)
    options = steps.Options(
        activation_timeout=timedelta(minutes=cons.policy.activation_timeout_minutes)
    )

    total = sum(1 for c in plan.changes if c.applicable)
    done = 0

    def step(r: steps.StepResult) -> None:
        nonlocal done
        done += 1
        _print_step(r, done, total)
        locking.extend(lock, now=_now(), ttl=ttl)

    typer.echo(f"Applying plan {pid} as run {run_id} (journal: {log.path})")
    try:
        report = executor.Executor(
            plan,
            writer,
            log,
            options=options,
            now=_now,
            sleep=time.sleep,
            pending=pending,
            transfers=journal.requested_transfers(records),
            on_step=step,
        ).run()
    finally:
        log.close()
    journal.mark_applied(state, pid, run_id, _now())
    _report(plan, desired, writer, report, observer)
    return _exit_code(plan, report)


def _report(
    plan: actions.Plan,
    desired: model.DesiredState,
    writer: apply_writer.ClientWriter,
    report: steps.ApplyReport,
    observer: progress.Observer,
) -> None:
    counts = ", ".join(f"{report.count(o)} {o.value}" for o in steps.Outcome)
    typer.echo(f"\nSteps: {counts}.")
    ids = {c.tenant_id for c in plan.customers}
    try:
        pairs = [(c.tenant_id, c.source) for c in plan.customers]
        live = _read(desired, writer, pairs, observer)
        typer.echo("\nConsolidation state after this run (fresh read):")
        typer.echo(verify.render(verify.states(desired, live, ids)), nl=False)
    except errors.ReconcilerError as exc:
        typer.echo(f"\nThe verification read failed ({exc}); run `reconciler plan` to see state.")
    lines = verify.overlap_lines(report.steps)
    if lines:
        typer.echo("\nBilling overlap:")
        for line in lines:
            typer.echo(f"  {line}")
    if plan.deferred:
        typer.echo(f"\n{len(plan.deferred)} changes wait behind the policy caps: apply again.")
    if plan.gates:
        typer.echo(f"{len(plan.gates)} steps wait on others (see the plan above).")


_STATE_HELP = (
    f"Journals, applied plan ids and locks (default ${ENV_STATE_DIR} or {DEFAULT_STATE_DIR})."
)
StateOpt = Annotated[Path | None, typer.Option("--state-dir", help=_STATE_HELP)]


def _export(state: Path, fmt: str, customers: Sequence[str], out: Path | None) -> int:
    if fmt not in ("csv", "json"):
        raise typer.BadParameter("use csv or json", param_hint="--format")
    records = journal.read_records(state)
    if not records:
        # Evidence for a dispute must not silently come out empty: say where we looked.
        typer.echo(
            f"No apply journal in {state / 'journal'}; point --state-dir (or "
            "RECONCILER_STATE_DIR) at the directory your applies used.",
            err=True,
        )
    rows = list(journal.export_rows(records, customers=customers))
    doc = journal.to_csv(rows) if fmt == "csv" else journal.to_json(rows)
    if out is None:
        typer.echo(doc, nl=False)
    else:
        tmp = out.with_name(f".{out.name}.tmp")
        tmp.write_text(doc, encoding="utf-8")
        os.replace(tmp, out)
        typer.echo(f"Wrote {len(rows)} journal events to {out}.")
    return int(ExitCode.OK)


def register(app: typer.Typer) -> None:
    @app.command()
    def apply(
        paths: Annotated[
            list[Path] | None,
            typer.Argument(
                metavar="[PLANFILE | PATH...]",
                help="A saved plan (.json from `plan --out`), or manifest files/directories "
                "to plan and apply in one go.",
                show_default="manifests/",
            ),
        ] = None,
        auto_approve: Annotated[
            bool, typer.Option("--auto-approve", help="Apply without asking (CI).")
        ] = False,
        customer: options.CustomerOpt = None,
        lock_timeout: Annotated[
            float, typer.Option("--lock-timeout", help="Seconds to wait for another apply.")
        ] = 0.0,
        manifests_dir: Annotated[
            Path | None,
            typer.Option("--manifests", help="Manifests of a saved plan (default manifests/)."),
        ] = None,
        state_opt: StateOpt = None,
        credentials: options.CredentialsOpt = None,
        connection: options.ConnectionOpt = None,
        verbose: progress.VerboseOpt = False,
    ) -> int:
        """Carry out a plan: saved (refused if stale or applied before) or planned now.

        Every safety rule is re-checked against live state right before each write; every
        write is journalled. Exit 0 done, 1 error/refused/incomplete, 3 only work waiting on
        others remains.
        """
        return run_apply(
            paths,
            manifests_opt=manifests_dir,
            auto_approve=auto_approve,
            customers=tuple(customer or ()),
            lock_timeout=lock_timeout,
            state=state_dir(state_opt),
            credentials=credentials,
            connection=connection,
            verbose=verbose,
        )

    @app.command()
    def unlock(
        lock_id: Annotated[str, typer.Argument(metavar="LOCK_ID", help="Id from the refusal.")],
        state_opt: StateOpt = None,
    ) -> int:
        """Remove an apply lock whose holder is gone (only when you are sure it is)."""
        info = locking.unlock(state_dir(state_opt), lock_id)
        typer.echo(f"Removed {info.describe()}.")
        return int(ExitCode.OK)

    journal_app = typer.Typer(no_args_is_help=True, help="Read the apply journals.")
    app.add_typer(journal_app, name="journal")

    @journal_app.command("export")
    def export(
        fmt: Annotated[str, typer.Option("--format", help="csv or json.")] = "csv",
        customer: options.CustomerOpt = None,
        out: Annotated[Path | None, typer.Option("--out", help="Write to this file.")] = None,
        state_opt: StateOpt = None,
    ) -> int:
        """Evidence for a billing dispute: what was created or suspended when, per customer,
        with request and correlation ids."""
        return _export(state_dir(state_opt), fmt, tuple(customer or ()), out)

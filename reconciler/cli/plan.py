"""``reconciler plan`` and ``reconciler show``: the composition root of planning.

``plan`` loads the manifests, reads live state from every tenant involved, calls the pure
planner, optionally saves the plan document (atomically: temp file + ``os.replace``) and
renders it. ``show`` renders a saved plan without any network. Exit codes come from
``exitcodes.ExitCode`` only; with ``--detailed-exitcode``: 0 nothing to do, 2 changes to apply,
3 only work waiting on others, 1 any error. This module holds no planning logic.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from reconciler import errors, manifests, model
from reconciler.cli import options, progress
from reconciler.exitcodes import ExitCode
from reconciler.planning import actions, gcpause, planfile, planner
from reconciler.rendering import jsondoc, markdown, messages, text

if TYPE_CHECKING:  # imported lazily at run time: start-up stays fast
    from reconciler.partner_center.client import PartnerCenterClient

FORMATS = ("text", "markdown", "json", "messages")

_OUTCOME_CODES = {
    "errored": ExitCode.ERROR,
    "changes": ExitCode.CHANGES,
    "waiting": ExitCode.WAITING,
    "no-changes": ExitCode.OK,
}


def exit_code(plan: actions.Plan, *, detailed: bool) -> int:
    """The process status for ``plan``: errors are 1 either way; the rest only when detailed."""
    code = _OUTCOME_CODES[plan.outcome]
    if code is ExitCode.ERROR or detailed:
        return int(code)
    return int(ExitCode.OK)


def render(plan: actions.Plan, fmt: str, *, color: bool, full_plan: str) -> str:
    """The plan in ``fmt`` (one of FORMATS)."""
    if fmt == "json":
        return jsondoc.render(plan)
    if fmt == "markdown":
        return markdown.render(plan, full_plan=full_plan)
    if fmt == "messages":
        return messages.render(plan)
    return text.render(plan, color=color)


def use_color(choice: str) -> bool:
    """auto: colour only on a terminal and when NO_COLOR is unset."""
    if choice == "always":
        return True
    if choice == "never":
        return False
    return sys.stdout.isatty() and not os.environ.get("NO_COLOR")


def write_plan(plan: actions.Plan, path: Path) -> None:
    """Save the plan document atomically: a reader sees the old file or the new, never half."""
    data = jsondoc.render(plan)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with tmp.open("w", encoding="utf-8") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise errors.UsageError(
            f"Cannot write the plan file {path}: {exc.strerror or exc}. Choose a writable path "
            "with --out."
        ) from None


def read_plan(path: Path) -> actions.Plan:
    """Load a saved plan; every failure is a PlanFileError naming the file."""
    try:
        raw = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise errors.PlanFileError(
            f"Cannot read the plan file {path}: {exc.strerror or exc}. Check the path, or "
            "write one with `reconciler plan --out FILE`."
        ) from None
    try:
        with gcpause.paused():  # a large plan is millions of small objects
            data: Any = json.loads(raw)
    except ValueError as exc:
        raise errors.PlanFileError(
            f"The plan file {path} is not valid JSON ({exc}); it may be truncated. Re-run "
            "`reconciler plan --out FILE`."
        ) from None
    return planfile.from_dict(data, source=f"The plan file {path}")


def _check_format(fmt: str) -> None:
    if fmt not in FORMATS:
        raise typer.BadParameter(f"use one of {', '.join(FORMATS)}", param_hint="--format")


def read_customers(
    desired: model.DesiredState,
    clients: Mapping[str, PartnerCenterClient],
    customers: Sequence[tuple[str, str]],
    observer: progress.Observer,
) -> model.LiveState:
    """Live state of ``customers`` ((tenant id, source name) pairs): each in the target and
    in its source, with transfer requests read for exactly the customers the planner needs
    them for. ``plan`` and ``apply`` both read through here, so a saved plan's fingerprints
    are always compared with state read the same way."""
    from reconciler.partner_center import reading

    cons = desired.consolidation
    wanted: dict[str, list[str]] = {cons.target.name: [cid for cid, _ in customers]}
    for cid, source in customers:
        wanted.setdefault(source, []).append(cid)
    ids = {cid for cid, _ in customers}
    chosen = [c for c in desired.customers if c.tenant_id in ids]
    with observer.reading() as on_progress:
        return reading.read_live_state(
            cons,
            clients,
            customers=wanted,
            on_progress=on_progress,
            transfers=planner.transfer_customers(chosen, cons.policy),
        )


def _read_live(
    state: model.DesiredState,
    chosen: Sequence[model.DesiredCustomer],
    credentials: Path | None,
    connection: Path | None,
    observer: progress.Observer,
) -> model.LiveState:
    from reconciler.partner_center import config, connect

    cons = state.consolidation
    conn = config.resolve(cons.tenants, credentials_path=credentials, connection_path=connection)
    clients = connect.build_clients(cons.tenants, conn, delegated_for=[cons.target.name])
    observer.watch(clients.values())
    return read_customers(state, clients, [(c.tenant_id, c.source) for c in chosen], observer)


_FORMAT_HELP = (
    "text (terminal), markdown (pull-request comment), json (the plan document) or messages "
    "(the ready-to-send invitation and Azure hand-off messages)."
)
_COLOR_HELP = "auto (only on a terminal, unless NO_COLOR is set), always or never."
_DETAILED_HELP = "Exit 0 when nothing to do, 2 when changes can be applied, 3 when only work "
_DETAILED_HELP += "waiting on others (invitations, Microsoft, transfers) remains, 1 on error."


def register(app: typer.Typer) -> None:
    @app.command()
    def plan(
        paths: Annotated[
            list[Path] | None,
            typer.Argument(help="Manifest files or directories.", show_default="manifests/"),
        ] = None,
        out: Annotated[
            Path | None, typer.Option("--out", help="Save the plan document (JSON) here.")
        ] = None,
        fmt: Annotated[str, typer.Option("--format", help=_FORMAT_HELP)] = "text",
        color: Annotated[str, typer.Option("--color", help=_COLOR_HELP)] = "auto",
        detailed: Annotated[bool, typer.Option("--detailed-exitcode", help=_DETAILED_HELP)] = False,
        customer: options.CustomerOpt = None,
        exclude: Annotated[
            list[str] | None,
            typer.Option("--exclude-customer", help="Leave this customer out; repeat."),
        ] = None,
        source: options.SourceOpt = None,
        credentials: options.CredentialsOpt = None,
        connection: options.ConnectionOpt = None,
        verbose: progress.VerboseOpt = False,
    ) -> int:
        """Compare the manifests with live Partner Center state and show the ordered work.

        Reads every tenant involved (read-only), then prints invitations awaiting customers,
        target subscriptions to create, resize or reactivate, source subscriptions to suspend,
        cancel or stop renewing, Azure hand-offs, billing overlap and drift.
        """
        _check_format(fmt)
        state = manifests.load(paths or [Path("manifests")])
        names = [t.name for t in state.consolidation.sources]
        if source is not None and source not in names:
            raise errors.UsageError(
                f"--source {source}: the consolidation has no source tenant of that name "
                f"(it has: {', '.join(names)})."
            )
        include, skip = tuple(customer or ()), tuple(exclude or ())
        chosen = planner.select_customers(state, include=include, exclude=skip, source=source)
        if include and not chosen:
            raise errors.UsageError(
                f"--customer {', '.join(include)}: no manifest customer has that tenant id or "
                "name; run `reconciler validate` to list them."
            )
        with progress.Observer(verbose=verbose).session() as observer:
            live = _read_live(state, chosen, credentials, connection, observer)
            result = planner.build_plan(
                state, live, now=datetime.now(UTC), include=include, exclude=skip, source=source
            )
            if out is not None:
                write_plan(result, out)
            pointer = f"`{out}`" if out is not None else "`reconciler plan --out plan.json`"
            typer.echo(render(result, fmt, color=use_color(color), full_plan=pointer), nl=False)
            if out is not None and fmt == "text":
                typer.echo(f"Saved the plan to {out}; apply it with `reconciler apply {out}`.")
        return exit_code(result, detailed=detailed)

    @app.command()
    def show(
        planfile_path: Annotated[Path, typer.Argument(metavar="PLANFILE", help="A saved plan.")],
        fmt: Annotated[str, typer.Option("--format", help=_FORMAT_HELP)] = "text",
        color: Annotated[str, typer.Option("--color", help=_COLOR_HELP)] = "auto",
        detailed: Annotated[bool, typer.Option("--detailed-exitcode", help=_DETAILED_HELP)] = False,
    ) -> int:
        """Render a saved plan (from `plan --out`) without any network access."""
        _check_format(fmt)
        saved = read_plan(planfile_path)
        pointer = f"`{planfile_path}`"
        typer.echo(render(saved, fmt, color=use_color(color), full_plan=pointer), nl=False)
        return exit_code(saved, detailed=detailed)

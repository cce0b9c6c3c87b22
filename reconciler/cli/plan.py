"""``reconciler plan`` and ``reconciler show``: the commands of planning.

``plan`` parses its options, calls ``operations.plan.plan`` (manifests, live read, the pure
planner, the saved plan) and renders the plan; ``show`` renders a saved plan without any
network. Exit codes come from ``exitcodes.ExitCode`` only; with ``--detailed-exitcode``: 0
nothing to do, 2 changes to apply, 3 only work waiting on others, 1 any error. This module
holds no planning logic.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from reconciler import settings
from reconciler.cli import options, progress, runtime
from reconciler.exitcodes import ExitCode

if TYPE_CHECKING:  # imported inside the commands: start-up stays fast
    from reconciler.planning import actions

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
    from reconciler.rendering import jsondoc, markdown, messages, text

    if fmt == "json":
        return jsondoc.render(plan)
    if fmt == "markdown":
        return markdown.render(plan, full_plan=full_plan)
    if fmt == "messages":
        return messages.render(plan)
    return text.render(plan, color=color)


def use_color(choice: str, environ: Mapping[str, str]) -> bool:
    """auto: colour only on a terminal and when NO_COLOR is unset."""
    if choice == "always":
        return True
    if choice == "never":
        return False
    return sys.stdout.isatty() and not environ.get(settings.ENV_NO_COLOR)


def _check_format(fmt: str) -> None:
    if fmt not in FORMATS:
        raise typer.BadParameter(f"use one of {', '.join(FORMATS)}", param_hint="--format")


_FORMAT_HELP = (
    "text (terminal), markdown (pull-request comment), json (the plan document) or messages "
    "(the ready-to-send invitation and Azure hand-off messages)."
)
_COLOR_HELP = "auto (only on a terminal, unless NO_COLOR is set), always or never."
_DETAILED_HELP = "Exit 0 when nothing to do, 2 when changes can be applied, 3 when only work "
_DETAILED_HELP += "waiting on others (invitations, Microsoft, transfers) remains, 1 on error."


def register(app: typer.Typer) -> None:
    _register_plan(app)
    _register_show(app)


def _register_plan(app: typer.Typer) -> None:
    @app.command()
    def plan(
        ctx: typer.Context,
        paths: options.ManifestPathsArg = None,
        out: Annotated[
            Path | None,
            typer.Option(
                "--out",
                help="Save the plan document (JSON) here; gzip-compressed when the name "
                "ends in .gz.",
            ),
        ] = None,
        fmt: Annotated[str, typer.Option("--format", help=_FORMAT_HELP)] = "text",
        color: Annotated[str, typer.Option("--color", help=_COLOR_HELP)] = "auto",
        detailed: Annotated[bool, typer.Option("--detailed-exitcode", help=_DETAILED_HELP)] = False,
        customer: options.CustomerOpt = None,
        exclude: options.ExcludeOpt = None,
        source: options.SourceOpt = None,
        credentials: options.CredentialsOpt = None,
        connection: options.ConnectionOpt = None,
        verbose: progress.VerboseOpt = False,
        commit: Annotated[
            str | None,
            typer.Option(
                "--commit",
                help="Record the commit the manifests come from in the plan (CI: the pull "
                "request's head), so `reconciler check-plan` can prove it is the reviewed plan.",
            ),
        ] = None,
    ) -> int:
        """Compare the manifests with live Partner Center state and show the ordered work.

        Reads every tenant involved (read-only), then prints invitations awaiting customers,
        target subscriptions to create, resize or reactivate, source subscriptions to suspend,
        cancel or stop renewing, Azure hand-offs, billing overlap and drift.
        """
        from reconciler.operations import plan as planning

        _check_format(fmt)
        run = runtime.of(ctx)
        selection = planning.Selection(tuple(customer or ()), tuple(exclude or ()), source)
        with progress.Observer(verbose=verbose).session() as observer:
            result = planning.plan(
                paths or [],
                selection,
                run.access(credentials, connection),
                observer,
                out=out,
                commit=commit,
            )
            pointer = f"`{out}`" if out is not None else "`reconciler plan --out plan.json`"
            color_on = use_color(color, run.environ)
            typer.echo(render(result, fmt, color=color_on, full_plan=pointer), nl=False)
            if out is not None and fmt == "text":
                typer.echo(f"Saved the plan to {out}; apply it with `reconciler apply {out}`.")
        return exit_code(result, detailed=detailed)


def _register_show(app: typer.Typer) -> None:
    @app.command()
    def show(
        ctx: typer.Context,
        planfile_path: Annotated[Path, typer.Argument(metavar="PLANFILE", help="A saved plan.")],
        fmt: Annotated[str, typer.Option("--format", help=_FORMAT_HELP)] = "text",
        color: Annotated[str, typer.Option("--color", help=_COLOR_HELP)] = "auto",
        detailed: Annotated[bool, typer.Option("--detailed-exitcode", help=_DETAILED_HELP)] = False,
    ) -> int:
        """Render a saved plan (from `plan --out`) without any network access."""
        from reconciler.operations import planfiles

        _check_format(fmt)
        saved = planfiles.read_plan(planfile_path)
        pointer = f"`{planfile_path}`"
        color_on = use_color(color, runtime.of(ctx).environ)
        typer.echo(render(saved, fmt, color=color_on, full_plan=pointer), nl=False)
        return exit_code(saved, detailed=detailed)

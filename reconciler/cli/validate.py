"""``reconciler validate``: every problem in every manifest, each as ``file:line:col``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from reconciler.exitcodes import ExitCode

if TYPE_CHECKING:  # imported inside the command: start-up stays fast
    from reconciler import model


def summary(state: model.DesiredState, files: int) -> str:
    """One line describing what a valid manifest set asks for."""
    c = state.consolidation
    customers = state.customers
    subs = [s for cust in customers for s in cust.subscriptions]
    replaced = sum(len(s.replaces) for s in subs)
    azure = sum(len(cust.azure) for cust in customers)
    sources = ", ".join(t.name for t in c.sources)
    return (
        f"Valid: {files} file{'s' if files != 1 else ''}; consolidation '{c.name}' "
        f"({sources} -> {c.target.name}); {len(customers)} customer"
        f"{'s' if len(customers) != 1 else ''}, {len(subs)} target subscription"
        f"{'s' if len(subs) != 1 else ''} replacing {replaced} source subscription"
        f"{'s' if replaced != 1 else ''}, {azure} Azure hand-off{'s' if azure != 1 else ''}."
    )


def register(app: typer.Typer) -> None:
    @app.command()
    def validate(
        paths: Annotated[
            list[Path] | None,
            typer.Argument(
                help="Manifest files or directories (searched recursively for *.yaml/*.yml).",
                show_default="manifests/",
            ),
        ] = None,
        output: Annotated[
            str,
            typer.Option(
                "--format",
                help="text: one `file:line:col: $.path: message` line per problem, then a "
                "summary. json: {valid, files, problems[]} for tools.",
            ),
        ] = "text",
    ) -> int:
        """Check manifests against the schemas and the cross-file rules, without any network.

        Reports all problems in all files in one run. Exit code 0 when valid, 1 otherwise.
        """
        if output not in ("text", "json"):
            raise typer.BadParameter("use text or json", param_hint="--format")
        from reconciler import manifests

        report = manifests.check(paths or [Path("manifests")])
        if output == "json":
            doc = {
                "valid": not report.problems,
                "files": report.files,
                "problems": [
                    {
                        "file": p.file,
                        "line": p.line,
                        "column": p.column,
                        "path": p.path,
                        "message": p.message,
                    }
                    for p in report.problems
                ],
            }
            typer.echo(json.dumps(doc, indent=2))
        else:
            for problem in report.problems:
                typer.echo(problem.render())
            if report.problems:
                n = len(report.problems)
                files = len({p.file for p in report.problems})
                typer.echo(
                    f"{n} problem{'s' if n != 1 else ''} in {files} file"
                    f"{'s' if files != 1 else ''} ({report.files} read); nothing was changed."
                )
            elif report.state is not None:
                typer.echo(summary(report.state, report.files))
                where = report.state.consolidation.policy.nce_strategy_without_move_by
                if where:
                    typer.echo(
                        f"Note: {where}: nceSourceStrategy without moveBy now applies only to "
                        "new-commerce subscriptions a transfer cannot move (moveBy defaults to "
                        "transfer-first); write moveBy: re-provision to keep re-buying them, "
                        "or moveBy: transfer-first to accept the default."
                    )
        return int(ExitCode.ERROR if report.problems else ExitCode.OK)

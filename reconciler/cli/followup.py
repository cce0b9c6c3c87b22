"""``reconciler followup``: keep one GitHub issue listing what the consolidation waits on.

Run on a schedule after a read-only ``reconciler plan --out plan.json``: the issue is opened
when customers, source partners or Microsoft support still have to act, a deadline is close or
something drifted; updated while that lasts; closed when the plan converged.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from reconciler.cli import runtime
from reconciler.exitcodes import ExitCode


def register(app: typer.Typer) -> None:
    @app.command()
    def followup(
        ctx: typer.Context,
        plan_file: Annotated[Path, typer.Argument(metavar="PLANFILE", help="A saved plan.")],
        repo: Annotated[
            str | None,
            typer.Option("--repo", help="owner/name (default $GITHUB_REPOSITORY)."),
        ] = None,
        within_days: Annotated[
            int,
            typer.Option("--within-days", help="List deadlines closing within this many days."),
        ] = 14,
        label: Annotated[
            str, typer.Option("--label", help="The label that marks the follow-up issue.")
        ] = "reconciler-followup",
    ) -> int:
        """Open, update or close the follow-up issue from a saved plan.

        The token comes from $GITHUB_TOKEN (the job needs `issues: write`), the API from
        $GITHUB_API_URL (default https://api.github.com).
        """
        from reconciler.gitops import github, issues
        from reconciler.operations import planfiles
        from reconciler.rendering import followup as render

        plan = planfiles.read_plan(plan_file)
        environ = runtime.of(ctx).environ
        client = github.from_environ(environ, repo)
        done = issues.sync(
            client,
            title=render.TITLE,
            body=render.body(plan, within_days=within_days, run_url=github.run_url(environ)),
            done=render.settled(plan, within_days),
            label=label,
        )
        typer.echo(f"Follow-up: {done}.")
        return int(ExitCode.OK)

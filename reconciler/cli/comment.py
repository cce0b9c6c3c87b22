"""``reconciler comment``: post a saved plan (or a failed plan's error) on a pull request.

Renders the plan with ``rendering.prcomment`` (every customer in a table row, the pull
request's changed customers first, pages under GitHub's size limit, each with a hidden
marker) and keeps the pull request's comments in step through ``gitops.comments``: edited in
place, more added or extra ones deleted as the plan grows or shrinks. ``--failed`` replaces
them with the error, so a plan that no longer holds never stays up looking valid.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from reconciler import errors
from reconciler.cli import runtime
from reconciler.exitcodes import ExitCode

#: How much of a failed plan's log the error comment shows (its end holds the error).
_LOG_TAIL = 12_000


def changed_customers(manifest_dir: Path, changed_list: Path) -> set[str]:
    """Tenant ids of the customers declared in the files listed in ``changed_list``.

    ``changed_list`` holds one path per line, relative to the current directory (what
    ``git diff --name-only`` prints from the repository's root). Deleted files and files that
    declare no customer (consolidation, offers) add nothing.
    """
    try:
        lines = changed_list.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise errors.UsageError(
            f"Cannot read the list of changed files {changed_list}: {exc.strerror or exc}. "
            "Write it with `git diff --name-only BASE HEAD > FILE`."
        ) from None
    from reconciler import manifests

    wanted = {Path(line.strip()).resolve() for line in lines if line.strip()}
    state = manifests.load([manifest_dir])
    return {c.tenant_id for c in state.customers if Path(c.origin.file).resolve() in wanted}


def register(app: typer.Typer) -> None:
    @app.command()
    def comment(
        ctx: typer.Context,
        plan_file: Annotated[
            Path | None,
            typer.Argument(help="The saved plan (reconciler plan --out FILE); not with --failed."),
        ] = None,
        pr: Annotated[int, typer.Option("--pr", help="The pull request's number.")] = 0,
        failed: Annotated[
            Path | None,
            typer.Option(
                "--failed",
                help="The plan failed: post the end of this log (its stderr) instead of a plan.",
            ),
        ] = None,
        changed_files: Annotated[
            Path | None,
            typer.Option(
                "--changed-files",
                help="A file listing the paths the pull request changes, one a line "
                "(git diff --name-only): their customers come first.",
            ),
        ] = None,
        manifest_dir: Annotated[
            Path, typer.Option("--manifests", help="The manifests the plan was made from.")
        ] = Path("manifests"),
        repo: Annotated[
            str | None,
            typer.Option("--repo", help="owner/name (default $GITHUB_REPOSITORY)."),
        ] = None,
        key: Annotated[
            str,
            typer.Option(
                "--key", help="Which plan comment this is, when one PR gets several plans."
            ),
        ] = "plan",
    ) -> int:
        """Post the plan on a pull request, updating the comments posted before.

        The token comes from $GITHUB_TOKEN (the job needs `pull-requests: write`), the API
        from $GITHUB_API_URL (default https://api.github.com).
        """
        from reconciler.gitops import comments, github
        from reconciler.operations import planfiles
        from reconciler.rendering import prcomment

        if pr <= 0:
            raise errors.UsageError("Give the pull request's number with --pr N.")
        if (plan_file is None) == (failed is None):
            raise errors.UsageError(
                "Give either the saved plan (reconciler comment PLAN.json --pr N) or the "
                "failed plan's log (--failed LOG), not both and not neither."
            )
        if not key.replace("-", "").replace("_", "").replace(".", "").isalnum():
            raise errors.UsageError(f"--key '{key}': use letters, digits, '.', '_' and '-' only.")
        environ = runtime.of(ctx).environ
        where = github.run_url(environ)
        if failed is not None:
            try:
                log = failed.read_text(encoding="utf-8", errors="replace")
            except OSError as exc:
                raise errors.UsageError(
                    f"Cannot read the failed plan's log {failed}: {exc.strerror or exc}."
                ) from None
            bodies = [prcomment.error_page(log[-_LOG_TAIL:], key=key, details_url=where)]
        else:
            assert plan_file is not None
            plan = planfiles.read_plan(plan_file)
            changed = set()
            if changed_files is not None:
                changed = changed_customers(manifest_dir, changed_files)
            bodies = prcomment.pages(plan, changed=changed, key=key, details_url=where)
        client = github.from_environ(environ, repo)
        result = comments.sync(client, pr, bodies, key=key)
        noun = "comment" if len(bodies) == 1 else "comments"
        typer.echo(f"Pull request #{pr}: {len(bodies)} {noun} ({result}).")
        return int(ExitCode.OK)

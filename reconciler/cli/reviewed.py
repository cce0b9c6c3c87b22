"""``reconciler check-plan``: is this saved plan the one reviewed for this commit?

The GitOps flow applies, on merge, the plan reviewed on the pull request, never a fresh one.
Before ``apply PLAN`` the apply job runs ``check-plan PLAN --commit SHA``: the plan must record
that commit (``plan --commit``, the pull request's head) and have been made from exactly the
manifests now checked out (the digest in the plan). Live state that moved since is caught
afterwards by apply's own stale-plan refusal. Reads files only; no network.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from reconciler import errors
from reconciler.exitcodes import ExitCode


def check(plan_file: Path, commit: str, manifest_dir: Path) -> str:
    """The confirmation line, or ApplyRefusedError saying why the plan is not the reviewed one."""
    from reconciler import manifests
    from reconciler.operations import planfiles

    saved = planfiles.read_plan(plan_file)
    recorded = saved.scope.get("commit")
    if recorded != commit:
        made = (
            f"was made from commit {recorded}"
            if recorded
            else "records no commit (make it with `reconciler plan --commit SHA --out FILE`)"
        )
        raise errors.ApplyRefusedError(
            f"The plan {plan_file} {made}, not from {commit}: it is not the plan reviewed for "
            "this change, and nothing was applied. Re-run the plan job on the pull request, "
            "review its plan and merge again."
        )
    state = manifests.load([manifest_dir])
    if state.digest != saved.inputs_digest:
        raise errors.ApplyRefusedError(
            f"The manifests in {manifest_dir} ({state.digest[:19]}) are not those the plan "
            f"{plan_file} was made from ({saved.inputs_digest[:19]}): the branch moved after "
            "the review (another merge?), and nothing was applied. Open a pull request (or "
            "re-run its plan job) so the plan of what is merged now is reviewed, then apply that."
        )
    return (
        f"The plan {plan_file} is the one reviewed for commit {commit}: made from the same "
        f"manifests ({state.digest[:19]})."
    )


def register(app: typer.Typer) -> None:
    @app.command("check-plan")
    def check_plan(
        plan_file: Annotated[Path, typer.Argument(metavar="PLANFILE", help="A saved plan.")],
        commit: Annotated[
            str, typer.Option("--commit", help="The commit that was reviewed (the PR's head).")
        ],
        manifest_dir: Annotated[
            Path, typer.Option("--manifests", help="The manifests about to be applied.")
        ] = Path("manifests"),
    ) -> int:
        """Refuse a saved plan that is not the one reviewed for this commit and manifests.

        Exit 0 when the plan records --commit and was made from exactly these manifests;
        1 otherwise, saying which and what to do. Run it right before `reconciler apply PLANFILE`.
        """
        typer.echo(check(plan_file, commit, manifest_dir))
        return int(ExitCode.OK)

"""``reconciler export``: customer manifests written from the live source tenants.

Parses the options, calls ``operations.export`` (read the source tenants, generate the files)
and reports each file as it is written (atomically, by the operation) and what was skipped and
why. It must NOT hold generation logic.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from reconciler.cli import options, progress, runtime

if TYPE_CHECKING:  # imported inside the command: start-up stays fast
    from reconciler.manifests import exporting


def register(app: typer.Typer) -> None:
    @app.command("export")
    def export_command(
        ctx: typer.Context,
        path: Annotated[
            Path | None,
            typer.Argument(
                help="The manifest directory: its Consolidation names the source tenants; "
                "customer files are written to its customers/ folder.",
                show_default="manifests/",
            ),
        ] = None,
        customer: options.CustomerOpt = None,
        source: options.SourceOpt = None,
        overwrite: Annotated[
            bool,
            typer.Option(
                "--overwrite",
                help="Regenerate the files of customers already declared (keeps protect: true).",
            ),
        ] = False,
        dry_run: Annotated[
            bool, typer.Option("--dry-run", help="Print the files instead of writing them.")
        ] = False,
        credentials: options.CredentialsOpt = None,
        connection: options.ConnectionOpt = None,
        verbose: progress.VerboseOpt = False,
    ) -> int:
        """Write customer manifests from the live source tenants: start from the truth.

        Reads every customer of the source tenants named in the Consolidation (read-only) and
        writes customers/<name>.yaml for each one not declared yet: its active and suspended
        license subscriptions as entries replacing them, Azure subscriptions as hand-offs,
        the rest as comments. Customers that could not be read are reported, never written.
        """
        from reconciler.operations import export

        root = path or Path("manifests")
        request = export.ExportRequest(
            root=root,
            access=runtime.of(ctx).access(credentials, connection),
            customers=tuple(customer or ()),
            source=source,
            overwrite=overwrite,
        )
        with progress.Observer(verbose=verbose).session() as observer:
            result = export.generate(request, observer)
        _emit(result, root, dry_run=dry_run)
        export.check_complete(result)
        return 0


def _emit(result: exporting.Export, root: Path, *, dry_run: bool) -> None:
    from reconciler.operations import export

    verb = "would write" if dry_run else "wrote"
    done = "would be written" if dry_run else "written"
    for f in result.files:
        target = export.target(f, root)
        if dry_run:
            typer.echo(f"==> {target} <==")
            typer.echo(f.text)
        else:
            export.write(f, root)
        what = "overwrote" if f.overwrites and not dry_run else verb
        typer.echo(
            f"{what} {target}: {f.name} ({', '.join(f.sources) or f.source}), "
            f"{_n(f.subscriptions, 'subscription')}, "
            f"{_n(f.azure, 'Azure hand-off')}, {f.left_out} left out as comments"
        )
    for s in result.skipped:
        typer.echo(f"skipped {s.name or s.tenant_id} ({s.tenant_id}, {s.source}): {s.reason}")
    written = len(result.files)
    typer.echo(
        f"Export: {_n(written, 'customer file')} {done}, {len(result.skipped)} skipped."
        + (f" Review them, then run `reconciler validate {root}`." if written else "")
    )


def _n(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"

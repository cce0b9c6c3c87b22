"""``reconciler status``: how far each customer's consolidation got, read fresh (read-only).

Parses its options, calls ``operations.status.status`` and prints the table ``apply`` ends with.
Exit 0 when every customer in scope could be read, 1 when one could not (its row shows ``?``).
"""

from __future__ import annotations

import typer

from reconciler import errors
from reconciler.cli import options, progress, runtime
from reconciler.exitcodes import ExitCode


def register(app: typer.Typer) -> None:
    @app.command()
    def status(
        ctx: typer.Context,
        paths: options.ManifestPathsArg = None,
        customer: options.CustomerOpt = None,
        exclude: options.ExcludeOpt = None,
        source: options.SourceOpt = None,
        credentials: options.CredentialsOpt = None,
        connection: options.ConnectionOpt = None,
        verbose: progress.VerboseOpt = False,
    ) -> int:
        """Show how far each customer got: invited, targets active, sources stopped, Azure.

        Read-only. Targets are found by the same rules the plan matches with (pin, transfer,
        marker, offer, product), so a subscription adopted by product counts as the customer's.
        `?` means the state could not be read; `-` means nothing of that kind to do.
        """
        from reconciler.applying import verify
        from reconciler.operations import plan as planning
        from reconciler.operations import status as reading

        run = runtime.of(ctx)
        selection = planning.Selection(tuple(customer or ()), tuple(exclude or ()), source)
        with progress.Observer(verbose=verbose).session() as observer:
            rows = reading.status(
                paths or [], selection, run.access(credentials, connection), observer
            )
        typer.echo(verify.render(rows), nl=False)
        unread = [
            r for r in rows if "?" in (r.target_active, r.source_stopped) or r.invited is None
        ]
        if unread:
            raise errors.ReadError(
                f"{len(unread)} customer(s) could not be read (shown as ?): run "
                "`reconciler plan --verbose` to see why, then `reconciler status` again."
            )
        return int(ExitCode.OK)

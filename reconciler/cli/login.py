"""``reconciler login TENANT``: the delegated (App+User) device-code sign-in.

Partner Center serves a few calls (the reseller-relationship invitation URL) only to a signed-in
user. This command runs the device-code flow once; the refresh token lands in an MSAL token
cache file readable only by the user (0600), from which later runs get tokens silently.

This module must NOT print tokens or keep them anywhere but the cache file, and holds no
Partner Center logic (it calls ``operations.signin``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from reconciler.cli import options, runtime
from reconciler.exitcodes import ExitCode


def register(app: typer.Typer) -> None:
    @app.command()
    def login(
        ctx: typer.Context,
        tenant: Annotated[
            str, typer.Argument(help="The tenant's name in the manifests, e.g. central.")
        ],
        tenant_id: Annotated[
            str | None,
            typer.Option(
                "--tenant-id", help="The partner tenant's id (default: from the manifests)."
            ),
        ] = None,
        manifest_paths: Annotated[
            list[Path] | None,
            typer.Option(
                "--manifests",
                help="Manifest files or directories to find the tenant in.",
                show_default="manifests/",
            ),
        ] = None,
        credentials: options.CredentialsOpt = None,
        connection: options.ConnectionOpt = None,
    ) -> int:
        """Sign in as a Partner Center user (device code) for the App+User-only calls.

        Prints a URL and a code: open the URL anywhere, enter the code, sign in with an MFA-enabled Partner Center account. The refresh token is kept in ~/.config/reconciler/tokens/TENANT.json (or RECONCILER_TOKEN_CACHE_DIR), readable only by you.
        """  # noqa: E501 - typer re-wraps help text; one line per paragraph
        from reconciler.operations import signin

        access = runtime.of(ctx).access(credentials, connection)
        found = signin.tenant(tenant, tenant_id, manifest_paths or [], access)
        done = signin.sign_in(found, access, show=lambda text: typer.echo(text, err=True))
        user = done.user
        who = f" as {user}" if user else ""
        typer.echo(
            f"Signed in to '{tenant}'{who}. The token cache is {done.cache_path} "
            "(readable only by you); `plan` now reads the invitation URL."
        )
        return int(ExitCode.OK)

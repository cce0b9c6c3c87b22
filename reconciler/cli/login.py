"""``reconciler login TENANT``: the delegated (App+User) device-code sign-in.

Partner Center serves a few calls (the reseller-relationship invitation URL) only to a signed-in
user. This command runs the device-code flow once; the refresh token lands in an MSAL token
cache file readable only by the user (0600), from which later runs get tokens silently.

This module must NOT print tokens or keep them anywhere but the cache file, and holds no
Partner Center logic (it calls ``partner_center.auth``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from reconciler import errors, manifests, model, settings
from reconciler.cli import options
from reconciler.exitcodes import ExitCode
from reconciler.partner_center import auth, config, http


def _tenant(
    name: str,
    tenant_id: str | None,
    paths: list[Path] | None,
    credentials: Path | None,
    connection: Path | None,
) -> model.Tenant:
    """The tenant called ``name``: from --tenant-id, the configuration, or the manifests."""
    tid = tenant_id or config.tenant_id_hint(
        name, credentials_path=credentials, connection_path=connection
    )
    if tid:
        return model.Tenant(name=name, tenant_id=tid.lower(), country="", role=model.Role.SOURCE)
    manifest_paths = paths or [Path("manifests")]
    if not any(p.exists() for p in manifest_paths):
        raise errors.UsageError(
            f"Cannot tell the tenant id of '{name}': pass --tenant-id, set "
            f"{settings.tenant_env(name, settings.SUFFIX_TENANT_ID)}, or run where the "
            "manifests are (--manifests)."
        )
    state = manifests.load(manifest_paths)
    found = next((t for t in state.consolidation.tenants if t.name == name), None)
    if found is None:
        known = ", ".join(t.name for t in state.consolidation.tenants)
        raise errors.UsageError(
            f"The consolidation manifest has no tenant named '{name}' (it has: {known})."
        )
    return found


def register(app: typer.Typer) -> None:
    @app.command()
    def login(
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
        found = _tenant(tenant, tenant_id, manifest_paths, credentials, connection)
        endpoints, delegated = config.resolve_delegated(
            found, credentials_path=credentials, connection_path=connection
        )
        msal_http = auth.MsalHttpClient(
            http.new_session(pool_size=2), verify=endpoints.verify, timeout=30.0
        )
        user = auth.device_code_login(
            delegated, endpoints, msal_http, show=lambda text: typer.echo(text, err=True)
        )
        who = f" as {user}" if user else ""
        typer.echo(
            f"Signed in to '{tenant}'{who}. The token cache is {delegated.cache_path} "
            "(readable only by you); `plan` now reads the invitation URL."
        )
        return int(ExitCode.OK)

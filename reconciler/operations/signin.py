"""The delegated (App+User) device-code sign-in of ``login`` (and of the demo): which tenant,
the flow itself, and where the refresh token was cached. Tokens are never returned."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from reconciler import errors, manifests, model, settings
from reconciler.operations import live


@dataclass(frozen=True, slots=True)
class SignedIn:
    #: The signed-in user's name, when the authority said it.
    user: str | None
    cache_path: Path


def tenant(
    name: str, tenant_id: str | None, paths: Sequence[Path], access: live.Access
) -> model.Tenant:
    """The tenant called ``name``: from ``tenant_id``, the configuration, or the manifests."""
    from reconciler.partner_center import config

    tid = tenant_id or config.tenant_id_hint(
        name,
        credentials_path=access.credentials,
        connection_path=access.connection,
        environ=access.environ,
    )
    if tid:
        return model.Tenant(name=name, tenant_id=tid.lower(), country="", role=model.Role.SOURCE)
    manifest_paths = list(paths) or [Path("manifests")]
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


def sign_in(who: model.Tenant, access: live.Access, show: Callable[[str], None]) -> SignedIn:
    """Run the device-code flow for ``who``; ``show`` gets the URL-and-code message."""
    from reconciler.partner_center import auth, config, http

    endpoints, delegated = config.resolve_delegated(
        who,
        credentials_path=access.credentials,
        connection_path=access.connection,
        environ=access.environ,
    )
    msal_http = auth.MsalHttpClient(
        http.new_session(pool_size=2),
        verify=endpoints.verify,
        timeout=settings.DEFAULT_TIMEOUT_SECONDS,
        tenant=who.name,
        ca_source=endpoints.ca_bundle_source,
    )
    user = auth.device_code_login(delegated, endpoints, msal_http, show=show)
    return SignedIn(user, delegated.cache_path)

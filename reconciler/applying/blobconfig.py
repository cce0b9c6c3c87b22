"""Where the shared state backend lives and how to sign in to it: ``configure`` reads the
options and the environment (``RECONCILER_STATE_BACKEND``, ``RECONCILER_STATE_CONTAINER_URL``
and one credential) into a ``Config`` for ``blobstate``, or None for local state. Refuses what
cannot work (no URL, plain http off loopback, no container, no credential) before anything is
read. Secrets are read from the environment only and never printed (``shown_url``).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

from reconciler import errors, settings

#: Seconds of the SDK's first retry back-off, and its number of retries (5xx, timeouts).
RETRIES = 3
BACKOFF = 2

WHAT_TO_SET = (
    f"{settings.ENV_STATE_CONNECTION_STRING}, {settings.ENV_STATE_ACCOUNT_KEY} or "
    f"{settings.ENV_STATE_SAS_TOKEN} (or a SAS in the container URL)"
)


@dataclass(frozen=True, slots=True)
class Config:
    """Where the shared state lives and how to sign in to it. ``credential`` is what the SDK
    takes (``{"account_name", "account_key"}``, a SAS string, or None when the URL carries
    its SAS); it is never printed: messages use ``shown``."""

    url: str
    credential: dict[str, str] | str | None
    auth: str
    retries: int = RETRIES
    backoff: int = BACKOFF

    @property
    def shown(self) -> str:
        """The container URL without its query (a SAS) or user info."""
        return shown_url(self.url)

    @property
    def container(self) -> str:
        return urlsplit(self.url).path.rstrip("/").rsplit("/", 1)[-1]


def shown_url(url: str) -> str:
    """``url`` safe to print: no query string, no ``user:password@``."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return errors.redact(url)
    query = "?[redacted]" if parts.query else ""
    return urlunsplit((parts.scheme, host + port, parts.path, "", "")) + query


def _loopback(host: str) -> bool:
    if host.lower() in ("localhost", "localhost."):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return host.lower() in ("localhost", "localhost.")
    return True


def configure(
    environ: Mapping[str, str], *, backend: str | None = None, container_url: str | None = None
) -> Config | None:
    """The shared backend's configuration (None for the local one) from the options (given
    first) and the environment. Raises ``StateBackendError`` for what cannot work."""
    chosen = (backend or environ.get(settings.ENV_STATE_BACKEND) or "local").strip().lower()
    if chosen not in settings.STATE_BACKENDS:
        raise errors.UsageError(
            f"State backend {chosen!r} is not one of {', '.join(settings.STATE_BACKENDS)} "
            f"(--state-backend or {settings.ENV_STATE_BACKEND})."
        )
    if chosen == "local":
        return None
    url = (container_url or environ.get(settings.ENV_STATE_CONTAINER_URL) or "").strip()
    if not url:
        raise errors.StateBackendError(
            "The azure state backend needs the URL of a blob container: set "
            f"{settings.ENV_STATE_CONTAINER_URL} (or --state-container-url) to "
            "https://<account>.blob.core.windows.net/<container>."
        )
    parts = urlsplit(url)
    host = parts.hostname or ""
    segments = [s for s in parts.path.split("/") if s]
    if parts.scheme != "https" and not (parts.scheme == "http" and _loopback(host)):
        raise errors.StateBackendError(
            f"The state container URL {shown_url(url)} must use https:// (plain http:// only "
            "for a storage emulator on this machine); fix "
            f"{settings.ENV_STATE_CONTAINER_URL} or --state-container-url."
        )
    # Path style (an emulator: http://127.0.0.1:10000/<account>/<container>) or host style.
    path_style = _is_ip(host)
    if not host or len(segments) != (2 if path_style else 1):
        raise errors.StateBackendError(
            f"The state container URL {shown_url(url)} does not name one container: use "
            "https://<account>.blob.core.windows.net/<container> (for Azurite: "
            "http://127.0.0.1:10000/devstoreaccount1/<container>)."
        )
    account = segments[0] if path_style else host.split(".", 1)[0]
    if parts.query:
        return Config(url, None, "the SAS in the container URL")
    return Config(url, *_credential(environ, account, url))


def _credential(
    environ: Mapping[str, str], account: str, url: str
) -> tuple[dict[str, str] | str, str]:
    for name in (
        settings.ENV_STATE_CONNECTION_STRING,
        settings.ENV_AZURE_STORAGE_CONNECTION_STRING,
    ):
        text = environ.get(name, "").strip()
        if not text:
            continue
        pairs = (p.partition("=") for p in text.split(";") if "=" in p)
        fields = {k.strip().lower(): v.strip() for k, _, v in pairs}
        if fields.get("accountkey"):
            name_ = fields.get("accountname") or account
            return {"account_name": name_, "account_key": fields["accountkey"]}, name
        if fields.get("sharedaccesssignature"):
            return fields["sharedaccesssignature"].lstrip("?"), name
        raise errors.StateBackendError(
            f"{name} has neither an AccountKey nor a SharedAccessSignature, so it cannot sign "
            f"in to the state container {shown_url(url)}; copy the connection string from the "
            "storage account's 'Access keys' page, or use a SAS."
        )
    key = environ.get(settings.ENV_STATE_ACCOUNT_KEY, "").strip()
    if key:
        return {"account_name": account, "account_key": key}, settings.ENV_STATE_ACCOUNT_KEY
    sas = environ.get(settings.ENV_STATE_SAS_TOKEN, "").strip()
    if sas:
        return sas.lstrip("?"), settings.ENV_STATE_SAS_TOKEN
    raise errors.StateBackendError(
        f"No credential for the state container {shown_url(url)}: set {WHAT_TO_SET}. "
        "Nothing was applied."
    )

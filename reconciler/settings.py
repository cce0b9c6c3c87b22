"""Settings shared by the shell layers: endpoints, throughput and the names of the environment
variables that configure them.

This module is plain data and constants. It must NOT read files or the environment, raise
user-facing errors, or import anything (project or third party): the loading and checking of
configuration lives in ``reconciler.partner_center.config``, which turns what it finds into
these values. Secrets never live here.
"""

from __future__ import annotations

from dataclasses import dataclass

#: Partner Center's public cloud (partner-center-api.md §1.1).
DEFAULT_API_ROOT = "https://api.partnercenter.microsoft.com"
#: Entra ID's public authority host (§2.3).
DEFAULT_AUTHORITY_HOST = "https://login.microsoftonline.com"
#: Resource of Partner Center tokens; the scopes below hang off it (§2.2).
PARTNER_CENTER_RESOURCE = "https://api.partnercenter.microsoft.com"
APP_SCOPE = PARTNER_CENTER_RESOURCE + "/.default"
USER_SCOPE = PARTNER_CENTER_RESOURCE + "/user_impersonation"
#: Audience GitHub Actions OIDC tokens must carry for Entra workload identity federation.
GITHUB_OIDC_AUDIENCE = "api://AzureADTokenExchange"

#: Documented limit: 500 requests per minute per partner tenant (§6). We stay a little under.
DOCUMENTED_TENANT_RATE_PER_MINUTE = 500
DEFAULT_TENANT_RATE_PER_MINUTE = 480
#: Per (partner, customer) limit: Microsoft publishes no number (§6, [U]); a conservative pace.
DEFAULT_CUSTOMER_RATE_PER_MINUTE = 120
DEFAULT_CONCURRENCY = 8
#: Customers ``apply`` works on at once (``--parallelism``). Each customer's changes stay in
#: plan order on one worker; workers mostly wait for provisioning, so more workers than
#: connections per tenant keep the tenant's rate budget busy (bench/bench_apply.py).
DEFAULT_APPLY_PARALLELISM = 16
#: Seconds of a tenant's per-minute budget the client may send at once (``burst_seconds``).
DEFAULT_BURST_SECONDS = 1.0
#: Seconds before one HTTP attempt is abandoned (connect and read each).
DEFAULT_TIMEOUT_SECONDS = 30.0
#: First wait before retrying a failed call; each further retry doubles it (capped at 60x).
DEFAULT_RETRY_BACKOFF_SECONDS = 1.0
#: Seconds a new order may take to show in the order list: "up to 15 minutes" (§0). After an
#: order's answer is lost, apply looks for it this long before concluding anything.
DEFAULT_ORDER_LIST_LAG_SECONDS = 900.0
#: Seconds ``apply`` waits for another apply's lock by default (``--lock-timeout``): none.
DEFAULT_LOCK_TIMEOUT_SECONDS = 0.0
#: Seconds before a call to the emulator's control surface is abandoned.
EMULATOR_CONTROL_TIMEOUT_SECONDS = 30.0
#: Where ``apply`` keeps journals, applied plan ids and locks unless told otherwise.
DEFAULT_STATE_DIR = ".reconciler"

# Environment variables (documented in docs/configuration.md). Per-tenant variables are
# spelled ``RECONCILER_<TENANT>_<SUFFIX>`` with the tenant's manifest name upper-cased and
# every non-alphanumeric character turned into ``_`` (``de`` -> ``RECONCILER_DE_CLIENT_ID``).
ENV_PREFIX = "RECONCILER_"
ENV_API_ROOT = "RECONCILER_API_ROOT"
ENV_AUTHORITY_HOST = "RECONCILER_AUTHORITY_HOST"
ENV_CA_BUNDLE = "RECONCILER_CA_BUNDLE"
ENV_CREDENTIALS_FILE = "RECONCILER_CREDENTIALS_FILE"
ENV_CONNECTION_FILE = "RECONCILER_CONNECTION_FILE"
ENV_TOKEN_CACHE_DIR = "RECONCILER_TOKEN_CACHE_DIR"
ENV_STATE_DIR = "RECONCILER_STATE_DIR"
ENV_LOCK_DIR = "RECONCILER_LOCK_DIR"
#: ``local`` (the default: journals and locks on this machine) or ``azure`` (a blob container
#: shared by every runner; docs/apply.md, "Shared state").
ENV_STATE_BACKEND = "RECONCILER_STATE_BACKEND"
ENV_STATE_CONTAINER_URL = "RECONCILER_STATE_CONTAINER_URL"
ENV_STATE_CONNECTION_STRING = "RECONCILER_STATE_CONNECTION_STRING"
#: The Azure SDKs' usual variable, used when RECONCILER_STATE_CONNECTION_STRING is not set.
ENV_AZURE_STORAGE_CONNECTION_STRING = "AZURE_STORAGE_CONNECTION_STRING"
ENV_STATE_ACCOUNT_KEY = "RECONCILER_STATE_ACCOUNT_KEY"
ENV_STATE_SAS_TOKEN = "RECONCILER_STATE_SAS_TOKEN"
STATE_BACKENDS = ("local", "azure")
ENV_NO_COLOR = "NO_COLOR"
ENV_RATE_PER_MINUTE = "RECONCILER_RATE_PER_MINUTE"
ENV_CUSTOMER_RATE_PER_MINUTE = "RECONCILER_CUSTOMER_RATE_PER_MINUTE"
ENV_CONCURRENCY = "RECONCILER_CONCURRENCY"
ENV_TIMEOUT_SECONDS = "RECONCILER_TIMEOUT_SECONDS"
ENV_RETRY_BACKOFF_SECONDS = "RECONCILER_RETRY_BACKOFF_SECONDS"
ENV_BURST_SECONDS = "RECONCILER_BURST_SECONDS"
ENV_ORDER_LIST_LAG_SECONDS = "RECONCILER_ORDER_LIST_LAG_SECONDS"
ENV_GITHUB_REQUEST_URL = "ACTIONS_ID_TOKEN_REQUEST_URL"
ENV_GITHUB_REQUEST_TOKEN = "ACTIONS_ID_TOKEN_REQUEST_TOKEN"
#: Azure Pipelines' OIDC endpoint and the job's access token (map $(System.AccessToken) into
#: the step's env as SYSTEM_ACCESSTOKEN; SYSTEM_OIDCREQUESTURI is set on every agent).
ENV_ADO_REQUEST_URI = "SYSTEM_OIDCREQUESTURI"
ENV_ADO_ACCESS_TOKEN = "SYSTEM_ACCESSTOKEN"
ADO_OIDC_API_VERSION = "7.1"

SUFFIX_CLIENT_ID = "CLIENT_ID"
SUFFIX_CLIENT_SECRET = "CLIENT_SECRET"
SUFFIX_CERTIFICATE = "CERTIFICATE"
SUFFIX_CERTIFICATE_THUMBPRINT = "CERTIFICATE_THUMBPRINT"
SUFFIX_FEDERATED_TOKEN_FILE = "FEDERATED_TOKEN_FILE"
SUFFIX_GITHUB_OIDC = "GITHUB_OIDC"
SUFFIX_AZURE_PIPELINES_SERVICE_CONNECTION = "AZURE_PIPELINES_SERVICE_CONNECTION"
SUFFIX_PUBLIC_CLIENT_ID = "PUBLIC_CLIENT_ID"
SUFFIX_TENANT_ID = "TENANT_ID"

#: Default credentials file, outside any repository.
DEFAULT_CREDENTIALS_FILE = "~/.config/reconciler/credentials.toml"
#: Default directory of the delegated (App+User) MSAL token caches, one file per tenant.
DEFAULT_TOKEN_CACHE_DIR = "~/.config/reconciler/tokens"


def tenant_env(tenant_name: str, suffix: str) -> str:
    """The environment variable holding ``suffix`` for a tenant: ``RECONCILER_DE_CLIENT_ID``."""
    slug = "".join(ch if ch.isalnum() else "_" for ch in tenant_name.upper())
    return f"{ENV_PREFIX}{slug}_{suffix}"


@dataclass(frozen=True, slots=True)
class Endpoints:
    """Where Partner Center and its token authority live, and which CAs we trust for them."""

    api_root: str = DEFAULT_API_ROOT
    authority_host: str = DEFAULT_AUTHORITY_HOST
    #: A PEM bundle to trust instead of the system store; ``None`` means the default store.
    ca_bundle: str | None = None
    #: Where ``ca_bundle`` was set (for messages): an environment variable, a file's table.
    ca_bundle_source: str = ""

    @property
    def verify(self) -> str | bool:
        """The value for requests' ``verify=``: always explicit, never left to the environment."""
        return self.ca_bundle if self.ca_bundle else True


@dataclass(frozen=True, slots=True)
class Throughput:
    """How hard we may drive Partner Center, and how patiently: client-side pacing,
    parallelism, the per-attempt timeout and the retry back-off (plan and apply alike)."""

    #: Requests per minute per partner tenant (the client-side token bucket).
    tenant_rate_per_minute: float = DEFAULT_TENANT_RATE_PER_MINUTE
    #: Requests per minute per (partner tenant, customer) pair.
    customer_rate_per_minute: float = DEFAULT_CUSTOMER_RATE_PER_MINUTE
    #: Concurrent requests per partner tenant (tenants themselves always run in parallel).
    concurrency_per_tenant: int = DEFAULT_CONCURRENCY
    #: Seconds before a single HTTP attempt is abandoned (connect and read).
    timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS
    #: First wait before retrying a failed call (5xx, 408, dropped connection); later retries
    #: double it, up to 60 times this. A 429 waits its Retry-After instead.
    retry_backoff_seconds: float = DEFAULT_RETRY_BACKOFF_SECONDS
    #: Seconds of the per-minute tenant budget that may be sent at once (1 to 60).
    burst_seconds: float = DEFAULT_BURST_SECONDS
    #: How long after sending an order whose answer was lost apply keeps looking for it
    #: before it stops the step as unknown (never re-sending it in that run).
    order_list_lag_seconds: float = DEFAULT_ORDER_LIST_LAG_SECONDS

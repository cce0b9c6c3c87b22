"""The one error tree of the project.

Every failure a user can cause or meet is a ``ReconcilerError``: the CLI prints its message
(one paragraph: what, where, what to do) and exits 1, never a traceback. Anything that is not
a ``ReconcilerError`` is a bug; the CLI writes its traceback to a file and says where.

The classes live here and nowhere else (a test walks every subclass); modules that raise
them may re-export a name for their callers (``partner_center.errors`` keeps the mapping of an
HTTP status and code to an ``ApiError`` class and re-exports those). The failures that cross the
apply port (``applying.ports.Writer``) are named ``errors.OutcomeUnknown`` and so on.

::

    ReconcilerError
    ├── UsageError            bad command-line arguments or paths
    ├── ManifestError         one or more manifest problems (carries all of them)
    ├── ConfigError           credentials, connection file, endpoints
    ├── ApiError              Partner Center said no, or could not be reached
    │   ├── ApiAuthError          401: the token was refused
    │   ├── ApiForbidden          403
    │   │   ├── ApiNoRelationship     no relationship with the customer (yet)
    │   │   └── ApiNeedsUser          the call needs an App+User sign-in
    │   ├── ApiNotFound           404
    │   ├── ApiConflict           409 / 412
    │   ├── ApiThrottled          429 after every retry
    │   ├── ApiServerError        5xx, 408, no response
    │   ├── ApiBusinessError      any other 4xx: invalid, will not succeed if repeated
    │   └── UnknownOutcome        a write whose result stayed unknown after retries
    ├── WireFormatError       a Partner Center payload lacks what we need to read it safely
    ├── ReadError             a tenant's customer list could not be read at all
    ├── PlanError             the planner cannot produce a safe plan (ambiguous match, ...)
    ├── PlanFileError         a saved plan file cannot be read or has the wrong format
    ├── StalePlanError        a saved plan's live state has moved since planning
    ├── ApplyRefusedError     apply refused before any write (caps, approval, already applied)
    ├── LockHeldError         another writer holds the lock
    ├── JournalError          the apply journal cannot be written or read back
    ├── FileWriteError        a file cannot be written (reconciler.files: every writer)
    ├── OutcomeUnknown        (port) a write may or may not have happened
    │   └── OrderInProgress       an order exists and is still being processed
    ├── WriteRejected         (port) a definite "no" to a write
    ├── Unreadable            (port) an answer that cannot be understood
    ├── NotFound              (port) the resource a step depends on does not exist
    ├── ExportIncompleteError some customers could not be read; the others were exported
    ├── DemoError             the demo did not end as expected (a bug to report)
    └── GitHubError           GitHub's REST API refused or could not be reached

``manifests.yamlsafe.YamlError`` is deliberately outside the tree: it is the YAML reader's
internal signal, always turned into ``Problem`` entries of a ``ManifestError`` by its one
caller, and never shown to a user as such.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from reconciler import escaping


class ReconcilerError(Exception):
    """Base of every expected failure; its ``str`` is the user-facing message."""


class UsageError(ReconcilerError):
    """The command line asked for something that cannot be done as written."""


@dataclass(frozen=True, slots=True)
class Problem:
    """One problem found in a manifest, located precisely enough for an editor to jump to it.

    ``line`` and ``column`` are 1-based and point at the offending YAML node (not at the start
    of its document); ``path`` is a JSONPath such as ``$.subscriptions[1].quantity``.
    """

    file: str
    line: int
    column: int
    path: str
    message: str

    def render(self) -> str:
        """``file:line:col: $.json.path: sentence``: the format of ``reconciler validate``."""
        text = f"{self.file}:{self.line}:{self.column}: {self.path}: {self.message}"
        return escaping.visible(text)  # a key or file name cannot forge a line


class ManifestError(ReconcilerError):
    """The manifests are not valid; carries every problem found, not just the first."""

    def __init__(self, problems: Sequence[Problem], *, files: int = 0) -> None:
        self.problems = tuple(problems)
        self.files = files
        super().__init__(self.summary())

    def summary(self) -> str:
        n = len(self.problems)
        noun = "problem" if n == 1 else "problems"
        listing = "\n".join(p.render() for p in self.problems)
        return f"{listing}\n{n} {noun} in the manifests; fix them and run `reconciler validate`."


class ConfigError(ReconcilerError):
    """Credentials, endpoints or the connection file are missing or wrong."""


class TenantAccessError(ConfigError):
    """A partner tenant cannot be used at all (sign-in refused, sign-in service down, TLS
    verification failed): reported once for the tenant, never once per customer."""


class SignInError(TenantAccessError):
    """No token for a partner tenant: its credentials were refused, or the sign-in service
    (the authority) kept failing."""


class TlsError(TenantAccessError):
    """A host's TLS certificate did not verify against the configured CA bundle."""


class PlanError(ReconcilerError):
    """The planner refused to guess (for example an ambiguous match of target subscriptions)."""


class PlanFileError(ReconcilerError):
    """A saved plan file cannot be read, or was written by an incompatible version."""


class StalePlanError(ReconcilerError):
    """The live state of some customers moved since the saved plan was made."""

    def __init__(self, message: str, *, customers: Sequence[str]) -> None:
        self.customers = tuple(customers)
        super().__init__(message)


class ApplyRefusedError(ReconcilerError):
    """``apply`` refused to start: not approved, caps exceeded, plan already applied, ..."""


class LockHeldError(ReconcilerError):
    """Another apply holds the lock of the target tenant."""


class JournalError(ReconcilerError):
    """The apply journal cannot be written (no write is sent without its journal line), or a
    journal line cannot be read back."""


class LockLostError(JournalError):
    """The shared lock (a blob lease) was lost while apply ran. A ``JournalError``: like a
    journal line that cannot be made durable, it stops the run before its next write."""


class StateBackendError(ConfigError):
    """The shared state backend (an Azure Blob Storage container) is misconfigured, cannot
    be reached, refuses the credentials or does not exist."""


class FileWriteError(ReconcilerError):
    """A file (plan, export, token cache, lock) cannot be written; nothing half-written stays."""


class ExportIncompleteError(ReconcilerError):
    """``export``: some customers could not be read; the others were written."""


class DemoError(ReconcilerError):
    """The demo did not end as expected: a bug in the tool or the emulator, to be reported."""


class GitHubError(ReconcilerError):
    """GitHub's REST API refused or could not be reached (PR comments, follow-up issue)."""


class WireFormatError(ReconcilerError):
    """A Partner Center payload lacks what we need to interpret it safely (we would rather say
    "unknown" than guess)."""


class ReadError(ReconcilerError):
    """A tenant's state could not be read at all (only when every customer was asked for)."""


# -- the failures that cross the apply port (``applying.ports.Writer``) -----------------------


class OutcomeUnknown(ReconcilerError):
    """The write may or may not have happened (timeout, reset, 5xx after sending)."""


class OrderInProgress(OutcomeUnknown):
    """Partner Center says an order (or the cart's checkout) is still being processed (409
    800060 / 800064): it exists, so it is waited for, never sent again."""


class WriteRejected(ReconcilerError):
    """Partner Center gave a definite "no" (4xx business error, not found, forbidden)."""


class ResourceChanged(WriteRejected):
    """Partner Center refused a write because the resource changed since it was read (code
    2055 "Etag is no longer valid" at any status, 409, 412), and a read after it shows the
    change not made: nothing was written. Apply reads it again and decides again, once."""


class Unreadable(ReconcilerError):
    """Partner Center answered with something that cannot be understood; nothing is assumed."""


class NotFound(ReconcilerError):
    """The resource a step depends on does not exist (any more)."""


# -- Partner Center's answers (``partner_center.errors`` maps a response to a class) ----------

#: Longest response description kept in a message.
MAX_DESCRIPTION = 300

# Anything that may be a credential: bearer tokens, JWTs, key=value secrets in form bodies.
_SECRET_PATTERNS = (
    re.compile(r"(?i)bearer\s+[A-Za-z0-9._~+/=-]+"),
    re.compile(r"eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*"),
    re.compile(
        r"(?i)(client_secret|client_assertion|access_token|refresh_token|id_token|password"
        r"|assertion|secret|token)([\"']?\s*[:=]\s*[\"']?)[^\s\"'&,}]+"
    ),
    # user:password@ in a URL (``https://user:pass@host/``).
    re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/\s@\"'<>]+@"),
    # Secrets carried in a query string (SAS ``sig=``, OAuth ``code=``, API keys ...).
    re.compile(
        r"(?i)([?&;](?:sig|signature|code|key|api[_-]?key|apikey|pwd|passwd|password|"
        r"client_secret|secret|token|access_token|refresh_token|id_token|assertion"
        r"|client_assertion|credential|auth)=)[^&#\s\"'<>]+"
    ),
)


def redact(text: str) -> str:
    """``text`` with bearer tokens, JWTs, ``secret=...``-style values, a URL's
    ``user:password@`` and query-string secrets (``sig=``, ``code=``, ...) replaced."""
    out = _SECRET_PATTERNS[0].sub("Bearer [redacted]", text)
    out = _SECRET_PATTERNS[1].sub("[redacted-jwt]", out)
    out = _SECRET_PATTERNS[2].sub(lambda m: f"{m.group(1)}{m.group(2)}[redacted]", out)
    out = _SECRET_PATTERNS[3].sub(lambda m: f"{m.group(1)}[redacted]@", out)
    return _SECRET_PATTERNS[4].sub(lambda m: f"{m.group(1)}[redacted]", out)


def _clip(text: str, limit: int = MAX_DESCRIPTION) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


class ApiError(ReconcilerError):
    """Partner Center answered a call with an error, or the call could not be completed."""

    hint = "Check the request and the Partner Center documentation for this error code."

    def __init__(
        self,
        *,
        status: int,
        code: int | None,
        description: str,
        method: str,
        path: str,
        request_id: str = "",
        tenant: str = "",
    ) -> None:
        self.status = status
        self.code = code
        self.description = _clip(redact(description))
        self.method = method
        self.path = path
        self.request_id = request_id
        self.tenant = tenant
        super().__init__(self._message())

    def _message(self) -> str:
        where = f"{self.method} {self.path}"
        if self.tenant:
            where += f" on partner tenant '{self.tenant}'"
        what = f"HTTP {self.status}" if self.status else "no response"
        if self.code is not None:
            what += f", code {self.code}"
        text = f"Partner Center call {where} failed ({what})"
        if self.description:
            text += f": {self.description.rstrip('.')}"
        text += f". {self.hint}"
        if self.request_id:
            text += f" (MS-RequestId {self.request_id})"
        return text


class ApiAuthError(ApiError):
    hint = (
        "The token was refused: check the tenant's client id and credential (see "
        "docs/configuration.md) and that the app is registered in Partner Center."
    )


class ApiForbidden(ApiError):
    hint = "The caller lacks the rights for this call: check the app's Partner Center role."


class ApiNoRelationship(ApiForbidden):
    hint = (
        "The partner tenant has no relationship with this customer yet (for the target: the "
        "customer has not accepted the reseller invitation)."
    )


class ApiNeedsUser(ApiForbidden):
    hint = "This call needs a delegated (App+User) sign-in: run `reconciler login TENANT`."


class ApiNotFound(ApiError):
    hint = "The resource does not exist (or no longer exists); re-read live state with `plan`."


class ApiConflict(ApiError):
    hint = "Another operation is in progress or the resource changed; re-read it and retry."


class ApiThrottled(ApiError):
    hint = "Partner Center kept throttling the calls; lower RECONCILER_RATE_PER_MINUTE or retry."

    def __init__(self, *, retry_after: float | None = None, **kwargs: object) -> None:
        self.retry_after = retry_after
        super().__init__(**kwargs)  # type: ignore[arg-type]


class ApiServerError(ApiError):
    hint = "Partner Center failed or could not be reached; retry later."


class ApiBusinessError(ApiError):
    hint = "Partner Center refused the request as invalid; it will not succeed if repeated."


class UnknownOutcome(ApiError):
    """A write whose result is unknown: it may or may not have happened. Never resend it with
    a new request id before looking for its effect in live state (product rule 2)."""

    hint = (
        "The write may or may not have taken effect: it was retried with the same MS-RequestId "
        "without a definite answer. Look for its effect in live state before sending it again."
    )

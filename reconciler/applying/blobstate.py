"""The shared state backend: apply's lock and journal in an Azure Blob Storage container, so
that several working copies and ephemeral CI runners exclude each other and every run's
evidence survives the runner (docs/apply.md, "Shared state").

Layout of the container:

- ``locks/<target tenant id>.json``: the lock of one target tenant, a blob *lease* (60 s,
  renewed every 20 s by a background thread while apply runs, released at the end; a holder
  that dies stops renewing and the lease ends by itself). Its content names the holder
  (``locking.LockInfo``: user, host, pid, CI run and job URL, since, plan and run id).
- ``journal/<target tenant id>/<run id>.jsonl``: one append blob per run, the same JSON lines
  as the local journal, appended before the local line is written.
- ``applied-plans.jsonl``: the plan ids applied, one append blob for all runs.

This is the only module that imports the Azure SDK (``azure-storage-blob``), and it does so
inside its functions: a command that does not use the shared backend never loads it. Every
SDK failure becomes one paragraph naming the container (its URL without secrets) and what to
do. This module must NOT decide anything about the plan.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from reconciler import errors, files, settings
from reconciler.applying import blobconfig, journal, locking
from reconciler.applying.blobconfig import Config

if TYPE_CHECKING:
    from azure.storage.blob import BlobClient, BlobLeaseClient, ContainerClient

#: Seconds a lease lasts without renewal (Azure allows 15 to 60).
LEASE_SECONDS = 60
#: Seconds between renewals: two may fail before the lease ends.
RENEW_SECONDS = 20.0
#: Connection and read timeouts of one request; the SDK retries a failed one
#: (``blobconfig.RETRIES`` times).
CONNECT_TIMEOUT = 10
READ_TIMEOUT = 30
LOCKS = "locks/"
JOURNALS = "journal/"
APPLIED = "applied-plans.jsonl"

# ------------------------------------------------------------------------------ the container


class Store:
    """The shared state container, reached through the SDK's client (its retry policy
    handles 5xx and timeouts, within bounded timeouts)."""

    def __init__(self, config: Config) -> None:
        from azure.storage.blob import ContainerClient, ExponentialRetry

        self.config = config
        with _translated(config, "connecting to it"):
            self.client: ContainerClient = ContainerClient.from_container_url(
                config.url,
                credential=config.credential,
                retry_policy=ExponentialRetry(
                    initial_backoff=config.backoff,
                    increment_base=2,
                    retry_total=config.retries,
                    random_jitter_range=min(3, config.backoff),
                ),
                connection_timeout=CONNECT_TIMEOUT,
                read_timeout=READ_TIMEOUT,
            )

    @classmethod
    def open(cls, config: Config) -> Store:
        """The store, after checking that the container exists and the credential works."""
        store = cls(config)
        with _translated(config, "checking the container"):
            store.client.get_container_properties()
        return store

    @property
    def shown(self) -> str:
        return self.config.shown

    def _read(self, blob: BlobClient, what: str, size: int | None = None) -> bytes | None:
        """The blob's content (None when it does not exist), refused beyond the journal cap;
        ``size`` when a listing already said it (one request less per journal)."""
        from azure.core.exceptions import ResourceNotFoundError

        with _translated(self.config, f"reading {blob.blob_name}"):
            try:
                if size is None:
                    size = int(blob.get_blob_properties().size)
                if size > files.MAX_JOURNAL_BYTES:
                    raise errors.JournalError(
                        f"The {what} {blob.blob_name} in the state container {self.shown} is "
                        f"{size} bytes, more than any journal grows; move it aside."
                    )
                return bytes(blob.download_blob().readall())
            except ResourceNotFoundError:
                return None

    # -- journal

    def run_journal(self, target: str, run_id: str) -> BlobJournal:
        return BlobJournal(self, f"{JOURNALS}{target}/{run_id}.jsonl")

    def read_records(self, target: str | None = None) -> list[journal.Record]:
        """Every record of every run in the container (of ``target`` when given), oldest run
        first."""
        prefix = f"{JOURNALS}{target}/" if target else JOURNALS
        with _translated(self.config, "listing the journals"):
            found = sorted(
                ((b.name, int(b.size)) for b in self.client.list_blobs(name_starts_with=prefix)),
                key=lambda nb: nb[0].rsplit("/", 1)[-1],
            )
        out: list[journal.Record] = []
        for name, size in found:
            data = self._read(self.client.get_blob_client(name), "journal", size)
            if data is not None:
                out.extend(journal.parse_lines(data.splitlines(), f"{self.shown}/{name}"))
        return out

    # -- applied plans

    def applied_run(self, pid: str) -> str | None:
        data = self._read(self.client.get_blob_client(APPLIED), "record of applied plans")
        for line in (data or b"").splitlines():
            with contextlib.suppress(ValueError):
                doc = files.json_loads(line.decode("utf-8"))
                if isinstance(doc, dict) and doc.get("plan_id") == pid:
                    return str(doc.get("run_id"))
        return None

    def mark_applied(self, pid: str, run_id: str, at: datetime) -> None:
        line = json.dumps({"plan_id": pid, "run_id": run_id, "at": at.isoformat()}) + "\n"
        _append(self, self.client.get_blob_client(APPLIED), line.encode())


def _append(store: Store, blob: BlobClient, data: bytes) -> None:
    """Append ``data`` to the append blob (created when missing)."""
    from azure.core.exceptions import ResourceExistsError, ResourceNotFoundError

    with _translated(store.config, f"appending to {blob.blob_name}", error=errors.JournalError):
        try:
            blob.append_block(data)
        except ResourceNotFoundError:
            with contextlib.suppress(ResourceExistsError):
                blob.create_append_blob(if_none_match="*")
            blob.append_block(data)


class BlobJournal:
    """The run's journal lines appended to its blob (``Journal``'s ``mirror``)."""

    def __init__(self, store: Store, name: str) -> None:
        self.store = store
        self.name = name
        self.blob = store.client.get_blob_client(name)
        with _translated(store.config, f"creating {name}", error=errors.JournalError):
            self.blob.create_append_blob()

    def append(self, line: bytes) -> None:
        _append(self.store, self.blob, line)


# ------------------------------------------------------------------------------------- lock


class BlobLock:
    """A held lease on ``locks/<tenant>.json``, renewed by a daemon thread until
    ``release``. ``check`` raises ``LockLostError`` once the lease may be gone."""

    def __init__(
        self,
        store: Store,
        blob: BlobClient,
        lease: BlobLeaseClient,
        info: locking.LockInfo,
        *,
        duration: int,
        renew_every: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.store, self.blob, self.lease, self.info = store, blob, lease, info
        self.duration, self.renew_every, self.clock = duration, renew_every, clock
        self.renewed_at = clock()
        self.lost: str | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._renew_loop, name=f"lease-{info.tenant}", daemon=True
        )
        self._thread.start()

    def _renew_loop(self) -> None:
        from azure.core.exceptions import AzureError, HttpResponseError

        while not self._stop.wait(self.renew_every):
            try:
                self.lease.renew()
            except HttpResponseError as exc:
                if exc.status_code in (409, 412):  # broken, expired and taken, or gone
                    self.lost = f"the storage service refused its renewal ({_code(exc)})"
                    return
                self._note_failure(exc)
            except AzureError as exc:
                self._note_failure(exc)
            else:
                self.renewed_at = self.clock()

    def _note_failure(self, exc: Exception) -> None:
        if self.clock() - self.renewed_at >= self.duration:
            self.lost = f"it could not be renewed for {self.duration}s ({_reason(exc)})"

    def check(self) -> None:
        """Raise ``LockLostError`` when the lease is lost or may have ended (a renewal is
        overdue by more than the lease's duration, less a safety margin)."""
        overdue = self.clock() - self.renewed_at >= self.duration - min(5.0, self.duration / 4)
        if self.lost is None and not overdue:
            return
        why = self.lost or f"its last renewal was more than {self.duration}s ago"
        raise errors.LockLostError(
            f"This apply's shared lock {self.info.id} on target tenant '{self.info.tenant}' "
            f"(blob {self.blob.blob_name} in the state container {self.store.shown}) was lost: "
            f"{why}. Another apply may be writing now, so this run stops before its next "
            "write. Check its journal (`reconciler journal export`), then run "
            "`reconciler plan` once no other apply runs."
        )

    def note_run(self, run_id: str) -> None:
        """Name the run in the lock's content (for whoever waits for it)."""
        self.info = replace(self.info, run_id=run_id)
        with _translated(self.store.config, "updating the lock's holder"):
            self.blob.upload_blob(_document(self.info), overwrite=True, lease=self.lease)

    def release(self) -> None:
        """Stop renewing and release the lease (if that fails it ends by itself)."""
        from azure.core.exceptions import AzureError

        self._stop.set()
        self._thread.join(timeout=READ_TIMEOUT + CONNECT_TIMEOUT)
        if self.lost is None:
            with contextlib.suppress(AzureError):
                # Cleared first: a waiter never names a holder that is gone.
                self.blob.upload_blob(b"", overwrite=True, lease=self.lease)
                self.lease.release()

    def __enter__(self) -> BlobLock:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def _document(info: locking.LockInfo) -> bytes:
    return (json.dumps(info.document(), indent=2) + "\n").encode()


def holder_of(store: Store, tenant: str) -> locking.LockInfo | None:
    """Who the lock blob of ``tenant`` says holds it; None while it says nothing readable (a
    new holder writes it right after taking the lease; a holder clears it before releasing)."""
    data = store._read(store.client.get_blob_client(f"{LOCKS}{tenant}.json"), "lock")
    return locking.parse_info(data or b"")


def _unknown(tenant: str) -> locking.LockInfo:
    return locking.LockInfo(
        id="unreadable",
        tenant=tenant,
        user="?",
        host="an unknown host",
        pid=0,
        ci_run="",
        since="?",
        expires_at="?",
        plan_id="",
    )


def acquire(
    store: Store,
    me: locking.LockInfo,
    *,
    timeout: float,
    now: Callable[[], datetime],
    sleep: Callable[[float], None],
    on_wait: Callable[[locking.LockInfo], None] = lambda info: None,
    duration: int = LEASE_SECONDS,
    renew_every: float = RENEW_SECONDS,
) -> BlobLock:
    """Take the lease of ``me.tenant``'s lock blob, waiting up to ``timeout`` seconds for its
    holder; raise ``LockHeldError`` naming the holder when it is still held then."""
    from azure.core.exceptions import HttpResponseError, ResourceExistsError

    blob = store.client.get_blob_client(f"{LOCKS}{me.tenant}.json")
    start = now()
    told = False
    while True:
        with _translated(store.config, f"taking the lock {blob.blob_name}"):
            try:
                blob.upload_blob(b"", overwrite=False)
            except (ResourceExistsError, HttpResponseError) as exc:
                if not _exists_or_leased(exc):
                    raise
            try:
                lease = blob.acquire_lease(lease_duration=duration)
            except ResourceExistsError:  # LeaseAlreadyPresent: another apply holds it
                lease = None
        if lease is not None:
            info = replace(
                me, expires_at=(now() + timedelta(seconds=duration)).isoformat(timespec="seconds")
            )
            held = BlobLock(store, blob, lease, info, duration=duration, renew_every=renew_every)
            try:
                with _translated(store.config, f"writing the lock {blob.blob_name}"):
                    blob.upload_blob(_document(info), overwrite=True, lease=lease)
            except BaseException:
                held.release()
                raise
            return held
        current = holder_of(store, me.tenant)
        waited = (now() - start).total_seconds()
        if waited >= timeout:
            if current is None:  # the holder may be writing its name right now: ask again
                sleep(0.5)
                current = holder_of(store, me.tenant) or _unknown(me.tenant)
            raise errors.LockHeldError(
                f"The target tenant '{me.tenant}' is locked by another apply through the shared "
                f"state container {store.shown}: {current.describe()}. Wait for it to finish "
                "(or pass a longer --lock-timeout); if its holder died, the lock frees itself "
                f"within {duration}s (its blob lease is no longer renewed)."
            )
        if not told and current is not None:
            on_wait(current)
            told = True
        sleep(min(1.0, max(0.05, timeout - waited)))


def _exists_or_leased(exc: Exception) -> bool:
    status = getattr(exc, "status_code", None)
    return status in (409, 412)


# ----------------------------------------------------------------------------------- errors


def _code(exc: Any) -> str:
    code = getattr(exc, "error_code", None)
    code_text = str(getattr(code, "value", code) or "")
    status = getattr(exc, "status_code", None)
    return " ".join(p for p in (f"HTTP {status}" if status else "", code_text) if p) or "no code"


def _reason(exc: Exception) -> str:
    text = " ".join(str(getattr(exc, "message", None) or exc).split())
    text = errors.redact(text.split("RequestId:", 1)[0].strip())
    return text if len(text) <= 200 else text[:199] + "…"


@contextlib.contextmanager
def _translated(
    config: Config, doing: str, *, error: type[errors.ReconcilerError] = errors.StateBackendError
) -> Iterator[None]:
    """SDK failures as one paragraph naming the container and what to do."""
    from azure.core.exceptions import (
        AzureError,
        ClientAuthenticationError,
        HttpResponseError,
        ResourceNotFoundError,
        ServiceRequestError,
        ServiceResponseError,
    )

    where = f"the state container {config.shown}"
    try:
        yield
    except errors.ReconcilerError:
        raise
    except (ClientAuthenticationError, HttpResponseError) as exc:
        status = getattr(exc, "status_code", None)
        if isinstance(exc, ResourceNotFoundError) and "ContainerNotFound" in _code(exc):
            raise error(
                f"{where[0].upper()}{where[1:]} does not exist ({doing}). Create it (a private "
                f"container in the storage account) or fix {settings.ENV_STATE_CONTAINER_URL}."
            ) from None
        if isinstance(exc, ClientAuthenticationError) or status in (401, 403):
            raise error(
                f"The storage account refused the credential from {config.auth} for {where} "
                f"while {doing} ({_code(exc)}). Check the key or SAS (a SAS needs the read, "
                "add, create, write and list permissions and must not have expired), "
                "and that the storage account's firewall lets this machine in."
            ) from None
        raise error(
            f"The storage service answered {_code(exc)} for {where} while {doing}: "
            f"{_reason(exc)}. Retry later; if it persists, check the storage account."
        ) from None
    except (ServiceRequestError, ServiceResponseError) as exc:
        raise error(
            f"Cannot reach {where} while {doing} (after {config.retries} retries): "
            f"{_reason(exc)}. Check the account name in {settings.ENV_STATE_CONTAINER_URL}, "
            "the network and the storage account's firewall, then retry."
        ) from None
    except AzureError as exc:
        raise error(
            f"The storage client failed for {where} while {doing}: {_reason(exc)}. Check "
            f"{settings.ENV_STATE_CONTAINER_URL} and {blobconfig.WHAT_TO_SET}."
        ) from None

"""The live-state reader: several partner tenants in, one typed ``model.LiveState`` out.

For every tenant it reads the customers asked for (or all of them, for ``export``), each
customer's subscriptions, and for the target the customers' partner-to-partner transfer
requests (only for the customers asked for) and the invitation URL when an App+User sign-in is
configured. Tenants are read in parallel, customers of one tenant by a small worker pool;
each client's token buckets keep the pace under Partner Center's limits.

The rule this module exists for (product rule 3): a read error is *unknown*, never absent.
A customer missing from a tenant's complete customer list, or answered with 403 20002 / 404,
is ``NO_RELATIONSHIP`` (a fact); any other failure makes it ``UNKNOWN`` with the reason. This
module must NOT write, and must NOT turn a failure into an empty list.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Collection, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from types import MappingProxyType

from reconciler import errors, model
from reconciler.partner_center import client as pc_client
from reconciler.partner_center import errors as api_errors
from reconciler.partner_center import wire

log = logging.getLogger(__name__)

#: Asked for more customers than this, a tenant's customer list is read (paged) once instead of
#: one GET per customer.
LIST_THRESHOLD = 10


@dataclass(frozen=True, slots=True)
class Progress:
    """One step of the read, for a progress bar: ``done`` of ``total`` customers of a tenant
    (phase ``customers``), or ``done`` of ``total`` tenants signed in (phase ``sign-in``;
    ``tenant`` is the one that just signed in)."""

    tenant: str
    done: int
    total: int
    phase: str = "customers"


ProgressCallback = Callable[[Progress], None]


def _reason(exc: BaseException) -> str:
    return str(exc) if isinstance(exc, errors.ReconcilerError) else f"{type(exc).__name__}: {exc}"


def _view_from_customer(
    doc: wire.Customer,
    status: model.ReadStatus,
    *,
    subscriptions: tuple[model.LiveSubscription, ...] = (),
    reason: str = "",
) -> model.CustomerView:
    profile = doc.get("companyProfile") or {}
    return model.CustomerView(
        tenant_id=wire.customer_tenant_id(doc),
        status=status,
        name=str(profile.get("companyName") or ""),
        domain=str(profile.get("domain") or ""),
        relationship=str(doc.get("relationshipToPartner") or ""),
        subscriptions=subscriptions,
        reason=reason,
    )


def _unknown(tenant_id: str, reason: str, doc: wire.Customer | None = None) -> model.CustomerView:
    if doc is not None:
        return _view_from_customer(doc, model.ReadStatus.UNKNOWN, reason=reason)
    return model.CustomerView(tenant_id=tenant_id, status=model.ReadStatus.UNKNOWN, reason=reason)


def _absent(tenant_id: str, reason: str) -> model.CustomerView:
    return model.CustomerView(
        tenant_id=tenant_id, status=model.ReadStatus.NO_RELATIONSHIP, reason=reason
    )


def read_transfers(
    client: pc_client.PartnerCenterClient, view: model.CustomerView
) -> model.CustomerView:
    """``view`` with the customer's transfer requests (one call); on any failure the transfers
    stay ``None`` with the reason, never ``()`` (rule 3: unknown is not "none")."""
    try:
        items = client.list_transfers(view.tenant_id)
        found = tuple(sorted((wire.to_live_transfer(t) for t in items), key=lambda t: t.id))
        found = _with_targets(client, view, found)
    except errors.TenantAccessError:
        raise  # the tenant as a whole, reported once, never per customer
    except errors.ReconcilerError as exc:
        log.warning("transfers of %s in %s unreadable: %s", view.tenant_id, client.name, exc)
        return replace(view, transfers=None, transfers_reason=_reason(exc))
    return replace(view, transfers=found, transfers_reason="")


def _with_targets(
    client: pc_client.PartnerCenterClient,
    view: model.CustomerView,
    transfers: tuple[model.LiveTransfer, ...],
) -> tuple[model.LiveTransfer, ...]:
    """``transfers`` with the target subscription of each completed line filled in.

    A completed line names the order it created in the target, not the subscription: the
    subscription is the one of the customer's (already read) subscriptions with that order id;
    only an order none of them carries costs a request (``subscriptions?order_id=``), once per
    order. A line that still matches nothing keeps ``None`` (not there yet)."""
    listed: dict[str, list[model.LiveSubscription]] = {}
    for sub in view.subscriptions:
        if sub.order_id:
            listed.setdefault(sub.order_id.lower(), []).append(sub)
    claimed: set[str] = set()
    out = []
    for t in transfers:
        if t.status is not model.TransferStatus.COMPLETED or not any(
            ln.target_subscription_id is None and ln.order_id for ln in t.lines
        ):
            out.append(t)
            continue
        lines = []
        for line in t.lines:
            if line.target_subscription_id is None and line.order_id:
                key = line.order_id.lower()
                if key not in listed:
                    docs = client.list_subscriptions(view.tenant_id, order_id=line.order_id)
                    listed[key] = [wire.to_live_subscription(d) for d in docs]
                found = pick_target(line, listed[key], claimed)
                if found is not None:
                    claimed.add(found)
                    line = replace(line, target_subscription_id=found)  # noqa: PLW2901
            lines.append(line)
        out.append(replace(t, lines=tuple(lines)))
    return tuple(out)


def pick_target(
    line: model.LiveTransferLine,
    candidates: Sequence[model.LiveSubscription],
    claimed: Collection[str] = (),
) -> str | None:
    """The target subscription (id) among an order's subscriptions that a transfer line
    created: the only one, else the only one on the line's offer (and seats); ``None`` when
    none or several remain (never a guess)."""
    free = [s for s in candidates if s.id not in claimed]
    if len(free) > 1 and line.offer_id:
        free = [s for s in free if s.offer_id.lower() == line.offer_id.lower()]
    if len(free) > 1 and line.quantity is not None:
        free = [s for s in free if s.quantity == line.quantity]
    return free[0].id if len(free) == 1 else None


def no_user_for_agreements(tenant: str) -> str:
    """Why the agreement is unknown when no user is signed in to ``tenant``."""
    return (
        "Partner Center shows a customer's agreements only to a signed-in user (App+User) "
        f"and no user is signed in to tenant '{tenant}': run `reconciler login {tenant}`"
    )


def read_agreement(
    client: pc_client.PartnerCenterClient, view: model.CustomerView
) -> model.CustomerView:
    """``view`` with whether the customer's acceptance of the Microsoft Customer Agreement is
    confirmed (one App+User call); on any failure it stays ``None`` with the reason (rule 3),
    and without a delegated sign-in it is not asked at all (``None``, saying so)."""
    if not client.has_delegated:
        return replace(view, agreement=None, agreement_reason=no_user_for_agreements(client.name))
    try:
        items = client.list_agreements(view.tenant_id)
    except errors.TenantAccessError:
        raise  # the tenant as a whole, reported once, never per customer
    except errors.ReconcilerError as exc:
        log.warning("agreements of %s in %s unreadable: %s", view.tenant_id, client.name, exc)
        return replace(view, agreement=None, agreement_reason=_reason(exc))
    accepted = any(
        isinstance(a, dict)
        and str(a.get("type") or a.get("agreementType") or "").lower()
        == "microsoftcustomeragreement"
        for a in items
    )
    return replace(view, agreement=accepted, agreement_reason="")


def read_subscriptions(
    client: pc_client.PartnerCenterClient,
    doc: wire.Customer,
    *,
    transfers: bool = False,
    agreement: bool = False,
) -> model.CustomerView:
    """A customer known to the tenant, with its subscriptions (one unpaged call) and, when
    ``transfers``, its transfer requests (one more call, only if the rest read fine)."""
    tid = wire.customer_tenant_id(doc)
    try:
        items = client.list_subscriptions(tid)
        subs = tuple(sorted((wire.to_live_subscription(s) for s in items), key=lambda s: s.id))
    except api_errors.ApiNoRelationship as exc:
        return _absent(tid, _reason(exc))
    except errors.TenantAccessError:
        raise  # the tenant as a whole, reported once, never per customer
    except errors.ReconcilerError as exc:
        return _unknown(tid, f"subscriptions could not be read: {_reason(exc)}", doc)
    view = _view_from_customer(doc, model.ReadStatus.OK, subscriptions=subs)
    view = read_transfers(client, view) if transfers else view
    return read_agreement(client, view) if agreement else view


def read_customer(
    client: pc_client.PartnerCenterClient,
    tenant_id: str,
    *,
    transfers: bool = False,
    agreement: bool = False,
) -> model.CustomerView:
    """One customer by GET, then its subscriptions (and transfers); never raises for API
    failures."""
    tid = tenant_id.lower()
    try:
        doc = client.get_customer(tid)
        wire.customer_tenant_id(doc)
    except (api_errors.ApiNoRelationship, api_errors.ApiNotFound) as exc:
        return _absent(tid, _reason(exc))
    except errors.TenantAccessError:
        raise  # the tenant as a whole, reported once, never per customer
    except errors.ReconcilerError as exc:
        return _unknown(tid, f"the customer could not be read: {_reason(exc)}")
    return read_subscriptions(client, doc, transfers=transfers, agreement=agreement)


def _list_all(client: pc_client.PartnerCenterClient) -> dict[str, wire.Customer]:
    return {wire.customer_tenant_id(doc): doc for doc in client.list_customers()}


def _run_pool(
    client: pc_client.PartnerCenterClient,
    jobs: list[Callable[[], model.CustomerView]],
    workers: int,
    tick: Callable[[], None],
) -> list[model.CustomerView]:
    def run(job: Callable[[], model.CustomerView]) -> model.CustomerView:
        try:
            return job()
        finally:
            tick()

    if workers <= 1 or len(jobs) <= 1:
        return [run(job) for job in jobs]
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix=f"read-{client.name}") as pool:
        return list(pool.map(run, jobs))


def read_tenant(
    tenant: model.Tenant,
    client: pc_client.PartnerCenterClient,
    *,
    customers: Collection[str] | None,
    workers: int = 8,
    on_progress: ProgressCallback | None = None,
    transfers: Collection[str] | None = (),
    agreements: Collection[str] = (),
) -> model.TenantView:
    """One tenant's view of the customers asked for (``None``: all customers it has).

    With ``customers=None`` a failure to list the tenant's customers raises (an empty view
    would read as "no customers"); with named customers it falls back to one GET each.
    ``transfers``: customers whose transfer requests are read too (``None``: every customer
    read; only customers the tenant has a relationship with get the extra call).
    """
    with_transfers = None if transfers is None else {c.lower() for c in transfers}
    with_agreement = {c.lower() for c in agreements}

    def wants_transfers(tid: str) -> bool:
        return with_transfers is None or tid in with_transfers

    wanted = None if customers is None else sorted({c.lower() for c in customers})
    listed: dict[str, wire.Customer] | None = None
    if wanted is None or len(wanted) > LIST_THRESHOLD:
        try:
            listed = _list_all(client)
        except errors.TenantAccessError:
            raise  # the tenant as a whole, reported once, never per customer
        except errors.ReconcilerError as exc:
            if wanted is None:
                raise errors.ReadError(
                    f"The customer list of partner tenant '{tenant.name}' could not be read, so "
                    f"its customers are unknown: {_reason(exc)}"
                ) from exc
            log.warning(
                "listing customers of %s failed (%s); reading them one by one",
                tenant.name,
                _reason(exc),
            )
    ids = sorted(listed) if wanted is None and listed is not None else wanted or []
    jobs: list[Callable[[], model.CustomerView]] = []
    for tid in ids:
        if listed is None:
            jobs.append(
                lambda tid=tid: read_customer(  # type: ignore[misc]
                    client,
                    tid,
                    transfers=wants_transfers(tid),
                    agreement=tid in with_agreement,
                )
            )
        elif tid in listed:
            doc, more, mca = listed[tid], wants_transfers(tid), tid in with_agreement
            jobs.append(
                lambda doc=doc, more=more, mca=mca: read_subscriptions(  # type: ignore[misc]
                    client, doc, transfers=more, agreement=mca
                )
            )
        else:
            reason = f"not in the customer list of partner tenant '{tenant.name}'"
            jobs.append(lambda tid=tid, reason=reason: _absent(tid, reason))  # type: ignore[misc]
    done = [0]

    def tick() -> None:
        done[0] += 1
        if on_progress is not None:
            on_progress(Progress(tenant.name, done[0], len(jobs)))

    views = _run_pool(client, jobs, workers, tick)
    return model.TenantView(
        tenant=tenant, customers=MappingProxyType({v.tenant_id: v for v in views})
    )


def read_tenants(
    tenants: Sequence[model.Tenant],
    clients: Mapping[str, pc_client.PartnerCenterClient],
    *,
    customers: Collection[str] | None,
    on_progress: ProgressCallback | None = None,
) -> dict[str, model.TenantView]:
    """``read_tenant`` for each of ``tenants``, tenants in parallel (no transfer requests):
    the read of ``export``, which never asks the target."""
    with ThreadPoolExecutor(max_workers=max(1, len(tenants)), thread_name_prefix="tenant") as pool:
        futures = {
            t.name: pool.submit(
                read_tenant,
                t,
                clients[t.name],
                customers=customers,
                workers=clients[t.name].concurrency,
                on_progress=on_progress,
                transfers=(),
            )
            for t in tenants
        }
        return {name: future.result() for name, future in futures.items()}


def _invitation(client: pc_client.PartnerCenterClient) -> str | None:
    if not client.has_delegated:
        return None
    try:
        return client.get_invitation_url()
    except errors.TenantAccessError:
        raise  # the tenant as a whole, reported once, never per customer
    except errors.ReconcilerError as exc:
        # The URL is a convenience for the plan's "awaiting invitation" lines; its absence
        # must not hide the state we did read.
        log.warning("the invitation URL of %s could not be read: %s", client.name, _reason(exc))
        return None


def _sign_in(
    clients: Collection[pc_client.PartnerCenterClient],
    on_progress: ProgressCallback | None = None,
) -> None:
    """A token for every tenant first, in parallel, so that refused credentials, a sign-in
    service that is down or a CA that does not verify are one paragraph per tenant, raised
    before any customer is read, instead of an "unknown" per customer."""
    done = [0]
    lock = threading.Lock()

    def sign_in(client: pc_client.PartnerCenterClient) -> None:
        client.sign_in()
        if on_progress is not None:
            with lock:
                done[0] += 1
                on_progress(Progress(client.name, done[0], len(clients), phase="sign-in"))

    with ThreadPoolExecutor(max_workers=max(1, len(clients)), thread_name_prefix="sign-in") as pool:
        futures = [pool.submit(sign_in, c) for c in clients]
    failed: list[errors.TenantAccessError] = []
    for future in futures:
        exc = future.exception()
        if isinstance(exc, errors.TenantAccessError):
            failed.append(exc)
        elif exc is not None:
            raise exc
    if len(failed) == 1:
        raise failed[0]
    if failed:
        raise errors.TenantAccessError("\n\n".join(str(e) for e in failed))


def read_live_state(
    consolidation: model.Consolidation,
    clients: Mapping[str, pc_client.PartnerCenterClient],
    *,
    customers: Collection[str] | Mapping[str, Collection[str]] | None = None,
    workers_per_tenant: int | None = None,
    on_progress: ProgressCallback | None = None,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
    transfers: Collection[str] | None = None,
    agreements: Collection[str] = (),
) -> model.LiveState:
    """Read every tenant of the consolidation into one ``LiveState``.

    ``customers``: tenant ids to read in every tenant, or a mapping tenant name -> ids (a
    tenant missing from the mapping reads none), or ``None`` for every customer of every
    tenant. ``clients`` maps tenant names to clients; a tenant without a client is a
    ``ConfigError``. ``workers_per_tenant`` defaults to each client's configured concurrency.
    A tenant whose customer list is needed but unreadable raises ``ReadError``.

    ``transfers``: customers whose transfer requests are read in the target (one call each;
    ``planning.planner.transfer_customers`` names the ones a plan depends on). ``None``, the
    default, reads them for every customer the target has, so that no caller can miss a
    pending request; sources are never asked.

    ``agreements``: customers whose Microsoft Customer Agreement acceptance is read in the
    target (one call each; ``planning.planner.agreement_customers`` names the ones a plan may
    buy for). None by default.
    """
    tenants = consolidation.tenants
    missing = [t.name for t in tenants if t.name not in clients]
    if missing:
        raise errors.ConfigError(
            f"No Partner Center client for tenant(s) {', '.join(missing)}: configure their "
            "credentials (docs/configuration.md)."
        )

    def wanted(tenant: model.Tenant) -> Collection[str] | None:
        if customers is None or not isinstance(customers, Mapping):
            return customers
        return customers.get(tenant.name, ())

    _sign_in([clients[t.name] for t in tenants], on_progress)
    read_at = now()
    target_client = clients[consolidation.target.name]
    with ThreadPoolExecutor(max_workers=len(tenants) + 1, thread_name_prefix="tenant") as pool:
        futures = {
            t.name: pool.submit(
                read_tenant,
                t,
                clients[t.name],
                customers=wanted(t),
                workers=workers_per_tenant or clients[t.name].concurrency,
                on_progress=on_progress,
                transfers=transfers if t.name == consolidation.target.name else (),
                agreements=agreements if t.name == consolidation.target.name else (),
            )
            for t in tenants
        }
        invitation = pool.submit(_invitation, target_client)
        views = {name: future.result() for name, future in futures.items()}
        url = invitation.result()
    return model.LiveState(read_at=read_at, tenants=MappingProxyType(views), invitation_url=url)

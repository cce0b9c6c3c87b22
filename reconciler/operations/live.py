"""The live read shared by ``plan``, ``apply`` and ``export``: where the credentials come from,
one client per tenant, and which customers are read in which tenant.

``plan`` and ``apply`` read through ``read_customers`` alone, so a saved plan's fingerprints
are always compared with state read the same way. ``export`` reads whole source tenants
through ``read_sources``. Partner Center is imported lazily: ``--help`` stays fast.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Protocol

from reconciler import model

if TYPE_CHECKING:
    from reconciler.partner_center.client import PartnerCenterClient


class Observer(Protocol):
    """What a command watches a read with (``cli.progress.Observer``): the clients whose
    requests it counts, and a progress callback for the duration of a read."""

    def watch(self, clients: Iterable[PartnerCenterClient]) -> None: ...

    def reading(
        self, what: str = ...
    ) -> contextlib.AbstractContextManager[Callable[[Any], None] | None]: ...


class Unobserved:
    """An ``Observer`` that watches nothing (tests, the demo's helpers)."""

    def watch(self, clients: Iterable[PartnerCenterClient]) -> None:
        """Nothing is counted."""

    @contextlib.contextmanager
    def reading(self, what: str = "Reading") -> Any:
        yield None


@dataclass(frozen=True, slots=True)
class Access:
    """Where credentials, endpoints and throughput come from: the ``--credentials`` and
    ``--connection`` options and the environment (passed in; never ``os.environ`` here)."""

    environ: Mapping[str, str]
    credentials: Path | None = None
    connection: Path | None = None


def connect(
    tenants: Sequence[model.Tenant],
    access: Access,
    observer: Observer,
    *,
    delegated_for: Iterable[str] = (),
) -> dict[str, PartnerCenterClient]:
    """One client per tenant, configured from ``access`` (timeouts, back-off and pacing from
    the settings), watched by ``observer``. ``delegated_for``: tenants that also get the
    signed-in user's transport (the target, for the invitation URL)."""
    from reconciler.partner_center import config
    from reconciler.partner_center import connect as pc_connect

    conn = config.resolve(
        tenants,
        credentials_path=access.credentials,
        connection_path=access.connection,
        environ=access.environ,
    )
    clients = pc_connect.build_clients(tenants, conn, delegated_for=list(delegated_for))
    observer.watch(clients.values())
    return clients


def connect_all(
    cons: model.Consolidation, access: Access, observer: Observer
) -> dict[str, PartnerCenterClient]:
    """Clients for every tenant of the consolidation, the target with its signed-in user."""
    return connect(cons.tenants, access, observer, delegated_for=[cons.target.name])


def pairs(customers: Iterable[model.DesiredCustomer]) -> list[tuple[str, str]]:
    """(tenant id, source name) for every source tenant each customer is held in: what
    ``read_customers`` reads."""
    return [(c.tenant_id, source) for c in customers for source in c.sources]


def read_customers(
    desired: model.DesiredState,
    clients: Mapping[str, PartnerCenterClient],
    customers: Sequence[tuple[str, str]],
    observer: Observer,
    *,
    what: str = "Reading",
) -> model.LiveState:
    """Live state of ``customers`` ((tenant id, source name) pairs, one per source tenant a
    customer is held in): each in the target and in every source named for it, with transfer
    requests read for exactly the customers the planner needs them for. ``what`` names the
    read in the progress display ("Re-checking" before apply's writes, "Verifying" after)."""
    from reconciler.partner_center import reading
    from reconciler.planning import planner

    cons = desired.consolidation
    wanted: dict[str, list[str]] = {cons.target.name: list(dict.fromkeys(c for c, _ in customers))}
    for cid, source in customers:
        wanted.setdefault(source, []).append(cid)
    ids = {cid for cid, _ in customers}
    chosen = [c for c in desired.customers if c.tenant_id in ids]
    with observer.reading(what) as on_progress:
        return reading.read_live_state(
            cons,
            clients,
            customers=wanted,
            on_progress=on_progress,
            transfers=planner.transfer_customers(chosen, cons.policy),
            agreements=planner.agreement_customers(chosen),
        )


def read_sources(
    tenants: Sequence[model.Tenant],
    ids: Sequence[str] | None,
    access: Access,
    observer: Observer,
) -> model.LiveState:
    """Every customer (or the ``ids``) of the source ``tenants``, tenants in parallel; the
    target is never asked. A tenant whose customer list cannot be read raises ``ReadError``:
    its customers are unknown."""
    from reconciler.partner_center import reading

    clients = connect(tenants, access, observer)
    read_at = datetime.now(UTC)
    with observer.reading() as on_progress:
        views = reading.read_tenants(tenants, clients, customers=ids, on_progress=on_progress)
    return model.LiveState(read_at=read_at, tenants=MappingProxyType(views))

"""Deterministic generated worlds (desired + live) with every kind of situation the planner
tells apart, for the plan digest test (test_plan_digest.py): a ``random.Random(seed)`` draws
them, so the same seed gives the same world on every machine and Python 3.11+ (no hypothesis:
its draws change between versions).

Each world has a target and two sources and customers with: invitations pending or accepted,
unknown reads, customers held in both sources, every ``becomes``, protect flags, pins (found
and missing), ``adopt: never``, legacy and new-commerce and Azure sources in every status,
inside and outside their cancellation windows, monthly and yearly terms, reservations and
marketplace items, target subscriptions marked, unmarked, duplicated, suspended, pending or
deleted, transfer requests in every status with and without line items, Microsoft Customer
Agreement acceptance confirmed, refused, unknown or unread, and legacy Azure hand-offs.
"""

from __future__ import annotations

import dataclasses
import random
from datetime import UTC, datetime, timedelta
from types import MappingProxyType
from typing import Any

from reconciler import model

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
NCE = (
    "CFQ7TTC0LF8Q:0001:CFQ7TTC0HD0R",
    "CFQ7TTC0LH16:0001:CFQ7TTC0HD1G",
    "CFQ7TTC0LH18:0001:CFQ7TTC0K971",
)
E3_LEGACY = "796B6B5F-613C-4E24-A17C-EBA730D49C02"
EXCHANGE_LEGACY = "195416C1-3447-423A-B37B-EE59A99A19C4"
AZURE_LEGACY = "MS-AZR-0145P"
WANTED = (*NCE, "CFQ7TTC0LF8Q:0001:CFQ7TTC0ZZZZ", E3_LEGACY)
SOURCE_OFFERS = (*NCE, E3_LEGACY, EXCHANGE_LEGACY, AZURE_LEGACY)
TARGET = model.Tenant("central", "0f6a1b8e-0000-4000-8000-000000000001", "IE", model.Role.TARGET)
SOURCES = (
    model.Tenant("de", "0f6a1b8e-0000-4000-8000-0000000000de", "DE", model.Role.SOURCE),
    model.Tenant("fr", "0f6a1b8e-0000-4000-8000-0000000000f2", "FR", model.Role.SOURCE),
)
OFFERS = {
    "e3": model.Offer(
        "e3",
        NCE[0],
        "Office 365 E3",
        model.CommerceModel.NCE_LICENSE,
        replaces=(E3_LEGACY,),
    ),
    "exchange": model.Offer(
        "exchange",
        NCE[1],
        "Exchange Online (Plan 1)",
        model.CommerceModel.NCE_LICENSE,
        replaces=(EXCHANGE_LEGACY,),
    ),
}
ORIGIN = model.Origin("manifests/customers/varied.yaml", 1)


def _guid(prefix: str, n: int) -> str:
    return f"{prefix}-0000-4000-8000-{n:012x}"


class _Draw:
    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.n = 0

    def one(self, items: Any) -> Any:
        return self.rng.choice(list(items))

    def int(self, low: int, high: int) -> int:
        return self.rng.randint(low, high)

    def rarely(self, one_in: int = 6) -> bool:
        return self.rng.randrange(one_in) == 0

    def coin(self) -> bool:
        return self.rng.random() < 0.5

    def next_id(self, prefix: str) -> str:
        self.n += 1
        return _guid(prefix, self.n)


def _live(d: _Draw, sid: str, offer: str, friendly: str = "x") -> model.LiveSubscription:
    azure = offer.startswith("MS-AZR")
    commerce = model.classify_offer(offer, billing_type="usage" if azure else "license")
    nce = commerce is model.CommerceModel.NCE_LICENSE
    age = d.int(0, 6) if d.rarely(4) else d.int(0, 500)
    created = NOW - timedelta(days=age, hours=d.int(0, 23))
    window = created + timedelta(days=7)
    term = d.one(["P1Y", "P1Y", "P1M"]) if nce else None
    end: datetime | None = None
    if commerce.is_license:
        end = created + (timedelta(days=30) if term == "P1M" else timedelta(days=365))
        if d.rarely(10):
            end = datetime(9999, 12, 31, tzinfo=UTC)
    statuses = [model.SubscriptionStatus.ACTIVE] * 8 + list(model.SubscriptionStatus)
    return model.LiveSubscription(
        id=sid,
        offer_id=offer,
        offer_name=d.one([offer, "Office 365 E3", "Exchange Online"]),
        friendly_name=friendly,
        quantity=d.int(1, 40),
        status=d.one(statuses),
        commerce=commerce,
        billing_cycle=d.one(["monthly", "monthly", "annual"]),
        term_duration=term,
        auto_renew=d.coin() or d.coin(),
        creation_date=None if d.rarely(20) else created,
        commitment_end_date=end,
        cancellation_allowed_until=window if nce else None,
        refundable=(model.RefundableBatch(d.int(0, 10), window),) if nce and d.coin() else (),
        order_id=None,
        etag="e",
        entitlement_id=f"ent-{sid[-6:]}" if azure else None,
        product_type=d.one([None] * 6 + ["OnlineServicesNCE", "SaaS", "Azure/Reservation"])
        if nce
        else None,
    )


def _transfers(
    d: _Draw, source: str, source_ids: list[str]
) -> tuple[model.LiveTransfer, ...] | None:
    if d.rarely(12):
        return None
    own = next(t.tenant_id for t in SOURCES if t.name == source)
    found = []
    for _ in range(d.int(0, 2)):
        created = NOW - timedelta(days=d.int(0, 60))
        status = d.one(list(model.TransferStatus))
        picked = d.rng.sample(source_ids, d.int(0, len(source_ids))) if source_ids else []
        done = status is model.TransferStatus.COMPLETED
        lines = tuple(
            model.LiveTransferLine(
                sid,
                d.next_id("aa000000") if done and not d.rarely(5) else None,
                status=d.one(["Complete", "Pending", ""]),
            )
            for sid in picked
        )
        found.append(
            model.LiveTransfer(
                id=d.next_id("77000000"),
                status=status,
                source_partner_id=d.one([own, own, SOURCES[0].tenant_id]),
                target_partner_id=d.one([TARGET.tenant_id] * 4 + [""]),
                created_at=None if d.rarely(15) else created,
                expires_at=created + timedelta(days=30),
                lines=lines,
            )
        )
    return tuple(found)


def _customer(
    d: _Draw,
    ci: int,
    src_views: dict[str, dict[str, model.CustomerView]],
    tgt_views: dict[str, model.CustomerView],
) -> model.DesiredCustomer:
    tid = _guid("3f2c6d55", ci + 1)
    source = d.one(["de", "fr"])
    held_in = [source, "fr" if source == "de" else "de"] if d.rarely(4) else [source]
    source_subs: dict[str, list[model.LiveSubscription]] = {n: [] for n in held_in}
    target_subs: list[model.LiveSubscription] = []
    wanted = []
    for ki in range(d.int(0, 4)):
        key = f"k{ki}"
        replaces = []
        for _ in range(d.one([0, 1, 1, 1, 1, 2])):
            sid = d.next_id("5b1e0a40")
            where = d.one(held_in)
            source_subs[where].append(_live(d, sid, d.one(SOURCE_OFFERS)))
            becomes = d.one([model.SourceStrategy.AUTO] * 4 + list(model.SourceStrategy))
            named = where if where != source or d.coin() else None
            replaces.append(model.Replacement(sid, becomes, ORIGIN, source=named))
        offer = d.one(WANTED)
        pin = None
        if d.rarely(8):
            pin = d.next_id("ab000000")
            if d.coin():
                target_subs.append(_live(d, pin, offer))
        alias = d.one([None, None, "e3", "exchange"])
        wanted.append(
            model.DesiredSubscription(
                key=key,
                offer_id=offer,
                commerce=model.classify_offer(offer),
                quantity=d.int(1, 50),
                billing_cycle=d.one(["monthly", "annual"]),
                term_duration=d.one(["P1Y", "P1M", None]),
                friendly_name=d.one([None, None, f"Seats for {key}"]),
                replaces=tuple(replaces),
                protect=d.rarely(8),
                origin=dataclasses.replace(ORIGIN, line=10 + ki),
                offer_alias=alias if alias in OFFERS else None,
                target_subscription_id=pin,
                adopt_existing=not d.rarely(8),
            )
        )
    for _ in range(d.int(0, 2)):  # source subscriptions no manifest names
        source_subs[d.one(held_in)].append(_live(d, d.next_id("6b1e0a40"), d.one(SOURCE_OFFERS)))
    azure = []
    for hi in range(d.one([0, 0, 0, 1, 2])):
        sid = d.next_id("a2000000")
        where = d.one(held_in)
        azure_sub = _live(d, sid, AZURE_LEGACY)
        source_subs[where].append(azure_sub)
        if d.coin():  # Microsoft moved it (same entitlement), or not yet
            moved = dataclasses.replace(azure_sub, id=d.next_id("a3000000"))
            target_subs.append(moved)
        azure.append(
            model.AzureHandoff(
                f"azure{hi}", sid, d.rarely(8), ORIGIN, source=where if where != source else None
            )
        )
    customer = model.DesiredCustomer(
        tid,
        f"Customer {ci:03d} {d.one(['GmbH', 'SARL', 'Ltd'])}",
        f"c{ci}.example",
        source,
        d.rarely(12),
        tuple(wanted),
        tuple(azure),
        ORIGIN,
        agreement=(
            model.CustomerAgreement("Ana", "Ruiz", f"ana@c{ci}.example", "", "2026-11-02", ORIGIN)
            if d.coin()
            else None
        ),
    )
    for name in customer.sources:
        status = d.one([model.ReadStatus.OK] * 12 + list(model.ReadStatus))
        src_views[name][tid] = model.CustomerView(
            tid,
            status,
            subscriptions=tuple(source_subs.get(name, ())) if status is model.ReadStatus.OK else (),
            reason="" if status is model.ReadStatus.OK else "503 after 5 attempts",
        )
    tgt_status = d.one([model.ReadStatus.OK] * 5 + list(model.ReadStatus))
    if tgt_status is model.ReadStatus.OK:
        for _ in range(d.int(0, 3)):
            mark = d.one([None, "k0", "k1", "k2", "gone"])
            friendly = f"Target [rc:{mark}]" if mark else "Target"
            target_subs.append(_live(d, d.next_id("aa100000"), d.one(WANTED), friendly))
    ids = [s.id for subs in source_subs.values() for s in subs]
    agreement = d.one([True, True, True, False, None])
    tgt_views[tid] = model.CustomerView(
        tid,
        tgt_status,
        subscriptions=tuple(target_subs) if tgt_status is model.ReadStatus.OK else (),
        reason="" if tgt_status is not model.ReadStatus.UNKNOWN else "timed out",
        transfers=_transfers(d, source, ids) if tgt_status is model.ReadStatus.OK else None,
        transfers_reason="" if d.coin() else "429 after 5 attempts",
        agreement=agreement,
        agreement_reason="403 from the agreements read" if agreement is None and d.coin() else "",
    )
    return customer


#: Policies the worlds are planned under (index = seed % len).
POLICIES = (
    model.Policy(),
    model.Policy(
        max_suspensions_per_apply=3,
        max_cancellations_per_apply=1,
        max_customers_per_apply=4,
        move_by=model.MoveBy.REPROVISION,
        nce_strategy=model.NceStrategy.SUSPEND,
        deadline_warning_days=30,
    ),
    model.Policy(
        nce_strategy=model.NceStrategy.EXPIRE,
        nce_strategy_without_move_by="manifests/consolidation.yaml:7:3",
        transfer_acceptance=model.TransferAcceptance.MANUAL,
        billing_overlap_tolerance_days=0,
    ),
    model.Policy(
        nce_strategy=model.NceStrategy.TRANSFER,
        move_by=model.MoveBy.REPROVISION,
        max_suspensions_per_apply=10**6,
        max_cancellations_per_apply=10**6,
        max_customers_per_apply=10**6,
    ),
)


def make(seed: int, customers: int) -> tuple[model.DesiredState, model.LiveState]:
    """World number ``seed`` with ``customers`` customers."""
    d = _Draw(seed)
    src_views: dict[str, dict[str, model.CustomerView]] = {"de": {}, "fr": {}}
    tgt_views: dict[str, model.CustomerView] = {}
    desired = [_customer(d, ci, src_views, tgt_views) for ci in range(customers)]
    target = dataclasses.replace(TARGET, country=d.one(["IE"] * 4 + ["US", "JP"]))
    cons = model.Consolidation(
        "varied",
        target,
        SOURCES,
        POLICIES[seed % len(POLICIES)],
        ORIGIN,
        MappingProxyType(OFFERS),
    )
    tenants = {"central": model.TenantView(target, MappingProxyType(tgt_views))}
    for t in SOURCES:
        tenants[t.name] = model.TenantView(t, MappingProxyType(src_views[t.name]))
    url = None if seed % 3 == 2 else "https://invite.example/x"
    live = model.LiveState(NOW, MappingProxyType(tenants), url)
    return model.DesiredState(cons, tuple(desired), f"sha256:varied-{seed}"), live

"""A hand-built LiveState that mirrors the emulator's demo world (briefs: "The demo world"),
and small factories for live subscriptions, for planner, renderer and golden tests.

The clock is fixed (``NOW``) so every date in a plan is stable.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import MappingProxyType

from reconciler import manifests, model

ROOT = Path(__file__).resolve().parents[3]
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
CENTRAL = "0f6a1b8e-0000-4000-8000-000000000001"
INVITE_URL = (
    "https://admin.microsoft.com/Adminportal/Home?invType=ResellerRelationship"
    f"&partnerId={CENTRAL}&msppId=0&DAP=false#/BillingAccounts/partner-invitation"
)

C = "3f2c6d55-0000-4000-8000-00000000"
S = "5b1e0a40-0000-4000-8000-00000000"

E3_LEGACY = "796B6B5F-613C-4E24-A17C-EBA730D49C02"
VISIO = "4B244418-9658-4451-A2B8-B5B2B7D1F06E"
EXCHANGE_LEGACY = "195416C1-3447-423A-B37B-EE59A99A19C4"
STANDARD_LEGACY = "031C9E47-4802-4248-838E-778FB1D2CC05"
BASIC = "CFQ7TTC0LH18:0001:CFQ7TTC0K971"
PREMIUM = "CFQ7TTC0LCHC:0002:CFQ7TTC0HB8Z"
AZURE_LEGACY = "MS-AZR-0145P"
AZURE_PLAN = "DZH318Z0BPS6:0001:DZH318Z0BML6"


def desired(base: Path | None = None) -> model.DesiredState:
    """The example manifests of the repository, loaded by the real loader; origins are
    relative to ``base`` (the repository root by default) so messages are stable."""
    start = Path.cwd()
    os.chdir(base or ROOT)
    try:
        return manifests.load([Path("manifests")])
    finally:
        os.chdir(start)


def sub(
    sid: str,
    offer: str,
    quantity: int,
    *,
    status: str = "active",
    age_days: int = 400,
    cycle: str = "monthly",
    friendly: str = "",
    auto_renew: bool = True,
    now: datetime = NOW,
    entitlement: str | None = None,
) -> model.LiveSubscription:
    """A live subscription bought ``age_days`` ago; NCE ones get a P1Y term and a 7-day window."""
    billing_type = "usage" if offer.startswith(("MS-AZR", "DZH318Z0BPS6")) else "license"
    commerce = model.classify_offer(offer, billing_type=billing_type)
    created = now - timedelta(days=age_days)
    nce = commerce is model.CommerceModel.NCE_LICENSE
    window = created + timedelta(days=7)
    term = None
    if commerce.is_license:  # the current term: yearly anniversaries of the purchase
        term = created + timedelta(days=365)
        while term <= now:
            term += timedelta(days=365)
    refundable = (model.RefundableBatch(quantity, window),) if nce else ()
    return model.LiveSubscription(
        id=sid.lower(),
        offer_id=offer.upper(),
        offer_name=offer,
        friendly_name=friendly or offer,
        quantity=quantity,
        status=model.SubscriptionStatus.parse(status),
        commerce=commerce,
        billing_cycle=cycle,
        term_duration="P1Y" if nce else None,
        auto_renew=auto_renew and commerce.is_license,
        creation_date=created,
        commitment_end_date=term,
        cancellation_allowed_until=window if nce else None,
        refundable=refundable,
        order_id=None,
        etag="e1",
        entitlement_id=entitlement,
    )


def view(
    tid: str,
    subs: tuple[model.LiveSubscription, ...] = (),
    status: model.ReadStatus = model.ReadStatus.OK,
    reason: str = "",
    transfers: tuple[model.LiveTransfer, ...] | None = (),
) -> model.CustomerView:
    return model.CustomerView(tid, status, subscriptions=subs, reason=reason, transfers=transfers)


def source_views() -> dict[str, dict[str, model.CustomerView]]:
    de = {
        C + "c001": view(
            C + "c001",
            (
                sub(S + "d001", E3_LEGACY, 25, cycle="annual"),
                sub(S + "d002", VISIO, 3),
                sub(
                    S + "d0a1", AZURE_LEGACY, 1, entitlement="a2c1a001-0000-4000-8000-000000000001"
                ),
            ),
        ),
        C + "c002": view(
            C + "c002",
            (sub(S + "d003", BASIC, 40, age_days=200), sub(S + "d0a2", AZURE_PLAN, 1)),
        ),
        C + "c006": view(
            C + "c006",
            (sub(S + "d004", PREMIUM, 18, age_days=40), sub(S + "d005", EXCHANGE_LEGACY, 5)),
        ),
        C + "c007": view(C + "c007", (sub(S + "d006", E3_LEGACY, 2),)),
        # Alpine Ski House is held in both sources (its Exchange seats are merged).
        C + "c008": view(C + "c008", (sub(S + "d007", EXCHANGE_LEGACY, 15, age_days=220),)),
    }
    fr = {
        C + "c003": view(
            C + "c003", (sub(S + "f001", EXCHANGE_LEGACY, 60), sub(S + "f002", STANDARD_LEGACY, 12))
        ),
        C + "c004": view(
            C + "c004",
            (
                sub(S + "f003", EXCHANGE_LEGACY, 20),
                sub(S + "f004", EXCHANGE_LEGACY, 10),
                sub(
                    S + "f0a1", AZURE_LEGACY, 1, entitlement="a2c1a001-0000-4000-8000-000000000004"
                ),
            ),
        ),
        C + "c005": view(C + "c005", (sub(S + "f005", E3_LEGACY, 120, cycle="annual"),)),
        C + "c008": view(
            C + "c008",
            (sub(S + "f006", EXCHANGE_LEGACY, 10, age_days=180), sub(S + "f007", VISIO, 2)),
        ),
    }
    return {"de": de, "fr": fr}


def live_state(
    state: model.DesiredState,
    *,
    target: dict[str, model.CustomerView] | None = None,
    sources: dict[str, dict[str, model.CustomerView]] | None = None,
    invitation_url: str | None = INVITE_URL,
    read_at: datetime = NOW,
) -> model.LiveState:
    """A LiveState over the consolidation's tenants. The target sees the given views; every
    other manifest customer has no relationship with it (invitation pending)."""
    cons = state.consolidation
    srcs = sources if sources is not None else source_views()
    tgt = {
        c.tenant_id: view(c.tenant_id, status=model.ReadStatus.NO_RELATIONSHIP)
        for c in state.customers
    }
    tgt.update(target or {})
    tenants = {cons.target.name: model.TenantView(cons.target, MappingProxyType(tgt))}
    for t in cons.sources:
        tenants[t.name] = model.TenantView(t, MappingProxyType(dict(srcs.get(t.name, {}))))
    return model.LiveState(read_at, MappingProxyType(tenants), invitation_url)


def accepted(state: model.DesiredState, **kw: object) -> model.LiveState:
    """The demo after every customer accepted the invitation (target has no subscriptions)."""
    target = {c.tenant_id: view(c.tenant_id) for c in state.customers}
    return live_state(state, target=target, **kw)  # type: ignore[arg-type]

"""Large generated worlds (desired + live) for the Markdown size test and bench/bench_plan.py.

Customer i: a third have not accepted the invitation, a third accepted with nothing in the
target yet, a third are half-way (marked target subscriptions active, sources still active).
Every customer has ``per_customer`` source subscriptions, each replaced by one desired one.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import MappingProxyType

from reconciler import model

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
ORIGIN = model.Origin("manifests/customers/generated.yaml", 1)
OFFERS = (
    ("796B6B5F-613C-4E24-A17C-EBA730D49C02", "CFQ7TTC0LF8Q:0001:CFQ7TTC0HD0R"),
    ("195416C1-3447-423A-B37B-EE59A99A19C4", "CFQ7TTC0LH16:0001:CFQ7TTC0HD1G"),
    ("CFQ7TTC0LH18:0001:CFQ7TTC0K971", "CFQ7TTC0LH18:0001:CFQ7TTC0K971"),
)
TARGET = model.Tenant("central", "0f6a1b8e-0000-4000-8000-000000000001", "IE", model.Role.TARGET)
SOURCES = (
    model.Tenant("de", "0f6a1b8e-0000-4000-8000-0000000000de", "DE", model.Role.SOURCE),
    model.Tenant("fr", "0f6a1b8e-0000-4000-8000-0000000000f2", "FR", model.Role.SOURCE),
)


def _sub(sid: str, offer: str, qty: int, friendly: str, age: int) -> model.LiveSubscription:
    commerce = model.classify_offer(offer)
    created = NOW - timedelta(days=age)
    nce = commerce is model.CommerceModel.NCE_LICENSE
    return model.LiveSubscription(
        id=sid,
        offer_id=offer,
        offer_name=offer,
        friendly_name=friendly,
        quantity=qty,
        status=model.SubscriptionStatus.ACTIVE,
        commerce=commerce,
        billing_cycle="monthly",
        term_duration="P1Y" if nce else None,
        auto_renew=True,
        creation_date=created,
        commitment_end_date=created + timedelta(days=365),
        cancellation_allowed_until=created + timedelta(days=7) if nce else None,
        refundable=(),
        order_id=None,
        etag="e",
    )


def make(customers: int, per_customer: int) -> tuple[model.DesiredState, model.LiveState]:
    desired: list[model.DesiredCustomer] = []
    views: dict[str, dict[str, model.CustomerView]] = {"central": {}, "de": {}, "fr": {}}
    for i in range(customers):
        tid = f"3f2c6d55-0000-4000-8000-{i:012x}"
        source = "de" if i % 2 else "fr"
        phase = i % 3
        wanted, src_subs, tgt_subs = [], [], []
        for j in range(per_customer):
            old, new = OFFERS[j % len(OFFERS)]
            key = f"s{j}"
            sid = f"5b1e0a40-{j:04x}-4000-8000-{i:012x}"
            qty = 1 + (i + j) % 50
            src_subs.append(_sub(sid, old, qty, old, 100 + j))
            wanted.append(
                model.DesiredSubscription(
                    key,
                    new,
                    model.classify_offer(new),
                    qty,
                    "monthly",
                    "P1Y",
                    None,
                    (model.Replacement(sid, model.SourceStrategy.AUTO, ORIGIN),),
                    False,
                    ORIGIN,
                )
            )
            if phase == 2:
                tgt_subs.append(
                    _sub(f"aa000000-{j:04x}-4000-8000-{i:012x}", new, qty, f"x [rc:{key}]", 1)
                )
        desired.append(
            model.DesiredCustomer(
                tid,
                f"Customer {i:05d} GmbH",
                f"c{i}.example",
                source,
                False,
                tuple(wanted),
                (),
                ORIGIN,
            )
        )
        views[source][tid] = model.CustomerView(
            tid, model.ReadStatus.OK, subscriptions=tuple(src_subs)
        )
        status = model.ReadStatus.NO_RELATIONSHIP if phase == 0 else model.ReadStatus.OK
        views["central"][tid] = model.CustomerView(
            tid, status, subscriptions=tuple(tgt_subs), transfers=()
        )
    cons = model.Consolidation(
        "generated",
        TARGET,
        SOURCES,
        model.Policy(
            max_suspensions_per_apply=10**9,
            max_cancellations_per_apply=10**9,
            max_customers_per_apply=10**9,
        ),
        ORIGIN,
    )
    tenants = {
        t.name: model.TenantView(t, MappingProxyType(views[t.name])) for t in (TARGET, *SOURCES)
    }
    live = model.LiveState(NOW, MappingProxyType(tenants), "https://invite.example/x")
    return model.DesiredState(cons, tuple(desired), "sha256:generated"), live

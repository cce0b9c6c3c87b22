"""The demo's parts outside the commands: the people beyond the API (Microsoft support moving
Azure, the source partner's staff accepting a transfer) and the final check of the emulator's
billing ledger. ``cli/demo.py`` runs the real commands around them.

The emulator is passed in (``emu``: a running ``reconciler.emulator.server.Emulator``), never
imported: only the CLI imports the emulator. Its snapshot and ledger are the emulator's own
records, read here for the check.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from reconciler import model
from reconciler.operations import live
from reconciler.planning import markers


@dataclass(frozen=True, slots=True)
class LedgerCheck:
    pairs: int
    double_billed_days: int
    unserved_days: int


def outside_parties(emu: Any, state: model.DesiredState, access: live.Access) -> None:
    """What people outside the API do: Microsoft support, the source partner's staff."""
    target = state.consolidation.target.name
    for customer in state.customers:
        for held_in in sorted({customer.source_of(h) for h in customer.azure}):
            emu.control.azure_handoff(customer.tenant_id, source=held_in, target=target)
    snapshot = emu.control.snapshot()
    pending = [
        t
        for t in snapshot["transfers"]
        if t.get("status") == "InProgress" and not t.get("lineItems")
    ]
    if not pending:
        return
    tenants = state.consolidation.tenants
    clients = live.connect(tenants, access, live.Unobserved())
    by_id = {t.tenant_id: t.name for t in tenants}
    for transfer in pending:
        source = clients[by_id[transfer["sourcePartnerTenantId"].lower()]]
        customer_id = transfer["customerTenantId"]
        moved = [
            {"subscriptionId": s["id"]}
            for s in snapshot["subscriptions"]
            if s["customerId"] == customer_id
            and s["partner"] == source.name
            and s["kind"] == "nce"
            and s["status"] == "active"
            and _transferred(state, customer_id, s["id"])
        ]
        source.accept_transfer(customer_id, transfer["id"], moved, request_id=str(uuid.uuid4()))


def _transferred(state: model.DesiredState, customer_id: str, subscription_id: str) -> bool:
    customer = state.customer(customer_id)
    return customer is not None and any(
        r.subscription_id == subscription_id.lower()
        # ``auto`` moves by transfer too under the default moveBy: transfer-first.
        and r.becomes in (model.SourceStrategy.TRANSFERRED, model.SourceStrategy.AUTO)
        for s in customer.subscriptions
        for r in s.replaces
    )


def check_ledger(
    ledger: list[dict[str, Any]], snapshot: dict[str, Any], state: model.DesiredState
) -> LedgerCheck:
    """Days both tenants billed a replaced legacy subscription, and days with no service."""
    target = state.consolidation.target.name
    legacy = {s["id"] for s in snapshot["subscriptions"] if s["kind"] == "legacy"}
    ordered: dict[tuple[str, str], str] = {}
    for sub in snapshot["subscriptions"]:
        key = markers.parse_marker(sub.get("friendlyName"))
        if sub["partner"] == target and key:
            ordered[(sub["customerId"], key)] = sub["id"]
    billed: dict[str, set[str]] = defaultdict(set)
    served: dict[str, set[str]] = defaultdict(set)
    days = sorted({row["date"] for row in ledger})
    for row in ledger:
        if row["billed"]:
            billed[row["subscriptionId"]].add(row["date"])
        if row["inService"]:
            served[row["subscriptionId"]].add(row["date"])
    pairs = double = unserved = 0
    for customer in state.customers:
        held = customer.protect
        for wanted in customer.subscriptions:
            new = ordered.get((customer.tenant_id, wanted.key))
            for old in wanted.replaces:
                if new is None or old.subscription_id not in legacy:
                    continue
                if held or wanted.protect or old.becomes is model.SourceStrategy.KEPT:
                    continue
                pairs += 1
                double += len(billed[old.subscription_id] & billed[new])
                first = min(served[old.subscription_id] | served[new], default=None)
                unserved += sum(
                    1
                    for day in days
                    if first
                    and day >= first
                    and day not in served[old.subscription_id]
                    and day not in served[new]
                )
    return LedgerCheck(pairs=pairs, double_billed_days=double, unserved_days=unserved)

"""The demo's parts outside the commands: the people beyond the API (Microsoft support moving
Azure) and the story of the run told from the emulator's own records (history, snapshot and
billing ledger). ``cli/demo.py`` runs the real commands around them and prints the story.

The emulator is passed in (``emu``: a running ``reconciler.emulator.server.Emulator``), never
imported: only the CLI imports the emulator. Every figure of the story is read from its records
(what Partner Center would show), never from our journal or from constants: a story of a run
that went wrong says so.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from reconciler import model
from reconciler.planning import markers

Event = Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class PairLedger:
    """One moved pair in the billing ledger: a replaced source subscription and its target."""

    source: str
    target: str
    #: Days both tenants billed the pair.
    double_billed_days: int
    #: Days from the pair's first day in service on which neither served the customer.
    unserved_days: int


@dataclass(frozen=True, slots=True)
class LedgerCheck:
    """The ledger per moved pair (replaced source subscriptions with a target; holds and keeps
    left out, they bill on purpose) and its totals."""

    per_pair: tuple[PairLedger, ...]

    @property
    def pairs(self) -> int:
        return len(self.per_pair)

    @property
    def double_billed_days(self) -> int:
        return sum(p.double_billed_days for p in self.per_pair)

    @property
    def unserved_days(self) -> int:
        return sum(p.unserved_days for p in self.per_pair)


@dataclass(frozen=True, slots=True)
class Moved:
    """One line of a completed partner-to-partner transfer."""

    name: str
    seats: int
    order_id: str
    #: The target subscription found through the line's ``orderId``: (status, seats).
    landed: tuple[str, int] | None
    #: An Azure plan line (usage-based): it lands in the target's own Azure plan, no seats.
    usage: bool = False

    @property
    def verified(self) -> bool:
        if self.usage:
            return self.landed is not None and self.landed[0] == "active"
        return self.landed == ("active", self.seats)


@dataclass(frozen=True, slots=True)
class Transfer:
    customer: str
    source: str
    status: str
    requested_by: str
    #: The partner whose credentials accepted it (the caller of the accepting PATCH).
    accepted_by: str
    lines: tuple[Moved, ...]


@dataclass(frozen=True, slots=True)
class Replaced:
    """A source subscription a purchase replaces, and what became of it."""

    partner: str
    name: str
    kind: str
    #: "suspended the same day", "suspended N day(s) later", "kept", "held", or its status.
    fate: str


@dataclass(frozen=True, slots=True)
class Purchase:
    customer: str
    name: str
    seats: int
    catalog_item: str
    via_cart: bool
    active: bool
    replaces: tuple[Replaced, ...]
    #: An Azure plan (usage-based, no seats), e.g. the one an Azure plan transfer lands in.
    usage: bool = False


@dataclass(frozen=True, slots=True)
class Story:
    transfers: tuple[Transfer, ...]
    purchases: tuple[Purchase, ...]
    #: Customers whose Azure subscriptions Microsoft support moved, and how many.
    azure: tuple[tuple[str, int], ...]
    ledger: LedgerCheck


def outside_parties(emu: Any, state: model.DesiredState) -> int:
    """What Microsoft support does: move each customer's Azure subscriptions to the target
    (its customers have accepted the invitation). Returns how many subscriptions moved.
    Transfers are not touched: apply requests them and accepts them with the source's
    credentials itself."""
    target = state.consolidation.target.name
    moved = 0
    for customer in state.customers:
        for held_in in sorted({customer.source_of(h) for h in customer.azure}):
            moved += len(
                emu.control.azure_handoff(customer.tenant_id, source=held_in, target=target)
            )
    return moved


def story(
    history: Sequence[Event],
    snapshot: Mapping[str, Any],
    ledger: Sequence[Event],
    state: model.DesiredState,
) -> Story:
    """What the run did, read from the emulator's history, snapshot and billing ledger."""
    return _Reader(history, snapshot, state).story(ledger)


class _Reader:
    def __init__(
        self, history: Sequence[Event], snapshot: Mapping[str, Any], state: model.DesiredState
    ) -> None:
        self.history, self.snapshot, self.state = history, snapshot, state
        self.target = state.consolidation.target.name
        self.partners = {p["tenantId"].lower(): p["name"] for p in snapshot["partners"]}
        self.customers = {c["tenantId"].lower(): c["companyName"] for c in snapshot["customers"]}
        self.subs = {s["id"].lower(): s for s in snapshot["subscriptions"]}
        #: When each subscription became active, and when the API stopped each one.
        self.activated: dict[str, str] = {}
        self.stopped: dict[str, str] = {}
        for e in history:
            new = (e["changes"].get("status") or [None, None])[1]
            sid = str(e.get("subscriptionId") or "").lower()
            if new == "active":
                self.activated.setdefault(sid, e["time"])
            elif new in ("suspended", "deleted") and e.get("origin") == "api":
                self.stopped.setdefault(sid, e["time"])

    def story(self, ledger: Sequence[Event]) -> Story:
        return Story(
            transfers=tuple(sorted(self._transfers(), key=lambda t: t.customer)),
            purchases=tuple(sorted(self._purchases(), key=lambda p: (p.customer, p.name))),
            azure=self._azure(),
            ledger=self._ledger(ledger),
        )

    # -- transfers --------------------------------------------------------------------------

    def _by(self, action: str, transfer_id: str) -> str:
        """The partner that made the API call ``action`` on the transfer (from the history)."""
        for e in self.history:
            ids = e["changes"].get("transferId") or []
            if e["action"] == action and transfer_id in ids and e.get("origin") == "api":
                return str(self.partners.get(str(e["partnerTenantId"]).lower(), "?"))
        return ""

    def _transfers(self) -> list[Transfer]:
        out = []
        for t in self.snapshot["transfers"]:
            lines = []
            for line in t.get("lineItems") or []:
                order_id = str(line.get("orderId") or "")
                landed = [
                    s
                    for s in self.snapshot["subscriptions"]
                    if order_id and s["orderId"] == order_id and s["partner"] == self.target
                ]
                found = (landed[0]["status"], int(landed[0]["quantity"])) if landed else None
                lines.append(
                    Moved(
                        _plain(line.get("friendlyName")),
                        int(line["quantity"]),
                        order_id,
                        found,
                        usage=line.get("productType") == "AzureSubscription",
                    )
                )
            out.append(
                Transfer(
                    customer=self.customers.get(t["customerTenantId"].lower(), "?"),
                    source=self.partners.get(t["sourcePartnerTenantId"].lower(), "?"),
                    status=str(t["status"]),
                    requested_by=self._by("transfer.create", t["id"]),
                    accepted_by=self._by("transfer.complete", t["id"]),
                    lines=tuple(lines),
                )
            )
        return out

    # -- purchases --------------------------------------------------------------------------

    def _purchases(self) -> list[Purchase]:
        carts = {
            e["changes"]["orderId"][1]
            for e in self.history
            if e["action"] == "order.create" and "cartId" in e["changes"]
        }
        out = []
        for order in self.snapshot["orders"]:
            if order["partner"] != self.target:
                continue
            customer = self.state.customer(order["customerId"])
            for line in order["lineItems"]:
                sid = str(line.get("subscriptionId") or "").lower()
                sub = self.subs.get(sid, {})
                key = markers.parse_marker(line.get("friendlyName"))
                wanted = next(
                    (d for d in (customer.subscriptions if customer else ()) if d.key == key),
                    None,
                )
                out.append(
                    Purchase(
                        customer=self.customers.get(order["customerId"].lower(), "?"),
                        name=_plain(line.get("friendlyName")),
                        seats=int(line["quantity"]),
                        catalog_item=str(line["offerId"]),
                        via_cart=order["id"] in carts,
                        active=sub.get("status") == "active",
                        usage=sub.get("kind") == "azure_plan",
                        replaces=tuple(
                            self._replaced(customer, wanted, r, sid)
                            for r in (wanted.replaces if wanted else ())
                        )
                        if wanted
                        else (),
                    )
                )
        return out

    def _replaced(
        self,
        customer: model.DesiredCustomer | None,
        wanted: model.DesiredSubscription,
        r: model.Replacement,
        target: str,
    ) -> Replaced:
        source = self.subs.get(r.subscription_id.lower(), {})
        if (customer and customer.protect) or wanted.protect:
            fate = "held by a protect flag"
        elif r.becomes is model.SourceStrategy.KEPT:
            fate = "kept by the manifest"
        elif r.subscription_id.lower() in self.stopped and target in self.activated:
            days = (
                _day(self.stopped[r.subscription_id.lower()]) - _day(self.activated[target])
            ).days
            verb = "suspended" if source.get("status") == "suspended" else "stopped"
            fate = f"{verb} the same day" if days == 0 else f"{verb} {days} day(s) later"
        else:
            fate = f"still {source.get('status', 'unknown')}"
        return Replaced(
            partner=str(source.get("partner", "?")),
            name=_plain(source.get("friendlyName")),
            kind=str(source.get("kind", "?")),
            fate=fate,
        )

    # -- Azure and the ledger -------------------------------------------------------------------

    def _azure(self) -> tuple[tuple[str, int], ...]:
        moved: dict[str, int] = defaultdict(int)
        for e in self.history:
            if e["action"] == "azure.handoff.target":
                moved[self.customers.get(str(e["customerId"]).lower(), "?")] += 1
        return tuple(sorted(moved.items()))

    def _targets(self) -> dict[str, str]:
        """Replaced source subscription -> its target: bought (marker) or transferred in."""
        marked: dict[tuple[str, str], str] = {}
        for s in self.snapshot["subscriptions"]:
            key = markers.parse_marker(s.get("friendlyName"))
            if s["partner"] == self.target and key and s["status"] != "deleted":
                marked[(s["customerId"].lower(), key)] = s["id"].lower()
        out: dict[str, str] = {}
        for customer in self.state.customers:
            for wanted in customer.subscriptions:
                for r in wanted.replaces:
                    found = marked.get((customer.tenant_id.lower(), wanted.key))
                    if found:
                        out[r.subscription_id.lower()] = found
        for e in self.history:
            came_from = (e["changes"].get("transferredFrom") or [None, None])[1]
            if e["action"] == "transfer.target_created" and came_from:
                out[str(came_from).lower()] = str(e["subscriptionId"]).lower()
        return out

    def _ledger(self, ledger: Sequence[Event]) -> LedgerCheck:
        """Days both tenants billed a moved pair, and days a customer had neither in service.
        Pairs the manifests hold (protect) or keep bill on purpose (the plan warns): left out."""
        billed: dict[str, set[str]] = defaultdict(set)
        served: dict[str, set[str]] = defaultdict(set)
        days = sorted({str(row["date"]) for row in ledger})
        for row in ledger:
            sid = str(row["subscriptionId"]).lower()
            if row["billed"]:
                billed[sid].add(row["date"])
            if row["inService"]:
                served[sid].add(row["date"])
        targets = self._targets()
        pairs: list[PairLedger] = []
        for customer in self.state.customers:
            for wanted in customer.subscriptions:
                for r in wanted.replaces:
                    old = r.subscription_id.lower()
                    new = targets.get(old)
                    held = customer.protect or wanted.protect
                    if new is None or held or r.becomes is model.SourceStrategy.KEPT:
                        continue
                    either = served[old] | served[new]
                    first = min(either, default=None)
                    unserved = sum(
                        1 for day in days if first and day >= first and day not in either
                    )
                    double = len(billed[old] & billed[new])
                    pairs.append(PairLedger(old, new, double, unserved))
        return LedgerCheck(tuple(pairs))


def _plain(name: object) -> str:
    """A friendly name without the reconciler's marker."""
    text = str(name or "")
    key = markers.parse_marker(text)
    return text.replace(markers.marker(key), "").strip() if key else text.strip()


def _day(moment: str) -> dt.date:
    return dt.datetime.fromisoformat(moment.replace("Z", "+00:00")).date()

"""The ``subscriptions`` and ``azure`` sections of an exported customer manifest.

Live source subscriptions in, entries out: each active or suspended license subscription
becomes a license entry replacing it (its offer named through the Offers files when one sells
it or succeeds it), each active or suspended Azure subscription a hand-off; everything else is
listed in a closing comment with the reason. Pure; it must NOT invent values the live state
does not give (no term is guessed) nor write anything the validator would refuse.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass

from reconciler import model
from reconciler.manifests import building, exportyaml
from reconciler.planning import products

KEY_MAX = 41  # the schema's key pattern: ^[a-z0-9][a-z0-9-]{0,40}$
QUANTITY_MAX = 100_000  # the schema's maximum
FRIENDLY_MAX = 100
_CYCLES = ("monthly", "annual", "triennial")
_TERMS = ("P1M", "P1Y", "P3Y")
# Mirrors the manifest builder's rule: which terms each billing cycle can bill.
_ENTRY_STATUSES = (model.SubscriptionStatus.ACTIVE, model.SubscriptionStatus.SUSPENDED)


@dataclass(frozen=True, slots=True)
class License:
    key: str
    offer: str
    quantity: int
    billing_cycle: str | None
    term_duration: str | None
    friendly_name: str | None
    source_id: str
    note: str
    #: The target subscription already serving this product, to adopt (``targetSubscription``).
    target_id: str | None = None
    target_note: str = ""
    #: The source tenant holding it, when not the customer's own ``source``.
    source: str | None = None


@dataclass(frozen=True, slots=True)
class Handoff:
    key: str
    source_id: str
    note: str
    source: str | None = None


@dataclass(frozen=True, slots=True)
class Plan:
    licenses: tuple[License, ...]
    handoffs: tuple[Handoff, ...]
    #: One comment line per subscription left out, with the reason.
    left_out: tuple[str, ...]


def slug(text: str, *, limit: int = KEY_MAX) -> str:
    """Lower-case ASCII words joined by ``-``, at most ``limit`` characters ('' if none)."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    words = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    return words[:limit].rstrip("-")


def plan(
    subscriptions: Iterable[model.LiveSubscription],
    offers: Mapping[str, model.Offer],
    held: Sequence[model.LiveSubscription] = (),
    target: str = "the target",
    *,
    elsewhere: Mapping[str, str] | None = None,
) -> Plan:
    """Which live subscriptions become which entries, with deduplicated stable keys.

    ``held``: the customer's subscriptions already in the ``target`` tenant. An entry whose
    product (planning.products: any offer of its family, any term) the target holds exactly
    once, unclaimed by another entry, adopts it with ``targetSubscription`` instead of
    leaving it to look like a purchase. ``elsewhere``: subscription id -> source tenant, for
    subscriptions held in another source tenant than the customer's own (their entries and
    comments name it)."""
    away = elsewhere or {}
    licenses: list[tuple[str, model.LiveSubscription, model.Offer | None, tuple[str | None, ...]]]
    licenses = []
    azure: list[tuple[str, model.LiveSubscription]] = []
    left: list[str] = []
    for sub in subscriptions:
        what = _describe(sub, away.get(sub.id))
        if sub.status not in _ENTRY_STATUSES:
            left.append(f"{what}: {sub.status.value}")
        elif sub.commerce.is_azure:
            azure.append((slug(sub.friendly_name) or slug(sub.offer_name) or "azure", sub))
        elif not sub.commerce.is_license:
            left.append(f"{what}: offer id not recognised as a license or Azure offer")
        elif not 1 <= sub.quantity <= QUANTITY_MAX:
            left.append(f"{what}: quantity {sub.quantity} is outside 1..{QUANTITY_MAX}")
        else:
            offer, via_replaces = _offer(sub.offer_id, offers)
            terms = _terms(sub, offer, via_replaces)
            if isinstance(terms, str):
                left.append(f"{what}: {terms}")
                continue
            base = (offer.alias if offer else "") or slug(sub.offer_name)
            licenses.append(
                (slug(base) or slug(sub.friendly_name) or "subscription", sub, offer, terms)
            )
    keys: set[str] = set()
    out_licenses = []
    adopt = _Adoption(held, offers, target)
    for base, sub, offer, (cycle, term) in sorted(licenses, key=lambda e: (e[0], e[1].id)):
        pin, pin_note = adopt.pick(offer.offer_id if offer else sub.offer_id)
        if pin is None and model.classify_offer(offer.offer_id if offer else sub.offer_id) is (
            model.CommerceModel.LEGACY_LICENSE
        ):
            # validate refuses buying it (building.legacy_purchase); only adoption keeps it.
            left.append(
                f"{_describe(sub, away.get(sub.id))}: a legacy license offer that Microsoft no "
                "longer sells and no Offers entry replaces; declare its new-commerce successor "
                "with `replaces` and export again"
            )
            continue
        out_licenses.append(
            License(
                key=_claim(base, keys),
                offer=offer.alias if offer else sub.offer_id,
                quantity=sub.quantity,
                billing_cycle=cycle,
                term_duration=term,
                friendly_name=_friendly(sub.friendly_name),
                source_id=sub.id,
                note=_note(sub, offer),
                target_id=pin,
                target_note=pin_note,
                source=away.get(sub.id),
            )
        )
    handoffs = [
        Handoff(
            key=_claim(base, keys),
            source_id=sub.id,
            note=_note(sub, None),
            source=away.get(sub.id),
        )
        for base, sub in sorted(azure, key=lambda e: (e[0], e[1].id))
    ]
    return Plan(tuple(out_licenses), tuple(handoffs), tuple(sorted(left)))


class _Adoption:
    """Which held target subscription each exported entry adopts: the only one of its product
    that no earlier entry took; none when the product is held several times (plan then asks
    which one, naming them)."""

    def __init__(
        self, held: Sequence[model.LiveSubscription], offers: Mapping[str, model.Offer], where: str
    ) -> None:
        self.families = products.families(offers)
        self.where = where
        self.pool = [
            s
            for s in held
            if s.commerce.is_license
            and s.status not in (model.SubscriptionStatus.DELETED, model.SubscriptionStatus.EXPIRED)
        ]
        self.taken: set[str] = set()

    def pick(self, offer_id: str) -> tuple[str | None, str]:
        same = [s for s in self.pool if self.families.same_product(s.offer_id, offer_id)]
        if len(same) != 1 or same[0].id in self.taken:
            return None, ""
        held = same[0]
        self.taken.add(held.id)
        name = held.friendly_name or held.offer_name or held.offer_id
        return held.id, f"already in {self.where}: {name} ({held.offer_id}), {held.quantity} seats"


def _describe(sub: model.LiveSubscription, tenant: str | None) -> str:
    label = sub.friendly_name or sub.offer_name or sub.offer_id
    where = f" in source {tenant}" if tenant else ""
    return f"{sub.id} {label} ({sub.offer_id}, {sub.quantity} licences){where}"


def _note(sub: model.LiveSubscription, offer: model.Offer | None) -> str:
    parts = [f"source: {sub.offer_name or sub.offer_id}"]
    if offer is not None and offer.offer_id.upper() != sub.offer_id.upper():
        parts.append(f"({sub.offer_id})")
    if sub.status is model.SubscriptionStatus.SUSPENDED:
        parts.append("- suspended in the source")
    return " ".join(parts)


def _claim(base: str, keys: set[str]) -> str:
    candidate, n = base, 1
    while candidate in keys:
        n += 1
        suffix = f"-{n}"
        candidate = base[: KEY_MAX - len(suffix)].rstrip("-") + suffix
    keys.add(candidate)
    return candidate


def _friendly(name: str) -> str | None:
    text = name.strip()[:FRIENDLY_MAX].strip()
    if not text or exportyaml.looks_secret(text):
        return None
    return text


def _offer(offer_id: str, offers: Mapping[str, model.Offer]) -> tuple[model.Offer | None, bool]:
    """The Offers entry selling ``offer_id`` (exact), else the one succeeding it (``replaces``);
    the flag says which. Ties go to the first name in sort order, so output is stable."""
    # Product and SKU only: Microsoft reissues the availability part (planning.products).
    oid = products.product_key(offer_id)
    buyable = {a: o for a, o in offers.items() if o.commerce.is_license}
    exact = sorted(a for a, o in buyable.items() if products.product_key(o.offer_id) == oid)
    if exact:
        return buyable[exact[0]], False
    successors = sorted(
        a for a, o in buyable.items() if oid in {products.product_key(r) for r in o.replaces}
    )
    if successors:
        return buyable[successors[0]], True
    return None, False


def _terms(
    sub: model.LiveSubscription, offer: model.Offer | None, via_replaces: bool
) -> tuple[str | None, str | None] | str:
    """(billingCycle, termDuration) to write (``None``: leave to the offer's default), or why
    the entry cannot be written validly."""
    live_cycle = sub.billing_cycle if sub.billing_cycle in _CYCLES else None
    live_term = (sub.term_duration or "").upper() or None
    live_term = live_term if live_term in _TERMS else None
    cycle: str | None
    term: str | None
    if offer is not None and via_replaces:
        # The successor is bought on its own Offers terms; the source's only fill a gap.
        cycle = live_cycle if offer.term_duration is None and offer.billing_cycle is None else None
        term = live_term if offer.term_duration is None else None
    elif offer is not None:
        cycle = live_cycle if live_cycle != offer.billing_cycle else None
        term = live_term if live_term != offer.term_duration else None
    else:
        cycle, term = live_cycle, live_term
    eff_cycle = cycle or (offer.billing_cycle if offer else None) or "monthly"
    eff_term = term or (offer.term_duration if offer else None)
    commerce = model.classify_offer(offer.offer_id if offer else sub.offer_id)
    if commerce is model.CommerceModel.NCE_LICENSE:
        if eff_term is None:
            return "no term known for this new-commerce offer; declare it by hand"
        if eff_term not in building.TERMS_BY_CYCLE[eff_cycle]:
            return f"term {eff_term} cannot be billed {eff_cycle}; declare it by hand"
    elif eff_cycle == "triennial":
        return "a legacy offer cannot be billed triennially; declare it by hand"
    return cycle, term


def render(entries: Plan) -> Iterator[str]:
    """The ``subscriptions:``/``azure:`` sections and the closing comment, as text lines."""
    if entries.licenses:
        yield "subscriptions:\n"
    for e in entries.licenses:
        yield f"  - key: {exportyaml.scalar(e.key)}\n"
        yield f"    offer: {exportyaml.scalar(e.offer)}  # {exportyaml.comment(e.note)}\n"
        yield f"    quantity: {e.quantity}\n"
        if e.billing_cycle:
            yield f"    billingCycle: {e.billing_cycle}\n"
        if e.term_duration:
            yield f"    termDuration: {e.term_duration}\n"
        if e.friendly_name:
            yield f"    friendlyName: {exportyaml.scalar(e.friendly_name)}\n"
        if e.target_id:
            yield (
                f"    targetSubscription: {e.target_id}  # {exportyaml.comment(e.target_note)}\n"
            )
        yield f"    replaces:\n      - subscription: {e.source_id}\n"
        if e.source:
            yield f"        source: {exportyaml.scalar(e.source)}\n"
    if entries.handoffs:
        yield "azure:\n"
    for h in entries.handoffs:
        yield f"  - key: {exportyaml.scalar(h.key)}  # {exportyaml.comment(h.note)}\n"
        yield f"    subscription: {h.source_id}\n"
        if h.source:
            yield f"    source: {exportyaml.scalar(h.source)}\n"
    if entries.left_out:
        yield "# Left out (not active or suspended, or not exportable as is):\n"
        for line in entries.left_out:
            yield f"#   {exportyaml.comment(line)}\n"

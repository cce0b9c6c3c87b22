"""Pairing manifest entries with live target subscriptions (docs/plan-format.md, "Matching").

The rule, applied per customer in this order, each live subscription claimed at most once:

1. Pin: a desired subscription that names a target subscription id (``target_subscription_id``
   when the manifests provide it) matches exactly that subscription; a pin to a subscription
   that does not exist is a problem, never a create.
   Transfer: a desired subscription replacing a source subscription that a completed
   partner-to-partner transfer moved matches the target subscription the transfer created.
2. Marker: a live subscription whose friendlyName carries ``[rc:<key>]`` (planning.markers)
   matches the desired subscription with that key; two such live subscriptions are a problem.
3. Offer or product: otherwise, exactly one unclaimed live subscription of the entry's
   product is adopted: the same offer (new-commerce offers compare on product and SKU, never
   on the availability part, which Microsoft reissues; rule "offer"), or the same product
   under another offer (a legacy offer the entry's Offers entry ``replaces``; planning.products;
   rule "product"), any term or billing cycle. More than one candidate (or several desired
   entries wanting the same product) is a problem that names the candidates. No candidate
   means the subscription does not exist yet. An entry with ``adopt: never`` skips this rule:
   it is created even when the customer holds the product (the plan warns), which is how a
   manifest asks for a second subscription of a product on purpose.

Subscriptions that are deleted, expired or disabled never match (they cannot come back);
pending and suspended ones do (they exist). Azure subscriptions are matched separately to the
Azure hand-offs. Unclaimed live subscriptions are reported as unmanaged. Pure functions only.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from reconciler import model
from reconciler.planning import actions, markers, products

GONE = frozenset(
    {
        model.SubscriptionStatus.DELETED,
        model.SubscriptionStatus.EXPIRED,
        model.SubscriptionStatus.DISABLED,
    }
)

#: The Azure commerce models (``CommerceModel.is_azure``), one set look-up per subscription.
_AZURE = frozenset(c for c in model.CommerceModel if c.is_azure)


@actions.fast_init  # speed: one Match per manifest entry
@dataclass(frozen=True, slots=True)
class Match:
    desired: model.DesiredSubscription
    live: model.LiveSubscription | None
    #: "pin", "transfer", "marker", "offer", "product" or "none" (nothing matched: to be
    #: created).
    rule: str


#: ``Match(...)`` with every field given: ``fast_new``'s faster constructor.
_new_match = actions.fast_new(Match)


@dataclass(frozen=True, slots=True)
class MatchProblem:
    key: str
    message: str
    candidates: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class MatchResult:
    matches: tuple[Match, ...]
    azure: dict[str, model.LiveSubscription | None]
    unmanaged: tuple[model.LiveSubscription, ...]
    problems: tuple[MatchProblem, ...]


def _pin(ds: model.DesiredSubscription) -> str | None:
    pin = ds.target_subscription_id
    return pin.lower() if pin else None


def _describe(sub: model.LiveSubscription) -> str:
    return f"{sub.id} ({sub.friendly_name!r}, {sub.quantity} seats, {sub.status.value})"


def match_licenses(
    desired: Sequence[model.DesiredSubscription],
    live: Sequence[model.LiveSubscription],
    transferred: Mapping[str, str] | None = None,
    families: products.Families | None = None,
) -> tuple[dict[str, Match], list[MatchProblem], set[str]]:
    """Apply the rules; returns matches by key, problems and the claimed live ids.

    ``transferred`` maps source subscription ids to the target subscription ids completed
    transfers created for them; ``families`` says which offers are one product (the
    consolidation's Offers entries; without it only the product key relates offers)."""
    # Speed: most customers hold nothing in the target yet.
    pool = [s for s in live if s.status not in GONE and s.commerce not in _AZURE] if live else []
    by_id = {s.id: s for s in pool} if pool else {}
    found: dict[str, Match] = {}
    problems: list[MatchProblem] = []
    claimed: set[str] = set()
    # The keys of pinned entries, which only rule 1 may match (computed once, for speed).
    pinned: set[str] = set()
    for ds in desired:
        pin = _pin(ds) if ds.target_subscription_id else None
        if pin is None:
            continue
        pinned.add(ds.key)
        if pin in by_id and pin not in claimed:
            found[ds.key] = Match(ds, by_id[pin], "pin")
            claimed.add(pin)
        elif pin in claimed:
            owner = next(k for k, m in found.items() if m.live is not None and m.live.id == pin)
            problems.append(
                MatchProblem(
                    ds.key,
                    f"pinned subscription {pin} is already pinned by {owner}; a target "
                    "subscription serves one manifest entry",
                    (_describe(by_id[pin]),),
                )
            )
        else:
            problems.append(MatchProblem(ds.key, f"pinned subscription {pin} not found", ()))
    if transferred and pool:  # speed: nothing to match without both
        _match_transferred(desired, by_id, transferred, found, claimed, pinned)
    if pool:  # speed: most customers hold nothing in the target yet
        _match_markers(desired, pool, found, problems, claimed, pinned)
    if len(claimed) < len(pool):  # speed: rule 3 needs an unclaimed live subscription
        fam = families or products.families({})
        _match_offers(desired, pool, found, problems, claimed, fam)
    problem_keys = {p.key for p in problems}
    for ds in desired:
        if ds.key not in found and ds.key not in problem_keys:
            found[ds.key] = _new_match(ds, None, "none")
    return found, problems, claimed


def _match_transferred(
    desired: Sequence[model.DesiredSubscription],
    by_id: Mapping[str, model.LiveSubscription],
    transferred: Mapping[str, str],
    found: dict[str, Match],
    claimed: set[str],
    pinned: set[str],
) -> None:
    for ds in desired:
        if ds.key in found or ds.key in pinned:
            continue
        for r in ds.replaces:
            tid = transferred.get(r.subscription_id.lower())
            if tid is not None and tid in by_id and tid not in claimed:
                found[ds.key] = Match(ds, by_id[tid], "transfer")
                claimed.add(tid)
                break


def _match_markers(
    desired: Sequence[model.DesiredSubscription],
    pool: Sequence[model.LiveSubscription],
    found: dict[str, Match],
    problems: list[MatchProblem],
    claimed: set[str],
    pinned: set[str],
) -> None:
    by_marker: dict[str, list[model.LiveSubscription]] = defaultdict(list)
    for s in pool:
        key = markers.parse_marker(s.friendly_name)
        if key is not None and s.id not in claimed:
            by_marker[key].append(s)
    if not by_marker:
        return
    for ds in desired:
        if ds.key in found or ds.key in pinned:
            continue
        hits = by_marker.get(ds.key)
        if not hits:
            continue
        if len(hits) == 1:
            found[ds.key] = _new_match(ds, hits[0], "marker")
            claimed.add(hits[0].id)
        else:
            problems.append(
                MatchProblem(
                    ds.key,
                    f"{len(hits)} target subscriptions carry the marker {markers.marker(ds.key)}",
                    tuple(_describe(s) for s in hits),
                )
            )


def _match_offers(
    desired: Sequence[model.DesiredSubscription],
    pool: Sequence[model.LiveSubscription],
    found: dict[str, Match],
    problems: list[MatchProblem],
    claimed: set[str],
    families: products.Families,
) -> None:
    """Adopt the only unclaimed live subscription of an unmatched entry's product (rules 3 and
    4 together: every offer of the family is a candidate, so a customer holding the product
    twice is a problem, not a guess); several entries of one product are a problem too."""
    problem_keys = {p.key for p in problems}
    waiting: dict[str, list[model.DesiredSubscription]] = defaultdict(list)
    for ds in desired:
        if ds.key not in found and ds.key not in problem_keys and ds.adopt_existing:
            waiting[families.family(ds.offer_id)].append(ds)
    candidates: dict[str, list[model.LiveSubscription]] = defaultdict(list)
    for s in pool:
        if s.id not in claimed:
            candidates[families.family(s.offer_id)].append(s)
    for family, wanted in waiting.items():
        hits = candidates.get(family, [])
        if not hits:
            continue
        if len(hits) == 1 and len(wanted) == 1:
            same = products.product_key(hits[0].offer_id) == products.product_key(
                wanted[0].offer_id
            )
            rule = "offer" if same else "product"
            found[wanted[0].key] = Match(wanted[0], hits[0], rule)
            claimed.add(hits[0].id)
            continue
        keys = ", ".join(ds.key for ds in wanted)
        what = f"of the product {products.product_key(wanted[0].offer_id)}"
        for ds in wanted:
            problems.append(
                MatchProblem(
                    ds.key,
                    f"{len(hits)} unmarked target subscriptions {what} could be {keys}; add the "
                    f"marker {markers.marker(ds.key)} to the right one's friendly name (or pin "
                    "it with targetSubscription), or set adopt: never on an entry that must be "
                    "bought anew, so the plan does not guess",
                    tuple(_describe(s) for s in hits),
                )
            )


def match_azure(
    handoffs: Sequence[tuple[model.AzureHandoff, model.LiveSubscription | None]],
    live: Sequence[model.LiveSubscription],
) -> tuple[dict[str, model.LiveSubscription | None], set[str]]:
    """Pair each hand-off's source Azure subscription with a target Azure subscription: same
    entitlement id (the Azure subscription keeps its id when Microsoft moves it), else the only
    unclaimed one with the same offer id. No unique candidate means "not moved yet"."""
    pool = [s for s in live if s.commerce.is_azure and s.status not in GONE]
    claimed: set[str] = set()
    result: dict[str, model.LiveSubscription | None] = {}
    for handoff, source in handoffs:
        hit: model.LiveSubscription | None = None
        ent = source.entitlement_id if source is not None else None
        if ent:
            hit = next((s for s in pool if s.entitlement_id == ent and s.id not in claimed), None)
        if hit is None and source is not None:
            # Same product and SKU: the availability part of a catalog id is reissued.
            key = products.product_key(source.offer_id)
            same = [
                s for s in pool if products.product_key(s.offer_id) == key and s.id not in claimed
            ]
            hit = same[0] if len(same) == 1 else None
        if hit is not None:
            claimed.add(hit.id)
        result[handoff.key] = hit
    return result, claimed


def match_customer(
    customer: model.DesiredCustomer,
    source: model.CustomerView,
    target_subscriptions: Sequence[model.LiveSubscription],
    transferred: Mapping[str, str] | None = None,
    families: products.Families | None = None,
) -> MatchResult:
    """Every pairing for one customer: license matches, Azure matches, unmanaged, problems."""
    found, problems, claimed = match_licenses(
        customer.subscriptions, target_subscriptions, transferred, families
    )
    azure: dict[str, model.LiveSubscription | None] = {}
    taken = claimed
    if customer.azure:  # speed: most customers hand nothing off
        handoffs = [(h, source.subscription(h.source_subscription_id)) for h in customer.azure]
        azure, azure_claimed = match_azure(handoffs, target_subscriptions)
        taken = claimed | azure_claimed
    unmanaged = (
        tuple([s for s in target_subscriptions if s.id not in taken and s.status not in GONE])
        if target_subscriptions
        else ()
    )
    matches = tuple([found[ds.key] for ds in customer.subscriptions if ds.key in found])
    return MatchResult(matches, azure, unmanaged, tuple(problems))

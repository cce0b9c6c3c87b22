"""Whether a partner-to-partner transfer can move a source subscription, and why not.

The rules come from Microsoft's current tutorial and transfer pages (partner-center-api.md
section 0 and §3.10): transfers stay within a Partner Center region, a tenant takes at most 300
subscriptions in one consolidation, a request is reported to carry about 25 line items [S], and
reservations and third-party marketplace items do not transfer (400 900145 / 900146). Some are
facts of the pair (one entry merging several sources, another product wanted, a target bought
already) rather than problems: those fall back without a warning.

Pure: values in, reasons out. ``planning.strategy`` turns a reason into the fallback.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType

from reconciler import model
from reconciler.planning import actions, products

#: Microsoft's tutorial: at most 300 subscriptions per customer tenant in one consolidation.
MAX_TRANSFERS_PER_CUSTOMER = 300
#: Reported (not confirmed by Microsoft [S]) limit of line items in one transfer request.
MAX_LINES_PER_REQUEST = 25

_EUROPE = (
    "AT BE BG HR CY CZ DK EE FI FR DE GR HU IE IT LV LT LU MT NL PL PT RO SK SI ES SE "  # EU
    "IS LI NO CH "  # EFTA
    "GB"
)

#: Countries (ISO 3166-1 alpha-2) to the Partner Center (CSP) region a partner account in that
#: country transacts in. Our reading of Microsoft's "CSP regional markets" page and the
#: Cloud Reseller Agreement's territory (EU/EFTA, plus the United Kingdom): only the regions
#: we could confirm are listed. A country missing here has no known region; the plan then
#: warns instead of deciding (see ``region_problem``).
REGIONS: Mapping[str, str] = MappingProxyType(
    {
        **dict.fromkeys(_EUROPE.split(), "Europe"),
        "US": "United States",
        "UM": "United States",
        "BR": "Brazil",
    }
)


def region_of(country: str) -> str | None:
    """The Partner Center region of ``country`` in ``REGIONS``, or None when not known."""
    return REGIONS.get(country.upper())


def region_problem(source: model.Tenant, target: model.Tenant) -> tuple[str, bool]:
    """(why a transfer from ``source`` to ``target`` crosses regions, is it certain): ``""``
    when both are in one country or one known region; uncertain when a country is unmapped."""
    if source.country.upper() == target.country.upper():
        return "", True
    src, tgt = region_of(source.country), region_of(target.country)
    if src is None or tgt is None:
        unknown = source.country if src is None else target.country
        return (
            f"the Partner Center region of {unknown} is not in the tool's country map, so "
            f"whether {source.name} ({source.country}) and {target.name} ({target.country}) "
            "share a region (transfers stay within one) is not checked",
            False,
        )
    if src == tgt:
        return "", True
    return (
        f"source tenant {source.name} ({source.country}, {src}) and target {target.name} "
        f"({target.country}, {tgt}) are in different Partner Center regions; transfers stay "
        "within a region",
        True,
    )


@dataclass(frozen=True, slots=True)
class Block:
    """Why a transfer cannot move one source subscription; ``warn``: it is a problem worth a
    plan warning (region, limits, product type), not a plain fact of the pair."""

    why: str
    warn: bool


_RESERVATION = "reservations do not transfer (Partner Center answers 900145)"
_MARKETPLACE = "third-party marketplace items do not transfer (Partner Center answers 900146)"
#: Parts of Partner Center's ``productType`` (id or subType) that transfers refuse.
_REFUSED_TYPES = {
    "azurereservation": _RESERVATION,
    "reservation": _RESERVATION,
    "reservations": _RESERVATION,
    "saas": _MARKETPLACE,
    "marketplace": _MARKETPLACE,
    "thirdparty": _MARKETPLACE,
}


def product_block(sub: model.LiveSubscription) -> str:
    """Why the subscription's product type cannot transfer, or ``""``."""
    if not sub.product_type:
        return ""
    parts = (sub.product_type or "").replace(" ", "").replace("-", "").lower().split("/")
    return next((_REFUSED_TYPES[p] for p in parts if p in _REFUSED_TYPES), "")


@actions.fast_init  # speed: one Pair per source subscription that may transfer
@dataclass(frozen=True, slots=True)
class Pair:
    """A source subscription of a desired entry, with what planning knows about the entry."""

    entry: model.DesiredSubscription
    source: model.LiveSubscription
    tenant: model.Tenant
    #: The target subscription already serving the entry and how it was matched ("none": none).
    target: model.LiveSubscription | None
    rule: str


def blocks(
    pairs: Sequence[Pair], target: model.Tenant, families: products.Families
) -> dict[str, Block]:
    """Source subscription id -> why a transfer cannot move it, for every pair that cannot.
    The 300-subscription limit counts the pairs that could move, in (tenant, id) order."""
    found: dict[str, Block] = {}
    movable: list[Pair] = []
    # Each source tenant's region problem, worked out once per call (speed).
    regions: dict[str, tuple[str, bool]] = {}
    for p in pairs:
        block = _pair_block(p, target, families, regions)
        if block is not None:
            found[p.source.id] = block
        else:
            movable.append(p)
    if len(movable) <= MAX_TRANSFERS_PER_CUSTOMER:
        return found  # speed: under the limit, the order of the movable pairs does not matter
    movable.sort(key=lambda p: (p.tenant.name, p.source.id))
    for n, p in enumerate(movable[MAX_TRANSFERS_PER_CUSTOMER:], MAX_TRANSFERS_PER_CUSTOMER + 1):
        found[p.source.id] = Block(
            f"it would be subscription {n} of this customer to transfer, over Microsoft's limit "
            f"of {MAX_TRANSFERS_PER_CUSTOMER} per tenant in one consolidation",
            True,
        )
    return found


#: ``CommerceModel.NCE_LICENSE`` as a module global, read once per pair (speed: a member read
#: off its class costs about 80 ns on Python 3.11).
_NCE = model.CommerceModel.NCE_LICENSE


def _pair_block(
    p: Pair,
    target: model.Tenant,
    families: products.Families,
    regions: dict[str, tuple[str, bool]],
) -> Block | None:
    s, ds = p.source, p.entry
    if p.target is not None and p.rule != "transfer":
        return Block(
            f"the target already holds {p.target.id} for {ds.key}; a transfer would add a "
            "second subscription",
            False,
        )
    if ds.commerce is not _NCE:
        return Block(
            f"{ds.key} buys {ds.offer_id}, which is not a new-commerce license; a transfer "
            "moves the new-commerce subscription as it is",
            False,
        )
    if len(ds.replaces) > 1:
        return Block(
            f"{ds.key} merges {len(ds.replaces)} source subscriptions into one; a transfer "
            "moves each as a subscription of its own",
            False,
        )
    # ``families.same_product``, with the product keys (cached) read directly (speed).
    if not families.same_keys(products.product_key(s.offer_id), products.product_key(ds.offer_id)):
        return Block(
            f"{ds.key} wants {ds.offer_id} and the source is {s.offer_id}; a transfer moves "
            "the subscription as it is",
            False,
        )
    refused = product_block(s)
    if refused:
        return Block(refused, True)
    region = regions.get(p.tenant.name)
    if region is None:
        region = regions[p.tenant.name] = region_problem(p.tenant, target)
    why, certain = region
    if why and certain:
        return Block(why, True)
    return None


def crowded_requests(
    moving: Iterable[tuple[str, str]],
) -> list[tuple[str, int]]:
    """(source tenant, count) for every source tenant from which more subscriptions of one
    customer move by transfer than one request is reported to carry; ``moving`` yields
    (source tenant, subscription id) pairs."""
    counts: dict[str, int] = {}
    for tenant, _ in moving:
        counts[tenant] = counts.get(tenant, 0) + 1
    return sorted((t, n) for t, n in counts.items() if n > MAX_LINES_PER_REQUEST)

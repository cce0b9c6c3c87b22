"""Which offers are the same product (docs/plan-format.md, "Matching").

Partner Center sells one product under many offer ids: a new-commerce catalog item id is
``PRODUCT:SKU:AVAILABILITY`` and Microsoft reissues the availability part regularly, the term
and billing cycle are chosen per purchase, and a legacy offer (a GUID) names a product that
new commerce sells under another id. Matching a target subscription on the exact offer id
therefore misses subscriptions the customer already holds, and a miss is a purchase.

A *product key* is the offer id without its availability part (``PRODUCT:SKU``, upper case);
a legacy offer id is its own key. A *family* joins the keys that an Offers entry declares to be
one product: its own offer and every offer it ``replaces``. Pure; no I/O.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from reconciler import model


@functools.lru_cache(maxsize=4096)
def product_key(offer_id: str) -> str:
    """``PRODUCT:SKU`` for a new-commerce catalog item id, the whole id (upper case) otherwise.
    Cached: a plan asks for the same few catalog ids again and again."""
    parts = offer_id.strip().upper().split(":")
    return ":".join(parts[:2]) if len(parts) >= 3 else ":".join(parts)


@dataclass(frozen=True, slots=True)
class Families:
    """Product keys grouped into families (one representative key per family)."""

    _root: Mapping[str, str]

    def family(self, offer_id: str) -> str:
        key = product_key(offer_id)
        return self._root.get(key, key)

    def same_product(self, a: str, b: str) -> bool:
        return self.family(a) == self.family(b)

    def same_keys(self, a: str, b: str) -> bool:
        """``same_product`` for two product keys (``product_key``) already computed."""
        root = self._root
        return a == b or root.get(a, a) == root.get(b, b)

    def is_replaced_offer(self, wanted: str, held: str) -> bool:
        """True when ``held`` is another product key of ``wanted``'s family (a legacy offer an
        Offers entry replaces, or the other way round), not merely another availability."""
        return product_key(wanted) != product_key(held) and self.same_product(wanted, held)


def families(offers: Mapping[str, model.Offer]) -> Families:
    """The families the consolidation's Offers entries declare (``replaces``)."""
    if not offers:  # speed: asked once per customer, and most consolidations name none
        return _families(())
    return _families(tuple(sorted((o.offer_id, tuple(o.replaces)) for o in offers.values())))


@functools.lru_cache(maxsize=8)
def _families(entries: tuple[tuple[str, tuple[str, ...]], ...]) -> Families:
    parent: dict[str, str] = {}

    def find(key: str) -> str:
        while parent.setdefault(key, key) != key:
            parent[key] = parent[parent[key]]
            key = parent[key]
        return key

    def union(keys: Iterable[str]) -> None:
        roots = sorted({find(product_key(k)) for k in keys})
        for r in roots[1:]:
            parent[r] = roots[0]

    for offer_id, replaces in entries:
        union((offer_id, *replaces))
    return Families({k: find(k) for k in list(parent)})

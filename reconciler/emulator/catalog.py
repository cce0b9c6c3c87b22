"""The emulator's small catalog: legacy offers (GUID / MS-AZR ids) and modern products.

Knows what an offer id means (legacy license, legacy Azure, new-commerce license, Azure plan),
its seat limits and how catalog resources render as JSON. It must not hold customer state.
"""

from __future__ import annotations

import copy
import dataclasses
from dataclasses import dataclass
from typing import Any

LEGACY, AZURE_LEGACY, NCE, AZURE_PLAN = "legacy", "azure_legacy", "nce", "azure_plan"

_NCE_TERMS = [
    {"duration": "P1M", "billingCycle": "monthly"},
    {"duration": "P1Y", "billingCycle": "monthly"},
    {"duration": "P1Y", "billingCycle": "annual"},
    {"duration": "P3Y", "billingCycle": "annual"},
]


def _nce(pid: str, sku: str, avail: str, title: str) -> dict[str, Any]:
    return {
        "id": pid,
        "title": title,
        "productType": "OnlineServicesNCE",
        "targetView": "OnlineServices",
        "skus": [
            {
                "id": sku,
                "title": title,
                "minimumQuantity": 1,
                "maximumQuantity": 300,
                "supportedBillingCycles": ["monthly", "annual"],
                "availabilities": [{"id": avail, "terms": copy.deepcopy(_NCE_TERMS)}],
            }
        ],
    }


def _legacy(oid: str, name: str) -> dict[str, Any]:
    return {
        "id": oid,
        "name": name,
        "billing": "license",
        "minimumQuantity": 1,
        "maximumQuantity": 10000,
        "unitType": "Licenses",
    }


#: The catalog used when a seed file does not bring its own (docs/emulator.md).
DEFAULT_CATALOG: dict[str, Any] = {
    "offers": [
        _legacy("796B6B5F-613C-4E24-A17C-EBA730D49C02", "Office 365 E3"),
        _legacy("4B244418-9658-4451-A2B8-B5B2B7D1F06E", "Visio Online Plan 2"),
        _legacy("195416C1-3447-423A-B37B-EE59A99A19C4", "Exchange Online (Plan 1)"),
        _legacy("031C9E47-4802-4248-838E-778FB1D2CC05", "Microsoft 365 Business Standard"),
        {
            "id": "MS-AZR-0145P",
            "name": "Microsoft Azure",
            "billing": "usage",
            "minimumQuantity": 1,
            "maximumQuantity": 1,
            "unitType": "Usage-based",
        },
    ],
    "products": [
        _nce("CFQ7TTC0LF8Q", "0001", "CFQ7TTC0HD0R", "Office 365 E3"),
        _nce("CFQ7TTC0LH16", "0001", "CFQ7TTC0HD1G", "Exchange Online (Plan 1)"),
        _nce("CFQ7TTC0LH18", "0001", "CFQ7TTC0K971", "Microsoft 365 Business Basic"),
        _nce("CFQ7TTC0LCHC", "0002", "CFQ7TTC0HB8Z", "Microsoft 365 Business Premium"),
        _nce("CFQ7TTC0LDPB", "0001", "CFQ7TTC0HD4N", "Microsoft 365 Business Standard"),
        _nce("CFQ7TTC0HD32", "0002", "CFQ7TTC0J1FV", "Visio Plan 2"),
        {
            "id": "DZH318Z0BPS6",
            "title": "Azure plan",
            "productType": "Azure",
            "targetView": "MicrosoftAzure",
            "skus": [
                {
                    "id": "0001",
                    "title": "Microsoft Azure plan",
                    "description": "MS-AZR-0017G",
                    "minimumQuantity": 1,
                    "maximumQuantity": 1,
                    "supportedBillingCycles": ["one_time"],
                    "availabilities": [
                        {"id": "DZH318Z0BML6", "terms": [{"duration": "", "billingCycle": "none"}]}
                    ],
                }
            ],
        },
    ],
}


@dataclass(frozen=True, slots=True)
class Offering:
    """What one purchasable id means."""

    kind: str
    offer_id: str
    name: str
    billing_type: str
    unit_type: str
    minimum: int
    maximum: int
    product_id: str = ""
    sku_id: str = ""
    availability_id: str = ""
    product_type: str = ""

    @property
    def is_nce(self) -> bool:
        """New-commerce license rules apply (cancellation windows, billing while suspended)."""
        return self.kind == NCE

    @property
    def is_azure(self) -> bool:
        """Usage-based Azure (legacy MS-AZR-* or the Azure plan)."""
        return self.kind in (AZURE_LEGACY, AZURE_PLAN)


class Catalog:
    """Lookup and rendering over a catalog document (``DEFAULT_CATALOG`` shape)."""

    def __init__(self, doc: dict[str, Any] | None = None) -> None:
        doc = copy.deepcopy(doc if doc is not None else DEFAULT_CATALOG)
        self.offers = {str(o["id"]).upper(): o for o in doc.get("offers", [])}
        self.products = {str(p["id"]).upper(): p for p in doc.get("products", [])}
        self._index: dict[str, Offering] = {}
        for offer in self.offers.values():
            usage = offer.get("billing") == "usage"
            item = Offering(
                kind=AZURE_LEGACY if usage else LEGACY,
                offer_id=offer["id"],
                name=offer["name"],
                billing_type="usage" if usage else "license",
                unit_type=offer.get("unitType", "Usage-based" if usage else "Licenses"),
                minimum=int(offer.get("minimumQuantity", 1)),
                maximum=int(offer.get("maximumQuantity", 10000)),
            )
            self._index[item.offer_id.upper()] = item
        for product in self.products.values():
            for sku in product["skus"]:
                for avail in sku["availabilities"]:
                    self._add_modern(product, sku, avail)

    def _add_modern(self, product: dict[str, Any], sku: dict[str, Any], avail: Any) -> None:
        azure = product.get("productType") == "Azure"
        catalog_id = f"{product['id']}:{sku['id']}:{avail['id']}"
        item = Offering(
            kind=AZURE_PLAN if azure else NCE,
            offer_id=catalog_id,
            name=product["title"],
            billing_type="usage" if azure else "license",
            unit_type="Usage-based" if azure else "Licenses",
            minimum=int(sku.get("minimumQuantity", 1)),
            maximum=int(sku.get("maximumQuantity", 300)),
            product_id=product["id"],
            sku_id=sku["id"],
            availability_id=avail["id"],
            product_type=product.get("productType", "OnlineServicesNCE"),
        )
        self._index[catalog_id.upper()] = item
        # Orders also accept "product:sku" and pick the (only) availability.
        self._index.setdefault(f"{product['id']}:{sku['id']}".upper(), item)

    def resolve(self, offer_id: str) -> Offering | None:
        """The offering an offer or catalog item id denotes, or None if unknown."""
        return self._index.get(offer_id.strip().upper())

    def resolve_at(self, offer_id: str, generation: int) -> Offering | None:
        """Like ``resolve``, but new-commerce license availabilities carry the id of the
        ``generation``-th reissue: a catalog item id with an earlier availability id is
        unknown (None); ``PRODUCT:SKU`` gives the current one."""
        found = self.resolve(offer_id)
        parts = offer_id.strip().upper().split(":")
        if generation <= 0 or len(parts) != 3:
            return self.current(found, generation) if found else None
        for item in self._index.values():
            if (
                item.kind == NCE
                and (item.product_id.upper(), item.sku_id.upper()) == (parts[0], parts[1])
                and reissued(item.availability_id, generation) == parts[2]
            ):
                return self.current(item, generation)
        return found if found is not None and found.kind != NCE else None

    @staticmethod
    def current(item: Offering, generation: int) -> Offering:
        """``item`` as sold at ``generation`` (new commerce: its reissued availability id)."""
        if item.kind != NCE or generation <= 0:
            return item
        aid = reissued(item.availability_id, generation)
        return dataclasses.replace(
            item, availability_id=aid, offer_id=f"{item.product_id}:{item.sku_id}:{aid}"
        )

    def document(self) -> dict[str, Any]:
        """The catalog as a seed-format document (for snapshots)."""
        return {"offers": list(self.offers.values()), "products": list(self.products.values())}

    # -- rendering -------------------------------------------------------------------------

    def offer_json(self, offer: dict[str, Any], country: str) -> dict[str, Any]:
        """A legacy ``Offer`` resource."""
        return {
            "id": offer["id"],
            "name": offer["name"],
            "description": offer["name"],
            "minimumQuantity": offer.get("minimumQuantity", 1),
            "maximumQuantity": offer.get("maximumQuantity", 10000),
            "rank": 0,
            "uri": f"/offers/{offer['id']}?country={country}",
            "locale": "en-US",
            "country": country,
            "category": {
                "id": "Online",
                "name": "Online services",
                "rank": 0,
                "locale": "en-US",
                "country": country,
            },
            "prerequisiteOffers": [],
            "isAddOn": False,
            "isAvailableForPurchase": True,
            "billing": offer.get("billing", "license"),
            "isAutoRenewable": True,
            "product": {"id": offer["id"], "name": offer["name"], "unit": "Licenses"},
            "unitType": offer.get("unitType", "Licenses"),
            "isTrial": False,
            "links": {"self": _link(f"/offers/{offer['id']}?country={country}")},
            "attributes": {"objectType": "Offer"},
        }

    def product_json(self, product: dict[str, Any], country: str) -> dict[str, Any]:
        """A ``Product`` resource."""
        pid = product["id"]
        ptype = product.get("productType", "OnlineServicesNCE")
        return {
            "id": pid,
            "title": product["title"],
            "description": product["title"],
            "productType": {"id": ptype, "displayName": ptype},
            "isMicrosoftProduct": True,
            "publisherName": "Microsoft Corporation",
            "links": {
                "skus": _link(f"/products/{pid}/skus?country={country}"),
                "self": _link(f"/products/{pid}?country={country}"),
            },
            "attributes": {"objectType": "Product"},
        }

    def sku_json(
        self, product: dict[str, Any], sku: dict[str, Any], country: str
    ) -> dict[str, Any]:
        """A ``Sku`` resource."""
        pid, sid = product["id"], sku["id"]
        return {
            "id": sid,
            "productId": pid,
            "title": sku["title"],
            "description": sku.get("description", sku["title"]),
            "minimumQuantity": sku.get("minimumQuantity", 1),
            "maximumQuantity": sku.get("maximumQuantity", 300),
            "isTrial": False,
            "supportedBillingCycles": sku.get("supportedBillingCycles", []),
            "purchasePrerequisites": [],
            "inventoryVariables": [],
            "provisioningVariables": [],
            "dynamicAttributes": {},
            "consumptionType": "",
            "links": {
                "availabilities": _link(
                    f"/products/{pid}/skus/{sid}/availabilities?country={country}"
                ),
                "self": _link(f"/products/{pid}/skus/{sid}?country={country}"),
            },
            "attributes": {"objectType": "Sku"},
        }

    def availability_json(
        self,
        product: dict[str, Any],
        sku: dict[str, Any],
        avail: dict[str, Any],
        country: str,
        currency: str,
    ) -> dict[str, Any]:
        """An ``Availability`` resource with its terms and cancellation policy."""
        pid, sid, aid = product["id"], sku["id"], avail["id"]
        terms = []
        for index, term in enumerate(avail.get("terms", [])):
            terms.append(
                {
                    "id": f"{aid.lower()}t{index}",
                    "duration": term["duration"],
                    "description": f"{term['duration']} commitment, {term['billingCycle']} billing",
                    "billingCycle": term["billingCycle"],
                    "cancellationPolicies": [
                        {
                            "refundOptions": [
                                {"sequenceId": 0, "type": "Full", "expiresAfter": "P1D"},
                                {"sequenceId": 1, "type": "Partial", "expiresAfter": "P7D"},
                            ]
                        }
                    ],
                }
            )
        return {
            "id": aid,
            "productId": pid,
            "skuId": sid,
            "catalogItemId": f"{pid}:{sid}:{aid}",
            "defaultCurrency": {"code": currency, "symbol": _SYMBOLS.get(currency, currency)},
            "segment": "commercial",
            "country": country,
            "isPurchasable": True,
            "isRenewable": True,
            "terms": terms,
            "links": {
                "self": _link(f"/products/{pid}/skus/{sid}/availabilities/{aid}?country={country}")
            },
            "attributes": {"objectType": "Availability"},
        }


_SYMBOLS = {"EUR": "€", "USD": "$", "GBP": "£", "CHF": "CHF"}
_B36 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def reissued(availability_id: str, generation: int) -> str:
    """The id an availability carries after its ``generation``-th reissue (0: the seeded
    id): the first 8 characters kept, the last 4 counting reissues in base 36."""
    aid = availability_id.upper()
    if generation <= 0:
        return aid
    digits, n = "", generation
    while n:
        n, rest = divmod(n, 36)
        digits = _B36[rest] + digits
    return aid[:8] + digits.rjust(4, "0")[-4:]


def _link(uri: str) -> dict[str, Any]:
    return {"uri": uri, "method": "GET", "headers": []}


def link(uri: str) -> dict[str, Any]:
    """A Partner Center ``Link`` object (relative uri, no /v1)."""
    return _link(uri)

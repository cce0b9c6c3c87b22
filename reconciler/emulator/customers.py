"""Customer routes: the seek-paged customer list (with ``filter``), get-by-id, company and
billing profiles, the reseller relationship request URL and the partner's own profiles.

Paging follows docs §1.5: ``links.next`` carries ``/customers?size=N&seekOperation=Next`` and
an opaque ``MS-ContinuationToken`` header that the caller copies back. This module must not
change state.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from reconciler.emulator import render
from reconciler.emulator.catalog import link
from reconciler.emulator.engine import Engine
from reconciler.emulator.protocol import ApiFault, Request, Response, RouteTable, collection
from reconciler.emulator.world import Partner


def list_customers(engine: Engine, req: Request) -> Response:
    """``GET /customers[?size=&filter=]`` and ``?seekOperation=Next`` with a continuation."""
    assert req.principal is not None
    tenant = req.principal.tenant_id
    if req.query.get("seekoperation", "").lower() == "next":
        offset, size, flt = _read_token(req.header("MS-ContinuationToken"), tenant)
    else:
        offset, size, flt = 0, _size(engine, req.query.get("size")), _filter(req)
    ids = engine.world.customer_lists.get(tenant, [])
    customers = [engine.world.customers[c] for c in ids]
    if flt is not None:
        field, value = flt
        customers = [
            c
            for c in customers
            if (c.company_name if field == "companyname" else c.domain)
            .lower()
            .startswith(value.lower())
        ]
    page = customers[offset : offset + size]
    items = [render.customer(c, full=False) for c in page]
    next_link = None
    if offset + size < len(customers):
        token = _make_token(tenant, offset + size, size, flt)
        next_link = {
            "uri": f"/customers?size={size}&seekOperation=Next",
            "method": "GET",
            "headers": [{"key": "MS-ContinuationToken", "value": token}],
        }
    return Response(200, collection(items, f"/customers?size={size}", next=next_link))


def _size(engine: Engine, raw: str | None) -> int:
    limit = max(1, engine.settings.page_size)
    if raw is None or raw == "":
        return limit
    if not raw.isdigit() or int(raw) < 1:
        raise ApiFault(400, 800002, f"Invalid size '{raw}': must be a positive integer.")
    return min(int(raw), limit)


def _filter(req: Request) -> tuple[str, str] | None:
    raw = req.query.get("filter")
    if not raw:
        return None
    try:
        doc = {str(k).lower(): v for k, v in json.loads(raw).items()}
    except (ValueError, AttributeError) as exc:
        raise ApiFault(400, 800002, "The filter must be a JSON object.") from exc
    field = str(doc.get("field", "")).lower()
    if field not in ("companyname", "domain"):
        raise ApiFault(400, 800002, f"Unsupported filter field '{doc.get('field')}'.")
    if str(doc.get("operator", "")).lower() != "starts_with":
        raise ApiFault(400, 800002, "Only the starts_with operator is supported.")
    return field, str(doc.get("value", ""))


def _make_token(tenant: str, offset: int, size: int, flt: tuple[str, str] | None) -> str:
    doc = {"t": tenant, "o": offset, "s": size, "f": list(flt) if flt else None}
    return base64.urlsafe_b64encode(json.dumps(doc).encode()).decode()


def _read_token(raw: str, tenant: str) -> tuple[int, int, tuple[str, str] | None]:
    if not raw:
        raise ApiFault(
            400,
            800002,
            "seekOperation=Next needs the MS-ContinuationToken header from links.next.headers.",
        )
    try:
        doc: dict[str, Any] = json.loads(base64.urlsafe_b64decode(raw.encode()))
        flt = (str(doc["f"][0]), str(doc["f"][1])) if doc.get("f") else None
        if doc["t"] != tenant:
            raise ValueError("token of another tenant")
        return int(doc["o"]), int(doc["s"]), flt
    except (ValueError, KeyError, TypeError, IndexError) as exc:
        raise ApiFault(400, 800002, "The continuation token is invalid or expired.") from exc


def get_customer(engine: Engine, req: Request, customer_id: str) -> Response:
    """``GET /customers/{id}``: the full customer."""
    customer = engine.customer_for(req.principal, customer_id)
    return Response(200, render.customer(customer, full=True))


def company_profile(engine: Engine, req: Request, customer_id: str) -> Response:
    """``GET /customers/{id}/profiles/company``."""
    customer = engine.customer_for(req.principal, customer_id)
    return Response(200, render.customer(customer, full=False)["companyProfile"])


def billing_profile(engine: Engine, req: Request, customer_id: str) -> Response:
    """``GET /customers/{id}/profiles/billing``."""
    customer = engine.customer_for(req.principal, customer_id)
    return Response(200, render.customer(customer, full=True)["billingProfile"])


def delegated_only(req: Request) -> None:
    """403 900329 for an app-only token (the route needs App+User)."""
    assert req.principal is not None
    if req.principal.app_only:
        raise ApiFault(
            403,
            900329,
            "This resource does not support application-only "
            "authentication; sign in as a user (App+User).",
        )


def relationship_request(engine: Engine, req: Request) -> Response:
    """``GET /customers/relationshiprequests`` (App+User only): the invitation URL."""
    delegated_only(req)
    assert req.principal is not None
    url = (
        "https://admin.microsoft.com/Adminportal/Home?invType=ResellerRelationship"
        f"&partnerId={req.principal.tenant_id}&msppId=0&DAP=false"
        "#/BillingAccounts/partner-invitation"
    )
    return Response(200, {"url": url, "attributes": {"objectType": "RelationshipRequest"}})


def organization_profile(engine: Engine, req: Request) -> Response:
    """``GET /profiles/organization`` (App+User only)."""
    delegated_only(req)
    assert req.principal is not None
    return Response(
        200, render.organization_profile(engine.world.partners[req.principal.tenant_id])
    )


def mpn_profile(engine: Engine, req: Request) -> Response:
    """``GET /profiles/mpn[?mpnId=]`` (App+User only)."""
    delegated_only(req)
    assert req.principal is not None
    wanted = req.query.get("mpnid")
    partner: Partner | None = engine.world.partners[req.principal.tenant_id]
    if wanted is not None:
        partner = next((p for p in engine.world.partners.values() if p.mpn_id == wanted), None)
    if partner is None:
        raise ApiFault(
            404, 3000, f"Partner Organization with partner_id {wanted} could not be found."
        )
    return Response(
        200,
        {
            "partnerName": partner.company_name,
            "mpnId": partner.mpn_id,
            "profileType": "MpnProfile",
            "links": {"self": link("/profiles/mpn")},
            "attributes": {"objectType": "MpnProfile"},
        },
    )


ROUTES: RouteTable = [
    ("GET", "/customers", list_customers),
    ("GET", "/customers/relationshiprequests", relationship_request),
    ("GET", "/customers/{customer_id}", get_customer),
    ("GET", "/customers/{customer_id}/profiles/company", company_profile),
    ("GET", "/customers/{customer_id}/profiles/billing", billing_profile),
    ("GET", "/profiles/organization", organization_profile),
    ("GET", "/profiles/mpn", mpn_profile),
]

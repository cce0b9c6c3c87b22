"""Customer agreements: the confirmation that a customer accepted the Microsoft Customer
Agreement (``GET``/``POST /customers/{id}/agreements``), and the check every purchase makes
(403 13605 while it is missing, switch ``require_customer_agreement``). Acceptance belongs to
the customer, whichever partner confirmed it. Must not create or change subscriptions.
"""

from __future__ import annotations

from typing import Any

from reconciler.emulator.customers import delegated_only
from reconciler.emulator.engine import Engine
from reconciler.emulator.protocol import ApiFault, Request, Response, RouteTable, collection
from reconciler.emulator.seeds import MCA_TEMPLATE_ID, agreement_record
from reconciler.emulator.world import Customer

MCA = "MicrosoftCustomerAgreement"


def require_agreement(engine: Engine, customer: Customer) -> None:
    """403 13605 when purchases need the MCA and ``customer`` has not accepted it."""
    if engine.settings.require_customer_agreement and customer.agreement is None:
        raise ApiFault(
            403,
            13605,
            f"Customer {customer.tenant_id} must accept the Microsoft Customer Agreement "
            "before a purchase can be made.",
        )


def list_agreements(engine: Engine, req: Request, customer_id: str) -> Response:
    """``GET /customers/{id}/agreements[?agreementType=]``: the confirmed acceptances."""
    customer = engine.customer_for(req.principal, customer_id)
    wanted = req.query.get("agreementtype", MCA)
    items = [customer.agreement] if customer.agreement is not None else []
    items = [a for a in items if wanted.lower() in (a["type"].lower(), "all")]
    return Response(200, collection(items, f"/customers/{customer.tenant_id}/agreements"))


def confirm_agreement(engine: Engine, req: Request, customer_id: str) -> Response:
    """``POST /customers/{id}/agreements``: the partner confirms the customer's acceptance
    (App+User only; ``primaryContact`` with first name, last name and email, ``templateId``,
    ``dateAgreed``, ``type``). 201 with the agreement."""
    delegated_only(req)
    customer = engine.customer_for(req.principal, customer_id)
    body = req.json()
    if not isinstance(body, dict):
        raise ApiFault(400, 800002, "The agreement body must be a JSON object.")
    contact: Any = body.get("primarycontact")
    missing = [
        name
        for name in ("firstname", "lastname", "email")
        if not isinstance(contact, dict) or not str(contact.get(name) or "").strip()
    ]
    if missing or str(body.get("type") or "").lower() != MCA.lower():
        raise ApiFault(
            400,
            800002,
            "An agreement needs type MicrosoftCustomerAgreement, templateId, dateAgreed and a "
            "primaryContact with firstName, lastName and email.",
        )
    if str(body.get("templateid") or "").lower() != MCA_TEMPLATE_ID:
        raise ApiFault(400, 800002, f"Unknown agreement templateId {body.get('templateid')!r}.")
    date = str(body.get("dateagreed") or engine.clock.now().date().isoformat())
    shown = {
        "firstName": contact.get("firstname"),
        "lastName": contact.get("lastname"),
        "email": contact.get("email"),
        "phoneNumber": contact.get("phonenumber") or "",
    }
    customer.agreement = agreement_record(customer, date=date, contact=shown)
    return Response(201, customer.agreement)


ROUTES: RouteTable = [
    ("GET", "/customers/{customer_id}/agreements", list_agreements),
    ("POST", "/customers/{customer_id}/agreements", confirm_agreement),
]

"""Customer agreements: the confirmation that a customer accepted the Microsoft Customer
Agreement (``GET``/``POST /customers/{id}/agreements``), the agreement metadata a confirmation
names (``GET /agreements?agreementType=``), and the check every purchase makes (403 13605
while no acceptance is confirmed, switch ``require_customer_agreement``).

Microsoft documents all three calls as App+User only (403 900329 to an app-only token), a
listing without ``agreementType`` as the older Microsoft Cloud Agreement (``*``: every type),
and a confirmation repeating the same contact as error 600061
(``PartnerConfirmedAgreementAlreadyExists``); a changed contact creates another agreement.
Acceptance belongs to the customer, whichever partner confirmed it. Must not create or change
subscriptions.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from reconciler.emulator.customers import delegated_only
from reconciler.emulator.engine import Engine
from reconciler.emulator.protocol import ApiFault, Request, Response, RouteTable, collection
from reconciler.emulator.seeds import MCA_TEMPLATE_ID, agreement_record
from reconciler.emulator.world import Customer

MCA = "MicrosoftCustomerAgreement"
CLOUD = "MicrosoftCloudAgreement"
#: What ``agreementType`` means when a request leaves it out (Microsoft: for backward
#: compatibility, the Microsoft Cloud Agreement).
DEFAULT_TYPE = CLOUD
#: The Microsoft Cloud Agreement's template id in the emulator (Microsoft's is not quoted in
#: the pages we read: [U]).
CLOUD_TEMPLATE_ID = "998b88de-aa99-4388-a42c-1b3517d49490"
#: "A partner confirmed agreement already exists for the customer."
ALREADY_EXISTS = 600061
#: The HTTP status of 600061: Microsoft's page shows the body only ([U]).
ALREADY_EXISTS_STATUS = 409

METADATA = (
    {
        "templateId": MCA_TEMPLATE_ID,
        "agreementType": MCA,
        "agreementLink": "https://aka.ms/customeragreement",
        "versionRank": 0,
    },
    {
        "templateId": CLOUD_TEMPLATE_ID,
        "agreementType": CLOUD,
        "agreementLink": "https://aka.ms/cloudagreement",
        "versionRank": 0,
    },
)


def require_agreement(engine: Engine, customer: Customer) -> None:
    """403 13605 when purchases need the MCA and ``customer`` has not accepted it."""
    if engine.settings.require_customer_agreement and not any(
        a["type"] == MCA for a in customer.agreements
    ):
        raise ApiFault(
            403,
            13605,
            f"Customer {customer.tenant_id} must accept the Microsoft Customer Agreement "
            "before a purchase can be made.",
        )


def _wanted(req: Request) -> str:
    return req.query.get("agreementtype", DEFAULT_TYPE)


def _matches(kind: str, wanted: str) -> bool:
    return wanted == "*" or kind.lower() == wanted.lower()


def list_agreements(engine: Engine, req: Request, customer_id: str) -> Response:
    """``GET /customers/{id}/agreements[?agreementType=]`` (App+User only): the confirmed
    acceptances of that type."""
    delegated_only(req)
    customer = engine.customer_for(req.principal, customer_id)
    wanted = _wanted(req)
    items = [a for a in customer.agreements if _matches(a["type"], wanted)]
    return Response(200, collection(items, f"/customers/{customer.tenant_id}/agreements"))


def agreement_metadata(engine: Engine, req: Request) -> Response:
    """``GET /agreements[?agreementType=]`` (App+User only): the ``AgreementMetaData`` of
    each agreement type, whose ``templateId`` a confirmation names."""
    delegated_only(req)
    wanted = _wanted(req)
    items = [dict(m) for m in METADATA if _matches(str(m["agreementType"]), wanted)]
    return Response(200, collection(items, "/agreements"))


def _day(value: Any) -> str | None:
    """``dateAgreed`` as the day it names, or None when it is not a date (time)."""
    text = str(value or "").strip()
    try:
        return dt.datetime.fromisoformat(text.replace("Z", "+00:00")).date().isoformat()
    except ValueError:
        return None


def _same_contact(a: dict[str, Any], b: dict[str, Any]) -> bool:
    fields = ("firstName", "lastName", "email", "phoneNumber")
    return all(
        str(a.get(f) or "").strip().lower() == str(b.get(f) or "").strip().lower() for f in fields
    )


def confirm_agreement(engine: Engine, req: Request, customer_id: str) -> Response:
    """``POST /customers/{id}/agreements``: the partner confirms the customer's acceptance
    (App+User only; ``primaryContact`` with first name, last name and email, ``templateId``
    from the metadata, ``dateAgreed``, ``type``). 201 with the agreement; 600061 when one
    with the same contact exists."""
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
    day = _day(body.get("dateagreed"))
    if missing or day is None or str(body.get("type") or "").lower() != MCA.lower():
        raise ApiFault(
            400,
            800002,
            "An agreement needs type MicrosoftCustomerAgreement, templateId, dateAgreed (a UTC "
            "date time) and a primaryContact with firstName, lastName and email.",
        )
    if str(body.get("templateid") or "").lower() != MCA_TEMPLATE_ID:
        raise ApiFault(400, 800002, f"Unknown agreement templateId {body.get('templateid')!r}.")
    shown = {
        "firstName": contact.get("firstname"),
        "lastName": contact.get("lastname"),
        "email": contact.get("email"),
        "phoneNumber": contact.get("phonenumber") or "",
    }
    if any(
        a["type"] == MCA and _same_contact(a["primaryContact"], shown) for a in customer.agreements
    ):
        raise ApiFault(
            ALREADY_EXISTS_STATUS,
            ALREADY_EXISTS,
            "A partner confirmed agreement already exists for the customer.",
        )
    assert req.principal is not None
    record = agreement_record(customer, date=day, contact=shown)
    record["dateAgreed"] = str(body.get("dateagreed"))
    record["userId"] = str(uuid.uuid5(uuid.NAMESPACE_URL, f"user:{req.principal.user}"))
    customer.agreements.append(record)
    engine.history.record(
        engine.clock.now(),
        "agreement.confirm",
        partner_id=req.principal.tenant_id,
        customer_id=customer.tenant_id.lower(),
        request_id=req.request_id,
        changes={"primaryContact.email": [None, shown["email"]]},
    )
    return Response(201, record)


ROUTES: RouteTable = [
    ("GET", "/customers/{customer_id}/agreements", list_agreements),
    ("POST", "/customers/{customer_id}/agreements", confirm_agreement),
    ("GET", "/agreements", agreement_metadata),
]

"""The Microsoft Customer Agreement as Microsoft documents it: a customer's confirmed
acceptance is read (``GET /customers/{id}/agreements``) and confirmed (``POST``) with App+User
only, the confirmation names the ``templateId`` of the agreement metadata
(``GET /agreements?agreementType=``, App+User only too), the same contact twice is error
600061 while a changed contact is another agreement, and a purchase for a customer who has
not accepted it is 403 13605 (switch ``requireCustomerAgreement``)."""

from __future__ import annotations

from typing import Any

import pytest
from conftest import FABRIKAM, World

MCA = "MicrosoftCustomerAgreement"
TEMPLATE = "117a77b0-9360-443b-8795-c6dedc750cf9"
BASIC = "CFQ7TTC0LH18:0001:CFQ7TTC0K971"
AGREEMENTS = f"/customers/{FABRIKAM}/agreements"
ANNA = {"firstName": "Anna", "lastName": "Weber", "email": "anna@fabrikam.example"}


def _confirmation(**contact: str) -> dict[str, Any]:
    return {
        "primaryContact": contact or ANNA,
        "templateId": TEMPLATE,
        "dateAgreed": "2026-12-01T00:00:00Z",
        "type": MCA,
    }


def _cart_checkout(world: World) -> Any:
    api = world.api("central")
    line = {"catalogItemId": BASIC, "quantity": 1, "billingCycle": "monthly", "termDuration": "P1M"}
    cart = api.post(f"/customers/{FABRIKAM}/carts", {"lineItems": [line]}).json()
    return api.post(f"/customers/{FABRIKAM}/carts/{cart['id']}/checkout")


def _listed(world: World, query: str = f"?agreementType={MCA}") -> list[dict[str, Any]]:
    reply = world.api("central", delegated=True).get(f"{AGREEMENTS}{query}")
    assert reply.status_code == 200, reply.text
    return list(reply.json()["items"])


def test_seeded_customers_have_accepted_and_the_acceptance_is_listed_to_a_user(
    world: World,
) -> None:
    world.accept(FABRIKAM)
    [agreement] = _listed(world)
    assert agreement["type"] == MCA and agreement["templateId"] == TEMPLATE
    assert agreement["primaryContact"]["email"] and agreement["dateAgreed"]
    # Without a type Partner Center lists the older Microsoft Cloud Agreement; "*" lists all.
    assert _listed(world, "") == []
    assert [a["type"] for a in _listed(world, "?agreementType=*")] == [MCA]


@pytest.mark.parametrize(
    "path", [f"{AGREEMENTS}?agreementType={MCA}", f"/agreements?agreementType={MCA}"]
)
def test_reading_agreements_or_their_metadata_needs_app_user(world: World, path: str) -> None:
    world.accept(FABRIKAM)
    refused = world.api("central").get(path)
    assert refused.status_code == 403 and refused.json()["code"] == 900329


def test_the_metadata_gives_the_template_id_a_confirmation_names(world: World) -> None:
    user = world.api("central", delegated=True)
    [meta] = user.get(f"/agreements?agreementType={MCA}").json()["items"]
    assert meta["templateId"] == TEMPLATE and meta["agreementType"] == MCA
    assert meta["agreementLink"] and "versionRank" in meta
    every = user.get("/agreements?agreementType=*").json()["items"]
    assert {m["agreementType"] for m in every} == {MCA, "MicrosoftCloudAgreement"}


def test_without_acceptance_a_purchase_is_403_13605_and_nothing_is_bought(world: World) -> None:
    world.accept(FABRIKAM)
    world.emu.control.set_customer_agreement(FABRIKAM, False)
    api = world.api("central")
    assert _listed(world) == []
    refused = _cart_checkout(world)
    assert refused.status_code == 403 and refused.json()["code"] == 13605
    order = {"lineItems": [{"lineItemNumber": 0, "offerId": BASIC, "quantity": 1}]}
    assert api.post(f"/customers/{FABRIKAM}/orders", order).json()["code"] == 13605
    assert api.get(f"/customers/{FABRIKAM}/subscriptions").json()["items"] == []


def test_confirming_acceptance_needs_app_user_and_the_contact_then_purchases_go_through(
    world: World,
) -> None:
    world.accept(FABRIKAM)
    world.emu.control.set_customer_agreement(FABRIKAM, False)
    app_only = world.api("central").post(AGREEMENTS, _confirmation())
    assert app_only.status_code == 403 and app_only.json()["code"] == 900329
    user = world.api("central", delegated=True)
    incomplete = user.post(AGREEMENTS, _confirmation(firstName="Anna"))
    assert incomplete.status_code == 400
    undated = user.post(AGREEMENTS, {**_confirmation(), "dateAgreed": "last week"})
    assert undated.status_code == 400
    confirmed = user.post(AGREEMENTS, _confirmation())
    assert confirmed.status_code == 201, confirmed.text
    body = confirmed.json()
    assert body["primaryContact"]["lastName"] == "Weber" and body["userId"]
    assert body["dateAgreed"] == "2026-12-01T00:00:00Z" and body["templateId"] == TEMPLATE
    assert [a["primaryContact"]["email"] for a in _listed(world)] == [ANNA["email"]]
    assert _cart_checkout(world).status_code == 201


def test_the_same_contact_twice_is_600061_and_a_changed_contact_is_another_agreement(
    world: World,
) -> None:
    world.accept(FABRIKAM)
    world.emu.control.set_customer_agreement(FABRIKAM, False)
    user = world.api("central", delegated=True)
    assert user.post(AGREEMENTS, _confirmation()).status_code == 201
    again = user.post(AGREEMENTS, _confirmation())
    assert again.status_code == 409 and again.json()["code"] == 600061
    assert "already exists" in again.json()["description"]
    other = user.post(AGREEMENTS, _confirmation(**{**ANNA, "phoneNumber": "+49 30 1234"}))
    assert other.status_code == 201
    assert len(_listed(world)) == 2


def test_with_the_switch_off_purchases_ignore_the_agreement(world: World) -> None:
    world.accept(FABRIKAM)
    world.emu.control.set_customer_agreement(FABRIKAM, False)
    world.emu.control.set_limits(require_customer_agreement=False)
    assert _cart_checkout(world).status_code == 201

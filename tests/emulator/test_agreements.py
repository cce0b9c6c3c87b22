"""The Microsoft Customer Agreement (issue 12 point 5): a customer's confirmed acceptance is
read and posted through ``/customers/{id}/agreements``, and a purchase for a customer who has
not accepted it is 403 13605 (switch ``requireCustomerAgreement``)."""

from __future__ import annotations

from typing import Any

from conftest import FABRIKAM, World

MCA = "MicrosoftCustomerAgreement"
TEMPLATE = "117a77b0-9360-443b-8795-c6dedc750cf9"
BASIC = "CFQ7TTC0LH18:0001:CFQ7TTC0K971"
AGREEMENTS = f"/customers/{FABRIKAM}/agreements"


def _confirmation(**contact: str) -> dict[str, Any]:
    return {
        "primaryContact": contact
        or {"firstName": "Anna", "lastName": "Weber", "email": "anna@fabrikam.example"},
        "templateId": TEMPLATE,
        "dateAgreed": "2026-12-01",
        "type": MCA,
    }


def _cart_checkout(world: World) -> Any:
    api = world.api("central")
    line = {"catalogItemId": BASIC, "quantity": 1, "billingCycle": "monthly", "termDuration": "P1M"}
    cart = api.post(f"/customers/{FABRIKAM}/carts", {"lineItems": [line]}).json()
    return api.post(f"/customers/{FABRIKAM}/carts/{cart['id']}/checkout")


def test_seeded_customers_have_accepted_and_the_acceptance_is_listed(world: World) -> None:
    world.accept(FABRIKAM)
    listed = world.api("central").get(f"{AGREEMENTS}?agreementType={MCA}").json()
    [agreement] = listed["items"]
    assert agreement["type"] == MCA and agreement["templateId"] == TEMPLATE
    assert agreement["primaryContact"]["email"] and agreement["dateAgreed"]


def test_without_acceptance_a_purchase_is_403_13605_and_nothing_is_bought(world: World) -> None:
    world.accept(FABRIKAM)
    world.emu.control.set_customer_agreement(FABRIKAM, False)
    api = world.api("central")
    assert api.get(f"{AGREEMENTS}?agreementType={MCA}").json()["items"] == []
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
    confirmed = user.post(AGREEMENTS, _confirmation())
    assert (
        confirmed.status_code == 201 and confirmed.json()["primaryContact"]["lastName"] == "Weber"
    )
    assert _cart_checkout(world).status_code == 201


def test_with_the_switch_off_purchases_ignore_the_agreement(world: World) -> None:
    world.accept(FABRIKAM)
    world.emu.control.set_customer_agreement(FABRIKAM, False)
    world.emu.control.set_limits(require_customer_agreement=False)
    assert _cart_checkout(world).status_code == 201

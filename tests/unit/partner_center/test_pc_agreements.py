"""The Microsoft Customer Agreement on the client side: Microsoft answers the customer's
agreements, the agreement metadata and the confirmation only to App+User, so they go through
the delegated sign-in; without one the agreement is unknown, said so (never read as either
answer) and nothing is sent. Recording reads the template id first; 600061 ("already exists")
counts as recorded once the agreements list one."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import responses
from pc_fakes import API

from reconciler import errors, model, writes
from reconciler.partner_center import client as pc_client
from reconciler.partner_center import http, reading
from reconciler.partner_center import writer as pc_writer

CUSTOMER = "3f2c6d55-0000-4000-8000-00000000c001"
LIST = f"{API}/v1/customers/{CUSTOMER}/agreements?agreementType=MicrosoftCustomerAgreement"
POST = f"{API}/v1/customers/{CUSTOMER}/agreements"
META = f"{API}/v1/agreements?agreementType=MicrosoftCustomerAgreement"
TEMPLATE = "117a77b0-9360-443b-8795-c6dedc750cf9"
MCA = {"type": "MicrosoftCustomerAgreement", "templateId": TEMPLATE, "dateAgreed": "2025-12-01"}
SPEC = writes.AgreementSpec("Anna", "Weber", "anna.weber@fabrikam.example", "", "2026-11-30")
TENANTS = [model.Tenant("central", "0f6a1b8e-0000-4000-8000-000000000001", "DE", model.Role.TARGET)]


class UserToken:
    def token(self, *, force_refresh: bool = False) -> str:
        return "user-token"


@pytest.fixture
def user_client(
    make_transport: Callable[..., http.Transport],
) -> pc_client.PartnerCenterClient:
    """A client whose App+User transport carries its own token (``user-token``)."""
    return pc_client.PartnerCenterClient(
        make_transport(tenant="central"),
        delegated=make_transport(tenant="central", tokens=UserToken()),
    )


def _view() -> model.CustomerView:
    return model.CustomerView(CUSTOMER, model.ReadStatus.OK, name="Fabrikam")


def _meta(mocked: responses.RequestsMock) -> None:
    item = {"templateId": TEMPLATE, "agreementType": "MicrosoftCustomerAgreement"}
    mocked.get(META, json={"totalCount": 1, "items": [item]})


def test_the_agreements_are_read_as_the_signed_in_user_with_the_type_named(
    mocked: responses.RequestsMock, user_client: pc_client.PartnerCenterClient
) -> None:
    mocked.get(LIST, json={"totalCount": 1, "items": [MCA]})
    view = reading.read_agreement(user_client, _view())
    assert view.agreement is True and view.agreement_reason == ""
    (call,) = mocked.calls
    assert call.request.headers["Authorization"] == "Bearer user-token"
    assert "agreementType=MicrosoftCustomerAgreement" in str(call.request.url)


def test_no_confirmed_agreement_reads_as_not_accepted(
    mocked: responses.RequestsMock, user_client: pc_client.PartnerCenterClient
) -> None:
    mocked.get(LIST, json={"totalCount": 0, "items": []})
    assert reading.read_agreement(user_client, _view()).agreement is False


def test_without_a_signed_in_user_the_agreement_is_unknown_and_nothing_is_sent(
    mocked: responses.RequestsMock, make_client: Callable[..., pc_client.PartnerCenterClient]
) -> None:
    client = make_client()  # app-only: tenant "de" in these fixtures
    view = reading.read_agreement(client, _view())
    assert view.agreement is None
    assert "no user is signed in to tenant 'de'" in view.agreement_reason
    assert "`reconciler login de`" in view.agreement_reason
    assert not mocked.calls
    with pytest.raises(errors.ApiNeedsUser, match="delegated"):
        client.list_agreements(CUSTOMER)
    assert not mocked.calls


def test_an_app_only_refusal_or_a_server_error_is_unknown_with_the_reason(
    mocked: responses.RequestsMock, user_client: pc_client.PartnerCenterClient
) -> None:
    mocked.get(LIST, status=403, json={"code": 900329, "description": "app only"})
    view = reading.read_agreement(user_client, _view())
    assert view.agreement is None and "900329" in view.agreement_reason


def _writer(client: pc_client.PartnerCenterClient) -> pc_writer.ClientWriter:
    return pc_writer.ClientWriter({"central": client}, TENANTS)


def _posts(mocked: responses.RequestsMock) -> list[Any]:
    return [c for c in mocked.calls if c.request.method == "POST"]


def test_recording_reads_the_template_then_posts_as_the_user(
    mocked: responses.RequestsMock, user_client: pc_client.PartnerCenterClient
) -> None:
    _meta(mocked)
    mocked.post(POST, status=201, json={**MCA, "userId": "u1"})
    done = _writer(user_client).record_agreement("central", CUSTOMER, SPEC, request_id="rid-1")
    assert done == writes.AgreementRecorded(TEMPLATE, already=False)
    meta, post = mocked.calls
    assert "agreementType=MicrosoftCustomerAgreement" in str(meta.request.url)
    assert post.request.headers["Authorization"] == "Bearer user-token"
    assert post.request.headers["MS-RequestId"] == "rid-1"


@pytest.mark.parametrize("status", [400, 409])
def test_600061_counts_as_recorded_once_the_agreements_list_one(
    mocked: responses.RequestsMock, user_client: pc_client.PartnerCenterClient, status: int
) -> None:
    _meta(mocked)
    exists = {
        "code": 600061,
        "description": "A partner confirmed agreement already exists for the customer.",
        "errorName": "PartnerConfirmedAgreementAlreadyExists",
        "isRetryable": False,
    }
    mocked.post(POST, status=status, json=exists)
    mocked.get(LIST, json={"items": [MCA]})
    done = _writer(user_client).record_agreement("central", CUSTOMER, SPEC, request_id="rid-1")
    assert done.already and done.template_id == TEMPLATE
    assert len(_posts(mocked)) == 1  # never posted again


def test_600061_without_an_agreement_to_read_back_is_a_refusal(
    mocked: responses.RequestsMock, user_client: pc_client.PartnerCenterClient
) -> None:
    _meta(mocked)
    mocked.post(POST, status=409, json={"code": 600061, "description": "already exists"})
    mocked.get(LIST, json={"items": []})
    with pytest.raises(errors.WriteRejected, match="list no confirmed acceptance"):
        _writer(user_client).record_agreement("central", CUSTOMER, SPEC, request_id="rid-1")


def test_another_refusal_is_a_write_rejected_with_partner_centers_words(
    mocked: responses.RequestsMock, user_client: pc_client.PartnerCenterClient
) -> None:
    _meta(mocked)
    mocked.post(POST, status=400, json={"code": 800002, "description": "bad contact"})
    with pytest.raises(errors.WriteRejected, match="bad contact"):
        _writer(user_client).record_agreement("central", CUSTOMER, SPEC, request_id="rid-1")


def test_without_a_signed_in_user_recording_is_refused_naming_the_login(
    mocked: responses.RequestsMock, make_transport: Callable[..., http.Transport]
) -> None:
    client = pc_client.PartnerCenterClient(make_transport(tenant="central"))
    writer = _writer(client)
    with pytest.raises(errors.WriteRejected, match="`reconciler login central`"):
        writer.record_agreement("central", CUSTOMER, SPEC, request_id="rid-1")
    with pytest.raises(errors.WriteRejected, match="`reconciler login central`"):
        writer.agreement_confirmed("central", CUSTOMER)
    assert not mocked.calls


def test_metadata_without_the_template_is_unreadable_and_nothing_is_posted(
    mocked: responses.RequestsMock, user_client: pc_client.PartnerCenterClient
) -> None:
    mocked.get(META, json={"totalCount": 0, "items": []})
    with pytest.raises(errors.Unreadable, match="no template"):
        _writer(user_client).record_agreement("central", CUSTOMER, SPEC, request_id="rid-1")
    assert _posts(mocked) == []


def test_the_newest_template_version_is_named(
    mocked: responses.RequestsMock, user_client: pc_client.PartnerCenterClient
) -> None:
    items = [
        {"templateId": "old", "agreementType": "MicrosoftCustomerAgreement", "versionRank": 0},
        {"templateId": "new", "agreementType": "MicrosoftCustomerAgreement", "versionRank": 2},
        {"templateId": "mcloud", "agreementType": "MicrosoftCloudAgreement", "versionRank": 9},
    ]
    mocked.get(META, json={"items": items})
    mocked.post(POST, status=201, json={})
    done = _writer(user_client).record_agreement("central", CUSTOMER, SPEC, request_id="rid-1")
    assert done.template_id == "new"

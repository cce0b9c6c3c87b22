"""The export generator: live state in, customer manifests out, checked by the real validator."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from types import MappingProxyType

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reconciler import manifests, model
from reconciler.manifests import exporting, exportyaml

EXAMPLES = Path(__file__).resolve().parents[3] / "manifests"
CONS = manifests.load([EXAMPLES]).consolidation
DE = CONS.sources[0]
FR = CONS.sources[1]
LEGACY_E3 = "796B6B5F-613C-4E24-A17C-EBA730D49C02"
LEGACY_EXCHANGE = "195416C1-3447-423A-B37B-EE59A99A19C4"
BASIC = "CFQ7TTC0LH18:0001:CFQ7TTC0K971"
NCE_UNLISTED = "CFQ7TTC0AAAA:0001:CFQ7TTC0BBBB"
LEGACY_UNLISTED = "11111111-2222-3333-4444-555555555555"


def sub(
    n: int,
    offer: str,
    *,
    qty: int = 5,
    status: str = "active",
    cycle: str = "monthly",
    term: str | None = "P1M",
    name: str = "",
    friendly: str = "",
) -> model.LiveSubscription:
    return model.LiveSubscription(
        id=f"5b1e0a40-0000-4000-8000-{n:012x}",
        offer_id=offer,
        offer_name=name,
        friendly_name=friendly,
        quantity=qty,
        status=model.SubscriptionStatus(status),
        commerce=model.classify_offer(offer),
        billing_cycle=cycle,
        term_duration=term,
        auto_renew=True,
        creation_date=None,
        commitment_end_date=None,
        cancellation_allowed_until=None,
        refundable=(),
        order_id=None,
        etag=None,
    )


def customer(n: int, name: str, *subs: model.LiveSubscription, **kw: str) -> model.CustomerView:
    status = model.ReadStatus(kw.pop("status", "ok"))
    return model.CustomerView(
        tenant_id=f"3f2c6d55-0000-4000-8000-{n:012x}",
        status=status,
        name=name,
        domain=kw.pop("domain", f"c{n}.onmicrosoft.com"),
        subscriptions=subs,
        reason=kw.pop("reason", ""),
    )


def live(de: list[model.CustomerView], fr: list[model.CustomerView] = ()) -> model.LiveState:  # type: ignore[assignment]
    views = {
        t.name: model.TenantView(t, MappingProxyType({c.tenant_id: c for c in cs}))
        for t, cs in ((DE, de), (FR, list(fr)))
    }
    return model.LiveState(read_at=datetime(2024, 1, 1, tzinfo=UTC), tenants=views)


def validate(tmp: Path, files: tuple[exporting.ExportedFile, ...]) -> manifests.Report:
    """The exported files beside the example consolidation and offers, through `validate`."""
    root = tmp / "m"
    shutil.rmtree(root, ignore_errors=True)
    (root / "customers").mkdir(parents=True)
    for name in ("consolidation.yaml", "offers.yaml"):
        shutil.copy(EXAMPLES / name, root / name)
    for f in files:
        (root / f.path).write_text(f.text, encoding="utf-8")
    return manifests.check([root])


def test_legacy_offer_is_named_by_its_successor_and_the_file_validates(tmp_path: Path) -> None:
    proseware = customer(
        7,
        "Proseware Inc",
        sub(6, LEGACY_E3, qty=2, cycle="annual", term="P1Y", name="Office 365 E3",
            friendly="Office 365 E3"),
    )  # fmt: skip
    out = exporting.export(CONS, live([proseware]))
    assert [f.path for f in out.files] == ["customers/proseware-inc.yaml"]
    text = out.files[0].text
    assert text.startswith(exporting.SCHEMA_LINE + "\n")
    assert "  - key: office-365-e3\n    offer: office-365-e3  #" in text
    assert "    quantity: 2\n" in text
    # The successor is bought on its Offers terms, not the legacy subscription's.
    assert "billingCycle" not in text and "termDuration" not in text
    assert "      - subscription: 5b1e0a40-0000-4000-8000-000000000006\n" in text
    report = validate(tmp_path, out.files)
    assert report.problems == ()
    assert report.state is not None
    (cust,) = report.state.customers
    assert (cust.name, cust.domain, cust.source) == ("Proseware Inc", "c7.onmicrosoft.com", "de")
    (entry,) = cust.subscriptions
    assert entry.offer_alias == "office-365-e3" and entry.quantity == 2
    assert [r.subscription_id for r in entry.replaces] == [proseware.subscriptions[0].id]


def test_dead_subscriptions_are_comments_and_azure_becomes_handoffs(tmp_path: Path) -> None:
    c = customer(
        1,
        "Fabrikam GmbH",
        sub(1, LEGACY_E3, status="deleted", name="Office 365 E3"),
        sub(2, LEGACY_EXCHANGE, status="expired", name="Exchange Online (Plan 1)"),
        sub(3, LEGACY_EXCHANGE, status="suspended", qty=4, name="Exchange Online (Plan 1)"),
        sub(4, "MS-AZR-0145P", qty=1, friendly="Fabrikam Production"),
        sub(5, "DZH318Z0BPS6:0001:DZH318Z0BML6", qty=1, friendly="Azure plan"),
    )
    out = exporting.export(CONS, live([c]))
    (f,) = out.files
    assert (f.subscriptions, f.azure, f.left_out) == (1, 2, 2)
    assert "#   5b1e0a40-0000-4000-8000-000000000001 Office 365 E3" in f.text
    assert ": deleted\n" in f.text and ": expired\n" in f.text
    assert "azure:\n  - key: azure-plan" in f.text
    assert "  - key: fabrikam-production" in f.text
    state = validate(tmp_path, out.files).state
    assert state is not None
    (cust,) = state.customers
    assert [e.replaces[0].subscription_id[-1] for e in cust.subscriptions] == ["3"]
    assert sorted(h.source_subscription_id[-1] for h in cust.azure) == ["4", "5"]


def test_a_customer_whose_reads_failed_is_reported_and_never_written() -> None:
    broken = customer(2, "Northwind", status="unknown", reason="HTTP 500 from Partner Center")
    fine = customer(3, "Adatum", sub(9, BASIC, cycle="monthly", term="P1Y"))
    out = exporting.export(CONS, live([broken, fine]))
    assert [f.name for f in out.files] == ["Adatum"]
    (skip,) = out.skipped
    assert skip.failed and skip.name == "Northwind" and "HTTP 500" in skip.reason


def test_declared_customers_are_skipped_unless_overwrite_which_keeps_protect() -> None:
    c = customer(5, "Litware", sub(1, LEGACY_E3, cycle="annual", term="P1Y"))
    have = exporting.Existing(
        declared={c.tenant_id: "manifests/customers/litware.yaml"},
        taken={"litware.yaml"},
        protected={c.tenant_id},
    )
    skipped = exporting.export(CONS, live([c]), existing=have)
    assert skipped.files == ()
    assert "already declared in manifests/customers/litware.yaml" in skipped.skipped[0].reason
    assert not skipped.skipped[0].failed
    again = exporting.export(CONS, live([c]), existing=have, overwrite=True)
    (f,) = again.files
    assert f.path == "manifests/customers/litware.yaml" and f.overwrites
    assert "  protect: true\n" in f.text


def test_keys_and_file_names_are_deduplicated(tmp_path: Path) -> None:
    a = customer(
        4,
        "Tailspin Toys",
        sub(3, LEGACY_EXCHANGE, qty=20, name="Exchange Online (Plan 1)"),
        sub(4, LEGACY_EXCHANGE, qty=10, name="Exchange Online (Plan 1)"),
    )
    b = customer(8, "Tailspin Toys", sub(7, LEGACY_UNLISTED, name="Exchange Online (Plan 1)"))
    have = exporting.Existing(taken={"tailspin-toys.yaml"})
    out = exporting.export(CONS, live([a], [b]), existing=have)
    assert [f.path for f in out.files] == [
        "customers/tailspin-toys-2.yaml",
        "customers/tailspin-toys-3.yaml",
    ]
    first = out.files[0].text
    assert "key: exchange-online-plan-1\n" in first and "key: exchange-online-plan-1-2\n" in first
    # A legacy offer no Offers entry sells or succeeds cannot be bought (validate refuses it):
    # it is left out with the reason instead of written as a purchase.
    assert f"offer: {LEGACY_UNLISTED}" not in out.files[1].text
    assert "a legacy license offer that Microsoft no longer sells" in out.files[1].text
    assert validate(tmp_path, out.files).problems == ()


def test_selection_by_name_or_id_and_unmatched_values() -> None:
    a = customer(1, "Fabrikam GmbH", sub(1, BASIC, term="P1Y"))
    b = customer(2, "Adatum SARL", sub(2, BASIC, term="P1Y"))
    out = exporting.export(
        CONS, live([a], [b]), only=["fabrikam gmbh", b.tenant_id.upper(), "Nobody"]
    )
    assert [f.name for f in out.files] == ["Adatum SARL", "Fabrikam GmbH"]
    assert out.unmatched == ("nobody",)
    only_fr = exporting.export(CONS, live([a], [b]), sources=["fr"])
    assert [f.source for f in only_fr.files] == ["fr"]


def test_customer_in_two_sources_gets_one_file_naming_each_source(tmp_path: Path) -> None:
    in_de = customer(
        1, "Contoso", sub(1, LEGACY_EXCHANGE, qty=15, name="Exchange"), sub(3, "MS-AZR-0145P")
    )
    in_fr = customer(
        1, "Contoso", sub(2, LEGACY_EXCHANGE, qty=10, name="Exchange"), sub(4, "MS-AZR-0145P")
    )
    out = exporting.export(CONS, live([in_de], [in_fr]))
    assert out.skipped == ()
    (f,) = out.files
    assert (f.source, f.sources, f.subscriptions, f.azure) == ("de", ("de", "fr"), 2, 2)
    assert "from partner tenants 'de' and 'fr'" in f.text and "  source: de\n" in f.text
    # What the customer's own source holds names no source; what fr holds names fr.
    assert "- subscription: 5b1e0a40-0000-4000-8000-000000000001\n  - key:" in f.text
    assert "- subscription: 5b1e0a40-0000-4000-8000-000000000002\n        source: fr\n" in f.text
    assert "subscription: 5b1e0a40-0000-4000-8000-000000000004\n    source: fr\n" in f.text
    assert validate(tmp_path, out.files).problems == ()
    (declared,) = manifests.load([tmp_path / "m"]).customers
    assert declared.sources == ("de", "fr")
    held = {r.subscription_id[-1]: declared.source_of(r) for ds in declared.subscriptions
            for r in ds.replaces}  # fmt: skip
    assert held == {"1": "de", "2": "fr"}
    assert {h.source_subscription_id[-1]: declared.source_of(h) for h in declared.azure} == {
        "3": "de",
        "4": "fr",
    }


def test_overwriting_from_one_source_never_drops_another_sources_subscriptions() -> None:
    in_de = customer(1, "Contoso", sub(1, BASIC, term="P1Y"))
    in_fr = customer(1, "Contoso", sub(2, BASIC, term="P1Y"))
    have = exporting.Existing(
        declared={in_de.tenant_id: "customers/contoso.yaml"},
        sources={in_de.tenant_id: ("de", "fr")},
    )
    only_fr = exporting.export(
        CONS, live([in_de], [in_fr]), existing=have, sources=["fr"], overwrite=True
    )
    assert only_fr.files == ()
    (skipped,) = only_fr.skipped
    assert "source tenant(s) de, which this export does not read" in skipped.reason
    both = exporting.export(CONS, live([in_de], [in_fr]), existing=have, overwrite=True)
    (f,) = both.files
    assert f.overwrites and f.sources == ("de", "fr") and f.path == "customers/contoso.yaml"


def test_customer_unreadable_in_one_of_its_sources_is_not_written() -> None:
    in_de = customer(1, "Contoso", sub(1, BASIC, term="P1Y"))
    in_fr = customer(1, "Contoso", status="unknown", reason="HTTP 500")
    out = exporting.export(CONS, live([in_de], [in_fr]))
    assert out.files == ()
    (skipped,) = out.skipped
    assert skipped.failed and "'fr' could not be read (HTTP 500)" in skipped.reason


def test_what_cannot_be_written_validly_is_left_as_a_comment(tmp_path: Path) -> None:
    c = customer(
        1,
        "Odd Ltd",
        sub(1, NCE_UNLISTED, term=None, name="Mystery NCE"),
        sub(2, LEGACY_UNLISTED, cycle="triennial", term="P3Y", name="Old"),
        sub(3, "not-an-offer", name="Weird"),
        sub(4, LEGACY_UNLISTED, qty=0, name="Empty"),
        sub(5, NCE_UNLISTED, cycle="annual", term="P1Y", name="Good NCE"),
    )
    (f,) = exporting.export(CONS, live([c])).files
    assert (f.subscriptions, f.left_out) == (1, 4)
    assert "no term known" in f.text and "triennially" in f.text
    assert "not recognised" in f.text and "quantity 0" in f.text
    assert "billingCycle: annual\n    termDuration: P1Y\n" in f.text
    assert validate(tmp_path, (f,)).problems == ()


def test_identity_that_cannot_validate_is_reported() -> None:
    bad = customer(1, "Bad Domain", domain="not a domain")
    nameless = customer(2, "  ")
    out = exporting.export(CONS, live([bad, nameless]))
    assert out.files == ()
    assert sorted(s.reason.split(" ")[0] for s in out.skipped) == ["Partner", "its"]


@pytest.mark.parametrize(
    "text",
    [
        "A\n",
        "Contoso Ltd\n",
        "0f2c5b7e-1234-4abc-9def-0123456789ab\n",
        "CFQ7TTC0LF8Q:0001:CFQ7TTC0HD0R\n",
    ],
)
def test_a_final_line_break_is_kept(text: str) -> None:
    # Found by the property below: ``$`` in a pattern also matches before a final "\n", so
    # "A\n" was written plain and read back as "A".
    written = exportyaml.scalar(text)
    assert written.startswith('"') and yaml.safe_load(f"v: {written}\n") == {"v": text}


@given(st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=40))
def test_scalars_read_back_exactly(text: str) -> None:
    assert yaml.safe_load(f"v: {exportyaml.scalar(text)}\n") == {"v": text}


# -- properties ----------------------------------------------------------------------------

OFFERS = [
    LEGACY_E3,
    LEGACY_EXCHANGE,
    LEGACY_UNLISTED,
    BASIC,
    NCE_UNLISTED,
    "CFQ7TTC0LF8Q:0001:CFQ7TTC0HD0R",
    "4B244418-9658-4451-A2B8-B5B2B7D1F06E",
    "MS-AZR-0145P",
    "DZH318Z0BPS6:0001:DZH318Z0BML6",
    "junk",
]
names = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=0, max_size=30)
subscriptions = st.builds(
    lambda n, offer, qty, status, cycle, term, name, friendly: sub(
        n, offer, qty=qty, status=status, cycle=cycle, term=term, name=name, friendly=friendly
    ),
    st.integers(0, 2**40),
    st.sampled_from(OFFERS),
    st.integers(-1, 100_001),
    st.sampled_from([s.value for s in model.SubscriptionStatus]),
    st.sampled_from(["monthly", "annual", "triennial", "none", ""]),
    st.sampled_from(["P1M", "P1Y", "P3Y", "p1y", None, "P2W"]),
    names,
    names,
)
customers = st.builds(
    lambda n, name, subs: customer(n, name or "x", *{s.id: s for s in subs}.values()),
    st.integers(0, 2**40),
    names,
    st.lists(subscriptions, max_size=6),
)


def renumber(c: model.CustomerView, ids: Iterator[int]) -> model.CustomerView:
    subs = tuple(
        replace(s, id=f"5b1e0a40-0000-4000-8000-{next(ids):012x}") for s in c.subscriptions
    )
    return replace(c, subscriptions=subs)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(customers, max_size=4),
    st.lists(customers, max_size=3),
    st.lists(st.tuples(customers, customers), max_size=2),
)
def test_export_always_validates_is_deterministic_and_loses_nothing(
    tmp_path_factory: pytest.TempPathFactory, de: list, fr: list, both: list
) -> None:
    # Some customers are held in both sources: the fr view is the same customer.
    for in_de, in_fr in both:
        de.append(in_de)
        fr.append(replace(in_fr, tenant_id=in_de.tenant_id, name=in_de.name, domain=in_de.domain))
    de, fr = ({c.tenant_id: c for c in cs}.values() for cs in (de, fr))
    # Partner Center subscription ids are unique across customers: renumber what was drawn.
    ids = iter(range(10**6))
    de, fr = ([renumber(c, ids) for c in cs] for cs in (de, fr))
    state = live(de, fr)
    out = exporting.export(CONS, state)
    assert out == exporting.export(CONS, state)
    report = validate(tmp_path_factory.mktemp("x"), out.files)
    assert report.problems == (), report.problems
    for f in out.files:
        for tenant in f.sources:
            view = state.view(tenant).customer(f.tenant_id)  # type: ignore[union-attr]
            # Every subscription is an entry or a comment: nothing disappears silently.
            for s in view.subscriptions:
                assert s.id in f.text
    written = {f.tenant_id for f in out.files} | {s.tenant_id for s in out.skipped}
    assert written == {c.tenant_id for c in de} | {c.tenant_id for c in fr}


def _with_target(state: model.LiveState, *views: model.CustomerView) -> model.LiveState:
    target = model.TenantView(CONS.target, MappingProxyType({v.tenant_id: v for v in views}))
    return replace(state, tenants=MappingProxyType({**state.tenants, CONS.target.name: target}))


def test_what_the_target_already_holds_is_adopted_explicitly_and_validates(
    tmp_path: Path,
) -> None:
    nce_e3 = "CFQ7TTC0LF8Q:0001:CFQ7TTC0HD0R"
    source = customer(7, "Proseware Inc", sub(6, LEGACY_E3, qty=25, cycle="annual", term="P1Y"))
    held = replace(
        sub(90, nce_e3, qty=20, term="P1M", friendly="E3 by hand"),
        id="7e1d0000-0000-4000-8000-0000000000e3",
    )
    target = customer(7, "Proseware Inc", held)
    out = exporting.export(CONS, _with_target(live([source]), target))
    text = out.files[0].text
    assert (
        f"    targetSubscription: {held.id}  # already in the target tenant: E3 by hand "
        f"({nce_e3}), 20 seats\n" in text
    )
    report = validate(tmp_path, out.files)
    assert report.problems == ()
    assert report.state is not None
    (entry,) = report.state.customers[0].subscriptions
    assert entry.target_subscription_id == held.id


def test_a_product_held_twice_in_the_target_is_not_guessed() -> None:
    source = customer(7, "Proseware Inc", sub(6, LEGACY_E3, qty=25, cycle="annual", term="P1Y"))
    twice = customer(7, "Proseware Inc", sub(90, LEGACY_E3, qty=20), sub(91, LEGACY_E3, qty=5))
    out = exporting.export(CONS, _with_target(live([source]), twice))
    assert "targetSubscription" not in out.files[0].text


def test_an_offer_held_under_a_reissued_availability_is_exported_by_its_offers_name(
    tmp_path: Path,
) -> None:
    # Microsoft reissues availability ids: the live subscription's catalog item id differs from
    # the Offers entry's in its last part only, and is still that entry's product.
    reissued = BASIC.rsplit(":", 1)[0] + ":CFQ7TTC00001"
    out = exporting.export(CONS, live([customer(2, "Northwind", sub(9, reissued, term="P1Y"))]))
    [file] = out.files
    assert "    offer: m365-business-basic  # source: " in file.text
    assert validate(tmp_path, out.files).problems == ()

"""`reconciler validate` on good manifests and on the cross-file rules."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from reconciler import manifests, model
from reconciler.errors import ManifestError

EXAMPLES = Path(__file__).resolve().parents[3] / "manifests"


@pytest.fixture
def tree(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the example manifests in a temporary working directory."""
    shutil.copytree(EXAMPLES, tmp_path / "manifests")
    monkeypatch.chdir(tmp_path)
    return tmp_path / "manifests"


def test_example_manifests_are_valid_and_summarised(run_cli, monkeypatch) -> None:
    monkeypatch.chdir(EXAMPLES.parent)
    result = run_cli("validate")
    assert result.code == 0, result.output
    assert result.out.strip() == (
        "Valid: 9 files; consolidation 'contoso-emea' (de, fr -> central); 7 customers, "
        "12 target subscriptions replacing 13 source subscriptions, 3 Azure hand-offs."
    )


def test_example_manifests_build_the_desired_state() -> None:
    state = manifests.load([EXAMPLES])
    assert state.consolidation.target.name == "central"
    assert [s.name for s in state.consolidation.sources] == ["de", "fr"]
    fabrikam = state.customer("3F2C6D55-0000-4000-8000-00000000C001")
    assert fabrikam is not None
    office = fabrikam.subscriptions[0]
    # The offer name resolves to the new-commerce successor, with the offer's defaults.
    assert office.offer_id == "CFQ7TTC0LF8Q:0001:CFQ7TTC0HD0R"
    assert office.commerce is model.CommerceModel.NCE_LICENSE
    assert (office.billing_cycle, office.term_duration) == ("annual", "P1Y")
    assert office.replaces[0].becomes is model.SourceStrategy.SUSPENDED
    assert fabrikam.azure[0].source_subscription_id == "5b1e0a40-0000-4000-8000-00000000d0a1"
    assert state.digest.startswith("sha256:")


def test_move_by_defaults_to_transfer_first_and_an_old_nce_policy_is_noted(
    tree: Path, run_cli
) -> None:
    state = manifests.load([tree])
    assert state.consolidation.policy.move_by is model.MoveBy.TRANSFER_FIRST
    assert state.consolidation.policy.nce_strategy_without_move_by == ""
    path = tree / "consolidation.yaml"
    text = path.read_text()
    path.write_text(text.replace("  moveBy: transfer-first\n", ""))
    policy = manifests.load([tree]).consolidation.policy
    assert policy.move_by is model.MoveBy.TRANSFER_FIRST
    line = next(i for i, ln in enumerate(path.read_text().splitlines(), 1) if "nceSource" in ln)
    assert policy.nce_strategy_without_move_by == f"manifests/consolidation.yaml:{line}"
    noted = run_cli("validate")
    assert noted.code == 0
    assert f"Note: manifests/consolidation.yaml:{line}: nceSourceStrategy without moveBy" in (
        noted.out
    )
    path.write_text(text.replace("moveBy: transfer-first", "moveBy: re-provision"))
    assert manifests.load([tree]).consolidation.policy.move_by is model.MoveBy.REPROVISION
    path.write_text(text.replace("moveBy: transfer-first", "moveBy: transfer"))
    refused = run_cli("validate")
    assert refused.code == 1 and "moveBy" in refused.out


def test_a_customer_held_in_two_sources_names_each_subscriptions_source() -> None:
    state = manifests.load([EXAMPLES])
    alpine = state.customer("3f2c6d55-0000-4000-8000-00000000c008")
    assert alpine is not None and alpine.source == "de"
    assert alpine.sources == ("de", "fr")
    exchange = alpine.subscriptions[0]
    assert [(r.subscription_id[-4:], alpine.source_of(r)) for r in exchange.replaces] == [
        ("d007", "de"),
        ("f006", "fr"),
    ]


@pytest.mark.parametrize(
    ("old", "new", "where"),
    [
        ("        source: fr\n", "        source: it\n", "$.subscriptions[0].replaces[1].source"),
        (
            "        source: fr\n",
            "        source: central\n",
            "$.subscriptions[0].replaces[1].source",
        ),
    ],
)
def test_a_subscriptions_source_must_be_a_declared_source(
    tree: Path, run_cli, old: str, new: str, where: str
) -> None:
    path = tree / "customers" / "alpineskihouse.yaml"
    path.write_text(path.read_text().replace(old, new, 1))
    result = run_cli("validate")
    assert result.code == 1
    [line] = [ln for ln in result.out.splitlines() if "is not declared in the Consolidation" in ln]
    # file:line:col of the offending `source:`, its JSON path, and the declared names.
    assert line.startswith("manifests/customers/alpineskihouse.yaml:20:17: " + where)
    assert "(declared: de, fr)" in line


def test_an_azure_hand_offs_source_must_be_a_declared_source(tree: Path, run_cli) -> None:
    path = tree / "customers" / "fabrikam.yaml"
    text = path.read_text()
    path.write_text(text.replace("00000000d0a1\n", "00000000d0a1\n    source: ch\n"))
    result = run_cli("validate")
    assert result.code == 1
    [line] = [ln for ln in result.out.splitlines() if "is not declared in the Consolidation" in ln]
    assert line.startswith("manifests/customers/fabrikam.yaml:")
    assert "$.azure[0].source" in line and "source tenant 'ch'" in line


def test_same_customer_in_two_files_names_both_locations(tree: Path, run_cli) -> None:
    text = (tree / "customers" / "fabrikam.yaml").read_text()
    twin = text.replace("key: office-e3", "key: e3").replace("00000000d001", "00000000d901")
    twin = twin.replace("00000000d002", "00000000d902").replace("00000000d0a1", "00000000d9a1")
    (tree / "customers" / "fabrikam-copy.yaml").write_text(twin)
    result = run_cli("validate")
    assert result.code == 1
    line = next(ln for ln in result.out.splitlines() if "already declared" in ln)
    assert line.startswith("manifests/customers/fabrikam.yaml:")
    assert "manifests/customers/fabrikam-copy.yaml:" in line
    assert "$.customer.tenantId" in line


def test_duplicate_key_reports_both_locations(tree: Path, run_cli) -> None:
    path = tree / "customers" / "adatum.yaml"
    path.write_text(
        path.read_text().replace("    quantity: 60\n", "    quantity: 60\n    quantity: 6\n")
    )
    result = run_cli("validate")
    assert result.code == 1
    line = next(ln for ln in result.out.splitlines() if "duplicate key" in ln)
    assert line.startswith("manifests/customers/adatum.yaml:13:5: $.subscriptions[0].quantity:")
    assert "first defined at line 12" in line


@pytest.mark.parametrize(
    ("file", "old", "new", "fragment"),
    [
        ("customers/adatum.yaml", "source: fr", "source: it", "source tenant 'it' is not declared"),
        (
            "customers/adatum.yaml",
            "key: business-standard",
            "key: exchange",
            "key 'exchange' is already used",
        ),
        ("customers/adatum.yaml", "00000000f002", "00000000f001", "is already paired"),
        (
            "customers/adatum.yaml",
            "offer: m365-business-standard",
            "offer: m365-busines-standard",
            "unknown offer 'm365-busines-standard'",
        ),
        (
            "customers/adatum.yaml",
            "offer: m365-business-standard",
            "offer: MS-AZR-0145P",
            "is an Azure offer",
        ),
        (
            "customers/adatum.yaml",
            "quantity: 12",
            "quantity: 12\n    friendlyname: x",
            "unknown field 'friendlyname'; did you mean 'friendlyName'?",
        ),
        (
            "customers/adatum.yaml",
            "quantity: 12",
            "quantity: 0",
            "quantity must be at least 1, not 0",
        ),
        (
            "customers/adatum.yaml",
            "quantity: 12",
            "quantity: 12\n    termDuration: P1M\n    billingCycle: triennial",
            "term P1M cannot be billed triennial",
        ),
        ("consolidation.yaml", "name: fr", "name: de", "name 'de' is already used"),
        (
            "offers.yaml",
            "offerId: CFQ7TTC0LH18:0001:CFQ7TTC0K971",
            "offerId: CFQ7TTC0LH18-0001",
            "is not an offer id",
        ),
        ("customers/litware.yaml", "protect: true", "protect: yes", "must be true or false"),
    ],
)
def test_semantic_and_schema_errors_read_the_same_way(
    tree: Path, run_cli, file: str, old: str, new: str, fragment: str
) -> None:
    path = tree / file
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))
    result = run_cli("validate")
    assert result.code == 1
    hits = [ln for ln in result.out.splitlines() if fragment in ln]
    assert hits, result.out
    assert hits[0].startswith(f"manifests/{file}:")


def test_all_problems_in_all_files_in_one_run(tree: Path, run_cli) -> None:
    for name in ("adatum.yaml", "tailspin.yaml"):
        path = tree / "customers" / name
        path.write_text(path.read_text().replace("source: fr", "source: it"))
    (tree / "customers" / "broken.yaml").write_text("apiVersion: reconciler/v1\nkind: Custmer\n")
    result = run_cli("validate")
    assert result.code == 1
    files = {ln.split(":", 1)[0] for ln in result.out.splitlines() if ": $" in ln}
    assert files == {
        "manifests/customers/adatum.yaml",
        "manifests/customers/tailspin.yaml",
        "manifests/customers/broken.yaml",
    }
    assert result.out.splitlines()[-1].startswith("3 problems in 3 files")


def test_customer_files_alone_lack_the_consolidation(tree: Path, run_cli) -> None:
    result = run_cli("validate", "manifests/customers")
    assert result.code == 1
    assert "no Consolidation manifest" in result.out


def test_json_output_lists_problems_for_tools(tree: Path, run_cli) -> None:
    path = tree / "customers" / "adatum.yaml"
    path.write_text(path.read_text().replace("quantity: 60", "quantity: -1"))
    result = run_cli("validate", "--format", "json")
    assert result.code == 1
    doc = json.loads(result.out)
    assert doc["valid"] is False
    assert doc["problems"][0]["path"] == "$.subscriptions[0].quantity"
    assert doc["problems"][0]["line"] == 12


def test_load_raises_with_every_problem(tree: Path) -> None:
    path = tree / "customers" / "adatum.yaml"
    path.write_text(path.read_text().replace("quantity: 60", "quantity: 0"))
    with pytest.raises(ManifestError) as caught:
        manifests.load([tree])
    assert len(caught.value.problems) == 1
    assert "adatum.yaml:12:15" in str(caught.value)


def test_digest_ignores_comments_but_not_content(tree: Path) -> None:
    before = manifests.load([tree]).digest
    path = tree / "customers" / "adatum.yaml"
    path.write_text("# a new comment\n" + path.read_text())
    assert manifests.load([tree]).digest == before
    path.write_text(path.read_text().replace("quantity: 60", "quantity: 61"))
    assert manifests.load([tree]).digest != before


def test_every_example_manifest_declares_its_schema_for_editors() -> None:
    for path in EXAMPLES.rglob("*.yaml"):
        first = path.read_text().splitlines()[0]
        assert first.startswith("# yaml-language-server: $schema="), path
        target = (path.parent / first.split("=", 1)[1]).resolve()
        assert target.is_file(), target


def test_every_schema_property_has_a_description() -> None:
    from reconciler.manifests import validation

    def walk(node: object, where: str) -> list[str]:
        missing = []
        if isinstance(node, dict):
            for name, sub in (node.get("properties") or {}).items():
                if "description" not in sub and "$ref" not in sub:
                    missing.append(f"{where}.{name}")
            for key, sub in node.items():
                missing += walk(sub, f"{where}/{key}")
        return missing

    for kind in validation.KINDS:
        assert walk(validation.schema(kind), kind) == []


def test_one_target_subscription_adopted_twice_names_both_entries(tree: Path, run_cli) -> None:
    path = tree / "customers" / "tailspin.yaml"
    pin = "    targetSubscription: 7a7a0000-0000-4000-8000-000000000001\n"
    text = path.read_text().replace("    quantity: 30\n", "    quantity: 30\n" + pin)
    path.write_text(text.replace("    quantity: 8\n", "    quantity: 8\n" + pin))
    result = run_cli("validate")
    assert result.code == 1
    [line] = [ln for ln in result.out.splitlines() if "already adopted" in ln]
    assert line.startswith("manifests/customers/tailspin.yaml:")
    assert "$.subscriptions[1].targetSubscription" in line
    assert "already adopted at manifests/customers/tailspin.yaml:16:25" in line


def test_a_windows_path_is_shown_with_forward_slashes() -> None:
    """Messages and the origins quoted in a plan read the same on Windows as on Linux."""
    from pathlib import PureWindowsPath

    from reconciler.manifests import loading

    repo = PureWindowsPath("C:/work/repo")
    inside = PureWindowsPath(r"C:\work\repo\manifests\customers\fabrikam.yaml")
    assert loading.display_name(inside, cwd=repo) == "manifests/customers/fabrikam.yaml"
    relative = PureWindowsPath(r"manifests\customers\fabrikam.yaml")
    assert loading.display_name(relative) == "manifests/customers/fabrikam.yaml"
    outside = PureWindowsPath(r"D:\elsewhere\a.yaml")
    assert loading.display_name(outside, cwd=repo) == r"D:\elsewhere\a.yaml"


def test_adopt_never_reaches_the_desired_state_and_other_values_are_refused(
    tree: Path, run_cli
) -> None:
    path = tree / "customers" / "tailspin.yaml"
    text = path.read_text()
    path.write_text(text.replace("    quantity: 30\n", "    quantity: 30\n    adopt: never\n"))
    state = manifests.load([tree])
    tailspin = next(c for c in state.customers if c.name.startswith("Tailspin"))
    assert [s.adopt_existing for s in tailspin.subscriptions] == [False, True]
    path.write_text(text.replace("    quantity: 30\n", "    quantity: 30\n    adopt: maybe\n"))
    result = run_cli("validate")
    assert result.code == 1
    [line] = [ln for ln in result.out.splitlines() if ".adopt" in ln]
    assert line.startswith("manifests/customers/tailspin.yaml:")
    assert "$.subscriptions[0].adopt" in line


def test_a_schema_error_does_not_hide_an_unknown_offer_in_the_same_file(
    tree: Path, run_cli
) -> None:
    path = tree / "customers" / "tailspin.yaml"
    text = path.read_text().replace("    quantity: 30\n", "    quantity: 0\n", 1)
    path.write_text(text.replace("offer: exchange-online-plan-1", "offer: exchange-plan-one", 1))
    result = run_cli("validate")
    assert result.code == 1
    lines = [ln for ln in result.out.splitlines() if ln.startswith("manifests/customers/tail")]
    assert any("$.subscriptions[0].quantity" in ln for ln in lines), result.out
    assert any(
        "$.subscriptions[" in ln and "unknown offer 'exchange-plan-one'" in ln for ln in lines
    ), result.out


# -- legacy license offers are not bought (issue 12 point 3) -------------------------------

LEGACY_VISIO = "4B244418-9658-4451-A2B8-B5B2B7D1F06E"
LEGACY_OFFER_LINE = "manifests/customers/fabrikam.yaml:21:12: $.subscriptions[1].offer:"


def test_buying_a_legacy_offer_by_id_names_its_successor(tree: Path, run_cli) -> None:
    path = tree / "customers" / "fabrikam.yaml"
    path.write_text(path.read_text().replace("offer: visio-plan-2", f"offer: {LEGACY_VISIO}"))
    result = run_cli("validate")
    assert result.code == 1
    [line] = [ln for ln in result.out.splitlines() if "legacy license offer" in ln]
    assert line.startswith(LEGACY_OFFER_LINE), line
    assert "no longer sells" in line and "2091" in line
    assert "buy visio-plan-2 (Visio Plan 2, CFQ7TTC0HD32:0002:CFQ7TTC0J1FV) instead" in line
    assert "which replaces it" in line


def test_buying_a_legacy_offer_by_alias_without_successor_asks_for_the_new_product(
    tree: Path, run_cli
) -> None:
    offers = tree / "offers.yaml"
    text = offers.read_text().replace(f"    replaces: [{LEGACY_VISIO}]\n", "")
    offers.write_text(
        text + "  visio-legacy:\n    name: Visio Online Plan 2\n"
        f"    offerId: {LEGACY_VISIO}\n    billingCycle: monthly\n"
    )
    path = tree / "customers" / "fabrikam.yaml"
    path.write_text(path.read_text().replace("offer: visio-plan-2", "offer: visio-legacy"))
    result = run_cli("validate")
    assert result.code == 1
    [line] = [ln for ln in result.out.splitlines() if "legacy license offer" in ln]
    assert line.startswith(LEGACY_OFFER_LINE), line
    assert (
        f"'visio-legacy' is the legacy license offer {LEGACY_VISIO} (Visio Online Plan 2)" in line
    )
    assert "only as new commerce since 1 September 2024" in line
    assert "`replaces`" in line and "instead" not in line


def test_a_legacy_offer_stays_valid_in_replaces_and_when_adopting_a_held_one(
    tree: Path, run_cli
) -> None:
    # offers.yaml names the legacy Visio in `replaces` (valid: it is what is moved away from);
    # an entry pinned to a legacy subscription the target already holds buys nothing.
    path = tree / "customers" / "fabrikam.yaml"
    pin = "    targetSubscription: 7a7a0000-0000-4000-8000-000000000002\n"
    text = path.read_text().replace("offer: visio-plan-2\n", f"offer: {LEGACY_VISIO}\n{pin}")
    path.write_text(text)
    result = run_cli("validate")
    assert result.code == 0, result.output
    state = manifests.load([tree])
    fabrikam = state.customer("3f2c6d55-0000-4000-8000-00000000c001")
    assert fabrikam is not None
    visio = fabrikam.subscriptions[1]
    assert visio.commerce is model.CommerceModel.LEGACY_LICENSE
    assert visio.target_subscription_id == "7a7a0000-0000-4000-8000-000000000002"


def test_product_and_sku_alone_are_a_new_commerce_offer(tree: Path, run_cli) -> None:
    offers = tree / "offers.yaml"
    offers.write_text(
        offers.read_text().replace(
            "offerId: CFQ7TTC0LH18:0001:CFQ7TTC0K971", "offerId: CFQ7TTC0LH18:0001"
        )
    )
    assert run_cli("validate").code == 0
    state = manifests.load([tree])
    basic = state.consolidation.offers["m365-business-basic"]
    assert (basic.offer_id, basic.commerce) == (
        "CFQ7TTC0LH18:0001",
        model.CommerceModel.NCE_LICENSE,
    )

"""World seeds: the demo world matches the example manifests; relative dates; bad seeds are
refused with a message; generated worlds load and come with matching manifests."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import yaml
from conftest import World

from reconciler.emulator import worldgen
from reconciler.emulator.clock import parse_moment
from reconciler.emulator.seeds import load_world, read_seed
from reconciler.emulator.server import Emulator

ROOT = Path(__file__).resolve().parents[2]
MANIFESTS = ROOT / "manifests"


def _manifest_docs() -> list[dict[str, object]]:
    return [yaml.safe_load(p.read_text()) for p in sorted((MANIFESTS / "customers").glob("*.yaml"))]


def test_demo_world_has_every_manifest_customer_with_its_source_subscriptions(
    world: World,
) -> None:
    snap = world.emu.control.snapshot()
    partners = {p["name"]: p for p in snap["partners"]}
    consolidation = yaml.safe_load((MANIFESTS / "consolidation.yaml").read_text())
    for tenant in [consolidation["target"], *consolidation["sources"]]:
        assert partners[tenant["name"]]["tenantId"] == tenant["tenantId"]
        assert partners[tenant["name"]]["country"] == tenant["country"]
    customers = {c["tenantId"]: c for c in snap["customers"]}
    subs = {s["id"]: s for s in snap["subscriptions"]}
    for doc in _manifest_docs():
        c = doc["customer"]  # type: ignore[index]
        found = customers[c["tenantId"]]
        assert (found["companyName"], found["domain"]) == (c["name"], c["domain"])
        held_in = {c["source"]}
        for entry in doc.get("subscriptions", []):  # type: ignore[attr-defined]
            for rep in entry.get("replaces", []):
                sub = subs[rep["subscription"]]
                # Each in the source tenant it names (by default the customer's).
                source = rep.get("source", c["source"])
                assert sub["partner"] == source and sub["status"] == "active"
                held_in.add(source)
        for azure in doc.get("azure", []):  # type: ignore[attr-defined]
            assert subs[azure["subscription"]]["kind"] in ("azure_legacy", "azure_plan")
            held_in.add(azure.get("source", c["source"]))
        assert sorted(found["relationships"]) == sorted(held_in)
        assert found["invitations"] == ["central"]


def test_demo_world_quantities_and_nce_dates(world: World) -> None:
    subs = {s["id"][-4:]: s for s in world.emu.control.snapshot()["subscriptions"]}
    assert {k: subs[k]["quantity"] for k in ("d001", "d002", "d003", "d004", "f001", "f005")} == {
        "d001": 25,
        "d002": 3,
        "d003": 40,
        "d004": 18,
        "f001": 60,
        "f005": 120,
    }
    now = world.emu.control.now()
    created = dt.datetime.fromisoformat(subs["d003"]["creationDate"].replace("Z", "+00:00"))
    assert 199 <= (now - created).days <= 200 and subs["d003"]["autoRenewEnabled"] is True
    assert subs["d0a2"]["kind"] == "azure_plan" and subs["d0a1"]["kind"] == "azure_legacy"
    assert subs["d006"]["partner"] == "de"  # Proseware: not in the manifests


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("now", dt.timedelta()),
        ("-200d", dt.timedelta(days=-200)),
        ("+3h", dt.timedelta(hours=3)),
        ("-90m", dt.timedelta(minutes=-90)),
    ],
)
def test_relative_moments(text: str, expected: dt.timedelta) -> None:
    now = dt.datetime(2026, 3, 1, 9, tzinfo=dt.UTC)
    assert parse_moment(text, now=now) - now == expected
    assert parse_moment("2024-03-01T00:00:00Z", now=now).year == 2024


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d.update(format="other/9"), "unsupported world format"),
        (lambda d: d["customers"][0]["subscriptions"][0].update(partner="xx"), "unknown partner"),
        (lambda d: d["customers"][0]["subscriptions"][0].update(offerId="NOPE"), "not in catalog"),
    ],
)
def test_bad_seeds_are_refused_with_a_reason(mutate: object, message: str) -> None:
    doc = read_seed(ROOT / "reconciler" / "emulator" / "worlds" / "demo.yaml")
    mutate(doc)  # type: ignore[operator]
    with pytest.raises(ValueError, match=message):
        load_world(doc, now=dt.datetime.now(dt.UTC), github_issuer="x")


def test_generated_worlds_load_and_their_manifests_match(tmp_path: Path) -> None:
    doc = worldgen.generate(40, 5, seed=3, in_target_every=4)
    assert worldgen.manifests(doc, tmp_path) == 40
    with Emulator.start(doc, state_dir=tmp_path / "state") as emu:
        snap = emu.control.snapshot()
    assert len(snap["subscriptions"]) == 200
    ids = {s["id"] for s in snap["subscriptions"]}
    referenced = set()
    for path in (tmp_path / "customers").glob("*.yaml"):
        manifest = yaml.safe_load(path.read_text())
        for entry in manifest["subscriptions"]:
            referenced |= {r["subscription"] for r in entry["replaces"]}
        referenced |= {a["subscription"] for a in manifest.get("azure", [])}
    assert referenced == ids
    central = [c for c in snap["customers"] if "central" in c["relationships"]]
    assert len(central) == 10
    assert (
        yaml.safe_load((tmp_path / "consolidation.yaml").read_text())["target"]["name"] == "central"
    )
    assert worldgen.generate(40, 5, seed=3) == worldgen.generate(40, 5, seed=3)


def test_the_world_can_be_replaced_snapshotted_and_saved_over_https(world: World) -> None:
    seed = worldgen.generate(3, 2, seed=9)
    world.control("POST", "/reset", {"world": seed})
    snap = world.control("GET", "/snapshot")
    assert [c["companyName"] for c in snap["customers"]] == [
        "Generated Customer 00000",
        "Generated Customer 00001",
        "Generated Customer 00002",
    ]
    settings = world.session.put(
        f"{world.conn['controlRoot']}/settings", json={"pageSize": 1}
    ).json()
    assert settings["pageSize"] == 1
    assert len(world.api("de").get("/customers").json()["items"]) == 1
    saved = Path(world.control("POST", "/save")["path"])
    assert saved.exists() and "Generated Customer 00002" in saved.read_text()
    world.control("POST", "/reset")
    assert len(world.control("GET", "/snapshot")["customers"]) == 8


def test_a_prepared_world_object_can_be_served_and_reset(tmp_path: Path) -> None:
    doc = worldgen.generate(2, 1, seed=5)
    prepared = load_world(doc, now=dt.datetime.now(dt.UTC), github_issuer="unused")
    prepared.customers[next(iter(prepared.customers))].company_name = "Prepared Ltd"
    with Emulator.start(prepared, state_dir=tmp_path) as emu:
        emu.control.accept_invitation(next(iter(prepared.customers)), "central")
        emu.control.reset()
        snap = emu.control.snapshot()
    assert snap["customers"][0]["companyName"] == "Prepared Ltd"
    assert snap["customers"][0]["relationships"] == ["de"]

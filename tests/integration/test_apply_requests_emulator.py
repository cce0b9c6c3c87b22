"""Apply sends the requests its safety needs and no more, counted from the emulator's own list
of the requests it served (real client, HTTPS): each subscription PATCH (a suspension, a
resize) follows exactly one read of that subscription since the customer's previous write in
that tenant, the one its re-check judged; and a subscription someone changed between plan and
apply is still judged on what it is now."""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest
import yaml

from reconciler import manifests
from reconciler.applying import steps
from reconciler.emulator import worldgen
from reconciler.emulator.server import Emulator
from reconciler.operations import apply, live
from reconciler.partner_center import config, connect
from reconciler.planning import actions

CUSTOMERS = 2
_SUB_PATH = re.compile(r"^/v1/customers/([^/]+)/subscriptions(?:/([^/]+))?$")


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sign_in_user) -> Iterator[Any]:  # type: ignore[no-untyped-def]
    doc = worldgen.generate(CUSTOMERS, 2, seed=4, in_target_every=1)
    mdir = tmp_path / "manifests"
    worldgen.manifests(doc, mdir)
    monkeypatch.setenv("RECONCILER_CREDENTIALS_FILE", str(tmp_path / "none.toml"))
    monkeypatch.setenv("RECONCILER_TOKEN_CACHE_DIR", str(tmp_path / "tokens"))
    emu = Emulator.start(world=doc, state_dir=tmp_path / "emu", rate_limit_per_minute=0)
    sign_in_user(emu)  # agreements are read App+User
    yield emu, mdir
    emu.stop()


class Run:
    """One apply through the operations layer, with the emulator's request sequence numbers
    where its writes began and ended (the read before them and the verification after them
    are outside)."""

    def __init__(
        self,
        emu: Emulator,
        mdir: Path,
        state: Path,
        approve: Callable[[actions.Plan], None] = lambda plan: None,
    ) -> None:
        marks: dict[str, int] = {}

        def mark(name: str) -> None:
            marks.setdefault(name, emu.control.requests()[-1]["seq"])

        request = apply.ApplyRequest(
            paths=[mdir],
            access=live.Access(dict(os.environ), connection=emu.connection_file),
            state_dir=state,
            parallelism=CUSTOMERS,
        )
        hooks = apply.Hooks(
            approve=approve,
            started=lambda *ids: mark("writes"),
            written=lambda: mark("verify"),
        )
        self.result = apply.apply(request, live.Unobserved(), hooks)
        self.writes = [
            r
            for r in emu.control.requests()
            if marks.get("writes", 0) < r["seq"] <= marks.get("verify", 0)
        ]


def _reads_before_each_patch(writes: list[dict[str, Any]]) -> dict[str, int]:
    """For each PATCHed subscription (path), the reads of it (a GET of it or of its
    customer's list) by the same partner since that partner's previous write to the
    customer, or since the writes began."""
    found: dict[str, int] = {}
    reads: dict[tuple[str, str, str], int] = {}  # (partner, customer, path or "") -> count
    for r in writes:
        who = r["partnerTenantId"]
        m = _SUB_PATH.match(r["path"])
        customer = r["path"].split("/")[3].lower() if r["path"].startswith("/v1/customers/") else ""
        if r["method"] == "GET":
            if m and not r["query"]:
                key = (who, customer, r["path"].lower() if m.group(2) else "")
                reads[key] = reads.get(key, 0) + 1
            continue
        if r["method"] == "PATCH" and m and m.group(2):
            path = r["path"].lower()
            found[path] = reads.get((who, customer, path), 0) + reads.get((who, customer, ""), 0)
        for key in [k for k in reads if k[0] == who and k[1] == customer]:
            del reads[key]  # a write to the customer there: what was read before is old
    return found


def test_each_source_write_and_resize_reads_its_subscription_once(
    world: Any, tmp_path: Path
) -> None:
    emu, mdir = world
    first = Run(emu, mdir, tmp_path / "state")
    assert first.result.report is not None and first.result.report.clean
    # Every source subscription was stopped (suspended or cancelled) once its target was
    # active, each after exactly one read of it, and nothing else was read in the sources.
    patches = [r for r in first.writes if r["method"] == "PATCH"]
    assert len(patches) == CUSTOMERS * 2, [r["path"] for r in patches]
    reads = _reads_before_each_patch(first.writes)
    assert len(reads) == len(patches) and set(reads.values()) == {1}, reads
    sources = {r["partnerTenantId"] for r in patches}
    source_gets = [
        r for r in first.writes if r["method"] == "GET" and r["partnerTenantId"] in sources
    ]
    assert len(source_gets) == len(patches), [r["path"] for r in source_gets]

    # One more seat on every entry of one customer: the next apply resizes its target
    # subscriptions, each after one read of it.
    assert _grow_seats(mdir / "customers" / "gen00000.yaml") == 2
    second = Run(emu, mdir, tmp_path / "state")
    report = second.result.report
    assert report is not None and report.clean, [s.message for s in report.steps] if report else ""
    resized = [s for s in report.steps if s.change.action is actions.Action.RESIZE]
    assert len(resized) == 2, [(s.change.action, s.message) for s in report.steps]
    reads = _reads_before_each_patch(second.writes)
    assert len(reads) == 2 and set(reads.values()) == {1}, reads


def test_a_source_changed_between_plan_and_apply_is_judged_as_it_is_now(
    world: Any, tmp_path: Path
) -> None:
    """Someone adds seats to a source after the plan was made: the re-check before its
    suspension (or cancellation) reads more seats than its new target has, and leaves the
    source alone; the other sources go ahead."""
    emu, mdir = world
    changed: dict[str, Any] = {}

    def by_hand(plan: actions.Plan) -> None:
        stop = next(c for c in plan.changes if c.action in _STOPS)
        a = stop.address
        more = int(str((stop.before or {}).get("quantity"))) + 5
        _client(emu, mdir, a.tenant).update_subscription(
            a.customer_id, a.subscription_id or "", {"quantity": more}, request_id=str(uuid4())
        )
        changed.update(sid=a.subscription_id, quantity=more)

    report = Run(emu, mdir, tmp_path / "state", approve=by_hand).result.report
    assert report is not None
    step = next(s for s in report.steps if s.change.address.subscription_id == changed["sid"])
    assert step.outcome is steps.Outcome.SKIPPED, step.message
    assert "stays untouched" in step.message and "seats, fewer than" in step.message
    subs = {s["id"].lower(): s for s in emu.control.snapshot()["subscriptions"]}
    assert subs[changed["sid"].lower()]["status"] == "active"
    assert subs[changed["sid"].lower()]["quantity"] == changed["quantity"]
    others = [s for s in report.steps if s is not step and s.change.action in _STOPS]
    assert others and all(s.outcome is steps.Outcome.SUCCEEDED for s in others)


_STOPS = (actions.Action.SUSPEND, actions.Action.CANCEL)


def _grow_seats(path: Path) -> int:
    """One more seat on every entry of a customer manifest; how many entries grew."""
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    for entry in doc["subscriptions"]:
        entry["quantity"] += 1
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return len(doc["subscriptions"])


def _client(emu: Emulator, mdir: Path, tenant: str) -> Any:
    """A client of ``tenant`` as the partner's staff would use it in Partner Center."""
    cons = manifests.load([mdir]).consolidation
    conn = config.resolve(cons.tenants, connection_path=emu.connection_file)
    return connect.build_clients(cons.tenants, conn)[tenant]

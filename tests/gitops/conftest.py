"""GitOps tests: a local fake of GitHub's REST API and plans of every size, without network."""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "unit" / "planning"))

import demo_world as w
from fake_github import TOKEN, FakeGitHub

from reconciler.planning import actions, planner


@pytest.fixture
def github(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeGitHub]:
    with FakeGitHub() as fake:
        monkeypatch.setenv("GITHUB_API_URL", fake.url)
        monkeypatch.setenv("GITHUB_REPOSITORY", fake.repo.name)
        monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
        for name in ("GITHUB_SERVER_URL", "GITHUB_RUN_ID"):
            monkeypatch.delenv(name, raising=False)
        yield fake


@pytest.fixture(scope="session")
def demo_plan() -> actions.Plan:
    state = w.desired()
    return planner.build_plan(state, w.live_state(state), now=w.NOW, tool_version="t")


def scaled(plan: actions.Plan, customers: int, per_customer: int) -> actions.Plan:
    """``customers`` copies of the demo plan's customers with ``per_customer`` changes each.

    Built from the planner's real output (dataclasses.replace), not by planning 50,000
    subscriptions, which would take a minute.
    """
    templates = [c for c in plan.changes if c.action is not actions.Action.NOOP]
    entry = plan.customers[0]
    entries, changes = [], []
    for i in range(customers):
        tid = f"3f2c6d55-0000-4000-8000-{i:012x}"
        name = f"Customer {i:05d} GmbH"
        entries.append(dataclasses.replace(entry, tenant_id=tid, name=name))
        for j in range(per_customer):
            t = templates[(i + j) % len(templates)]
            address = dataclasses.replace(t.address, customer_id=tid, customer_name=name)
            changes.append(
                dataclasses.replace(t, id=f"{i}-{j}", address=address, depends_on=(), blocked_by=())
            )
    return dataclasses.replace(
        plan, customers=tuple(entries), changes=tuple(changes), diagnostics=(), azure_ready=()
    )

"""GitOps tests: a local fake of GitHub's REST API and plans of every size, without network."""

from __future__ import annotations

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

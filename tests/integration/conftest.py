"""Fixtures for client <-> emulator integration tests: generated worlds, a running emulator over
real HTTPS, and clients configured the way a user would configure them.

``REQUESTS_CA_BUNDLE`` is pointed at a CA file that does *not* contain the emulator's CA for
every test here, so a client that lets the environment override its configured CA fails.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from pc_world import self_signed

from reconciler.emulator.server import Emulator


@pytest.fixture(autouse=True)
def foreign_ca_bundle(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """Point REQUESTS_CA_BUNDLE at a CA that does not sign the emulator's certificate."""
    _, other_ca = self_signed()
    path = tmp_path_factory.mktemp("foreign-ca") / "other-ca.pem"
    path.write_text(other_ca, encoding="utf-8")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(path))
    monkeypatch.setenv("CURL_CA_BUNDLE", str(path))
    return path


@pytest.fixture
def start_emulator(tmp_path: Path) -> Iterator[Callable[..., Emulator]]:
    started: list[Emulator] = []

    def start(world: dict[str, Any], **kw: Any) -> Emulator:
        kw.setdefault("page_size", 3)
        emu = Emulator.start(world=world, port=0, state_dir=tmp_path / f"emu{len(started)}", **kw)
        started.append(emu)
        return emu

    yield start
    for emu in started:
        emu.stop()


@pytest.fixture
def base_env(tmp_path: Path) -> dict[str, str]:
    """An environment with no credentials file and a private token cache directory."""
    return {
        "RECONCILER_CREDENTIALS_FILE": str(tmp_path / "no-credentials.toml"),
        "RECONCILER_TOKEN_CACHE_DIR": str(tmp_path / "tokens"),
    }


@pytest.fixture(scope="session")
def azurite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """One Azurite per test worker (the shared-state backend's tests)."""
    from azurite_server import Azurite, AzuriteMissing

    try:
        server = Azurite.start(tmp_path_factory.mktemp("azurite"))
    except AzuriteMissing as exc:
        pytest.fail(str(exc))
    yield server
    server.stop()

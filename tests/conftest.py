"""Fixtures shared by every test tier.

``run_cli`` runs the real entry point (argument parsing, error mapping, exit codes) in
process and returns what a user would see.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings

from reconciler.cli import main as cli_main

# No per-example deadline: a deadline is a timed assertion, and on a loaded 2-core CI machine
# it fails tests whose behaviour is right (speed is measured by bench/, never asserted here).
settings.register_profile("reconciler", deadline=None)
settings.load_profile("reconciler")

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def private_lock_dir(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch):
    """Each test its own machine-wide apply lock directory (the real default is one per user,
    which parallel test workers applying to the same demo tenants would share)."""
    path = tmp_path_factory.mktemp("lock-dir")
    monkeypatch.setenv("RECONCILER_LOCK_DIR", str(path))
    return path


EXAMPLE_MANIFESTS = ROOT / "manifests"


@dataclass
class CliResult:
    code: int
    out: str
    err: str

    @property
    def output(self) -> str:
        return self.out + self.err


@pytest.fixture
def run_cli(capsys: pytest.CaptureFixture[str]) -> Callable[..., CliResult]:
    def run(*argv: str) -> CliResult:
        capsys.readouterr()
        code = cli_main.main(list(argv))
        captured = capsys.readouterr()
        return CliResult(code, captured.out, captured.err)

    return run


@pytest.fixture
def sign_in_user(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Callable[..., Path]:
    """``reconciler login TENANT`` against a running emulator, as a partner admin does it (the
    emulator's user approves the device code): the App+User calls (the invitation URL, the
    customers' agreements) then go through. The token cache is the test's own: the
    ``RECONCILER_TOKEN_CACHE_DIR`` of ``environ`` (default: the process environment, where
    a fresh directory is set when none is). Returns the cache file."""

    def sign_in(emu: Any, tenant: str = "central", environ: dict[str, str] | None = None) -> Path:
        from reconciler.operations import live, signin

        env = dict(os.environ) if environ is None else environ
        if "RECONCILER_TOKEN_CACHE_DIR" not in env:
            cache = str(tmp_path_factory.mktemp("user-tokens"))
            env["RECONCILER_TOKEN_CACHE_DIR"] = cache
            if environ is None:
                monkeypatch.setenv("RECONCILER_TOKEN_CACHE_DIR", cache)
        conn = Path(emu.connection_file)
        ids = {t["name"]: t["tenantId"] for t in json.loads(conn.read_text())["tenants"]}
        access = live.Access(env, connection=conn)
        who = signin.tenant(tenant, ids[tenant], [], access)

        def approve(message: str) -> None:
            code = re.search(r"code ([A-Z0-9-]+)", message)
            assert code, message
            emu.control.approve_device_code(code.group(1))

        return signin.sign_in(who, access, show=approve).cache_path

    return sign_in


# -- emulator (owned by the emulator work; see docs/emulator.md) ---------------------------------


@pytest.fixture(scope="session")
def emulator(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """The demo-world emulator, in-thread, for the whole session (frozen clock, no rate limit).

    Shared: call ``emulator.control.reset()`` (and ``set_fault()`` / ``set_limits(...)``) at the
    start of a test that needs a pristine world.
    """
    from reconciler.emulator.server import Emulator

    emu = Emulator.start(
        state_dir=tmp_path_factory.mktemp("emulator"), frozen_clock=True, rate_limit_per_minute=0
    )
    yield emu
    emu.stop()

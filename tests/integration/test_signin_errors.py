"""Sign-in and TLS failures as a user meets them at `reconciler plan`: one paragraph per tenant
that names where the failing value came from, exit 1, no crash report, no per-customer noise;
and a sign-in service that stumbles (503, 429) is retried like the API."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from pc_world import self_signed

from reconciler.emulator.server import Emulator

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def emu(tmp_path: Path) -> Iterator[Emulator]:
    with Emulator.start(state_dir=tmp_path / "emu") as running:
        for i in range(1, 7):
            running.control.accept_invitation(f"3f2c6d55-0000-4000-8000-00000000c00{i}", "central")
        yield running


def _tenant(emu: Emulator, name: str) -> dict[str, str]:
    conn = json.loads(Path(emu.connection_file).read_text())
    return next(t for t in conn["tenants"] if t["name"] == name)


def _plan(run_cli, emu: Emulator, *extra: str):
    return run_cli("plan", "--connection", str(emu.connection_file), *extra)


def _one_paragraph_per_tenant(text: str, tenants: int) -> list[str]:
    assert "Traceback" not in text and "internal error" not in text.lower()
    body = text.removeprefix("Error: ").strip()
    paragraphs = body.split("\n\n")
    assert len(paragraphs) == tenants, text
    return paragraphs


def test_a_wrong_secret_in_the_credentials_file_is_one_paragraph_naming_the_file(
    emu, run_cli, monkeypatch, tmp_path
) -> None:
    monkeypatch.chdir(ROOT)
    creds = tmp_path / "credentials.toml"
    de = _tenant(emu, "de")
    creds.write_text(
        f'[tenants.de]\nclient_id = "{de["clientId"]}"\nclient_secret = "not-the-secret-42"\n'
    )
    creds.chmod(0o600)
    result = _plan(run_cli, emu, "--credentials", str(creds))
    assert result.code == 1
    (paragraph,) = _one_paragraph_per_tenant(result.err, 1)
    assert "tenant 'de'" in paragraph
    assert f"the [tenants.de] table of {creds}" in paragraph
    assert "RECONCILER_DE_CLIENT" not in paragraph  # the value did not come from there
    assert "not-the-secret-42" not in result.out + result.err
    assert "unknown" not in result.out + result.err  # no per-customer "state unknown"


def test_a_ca_bundle_that_does_not_sign_the_host_names_the_setting_and_the_host(
    emu, run_cli, monkeypatch, tmp_path
) -> None:
    monkeypatch.chdir(ROOT)
    _, other_ca = self_signed()
    bundle = tmp_path / "wrong-ca.pem"
    bundle.write_text(other_ca)
    monkeypatch.setenv("RECONCILER_CA_BUNDLE", str(bundle))
    result = _plan(run_cli, emu)
    assert result.code == 1
    paragraphs = _one_paragraph_per_tenant(result.err, 3)  # central, de, fr
    for p in paragraphs:
        assert "127.0.0.1 did not verify against the CA bundle" in p
        assert f"{bundle} (set by RECONCILER_CA_BUNDLE)" in p
        assert "client secret" not in p  # not a credential problem


def test_no_ca_bundle_at_all_names_the_default_trust_store(
    emu, run_cli, monkeypatch, tmp_path
) -> None:
    monkeypatch.chdir(ROOT)
    conn = json.loads(Path(emu.connection_file).read_text())
    del conn["caBundle"]
    bare = tmp_path / "connection-without-ca.json"
    bare.write_text(json.dumps(conn))
    result = run_cli("plan", "--connection", str(bare))
    assert result.code == 1
    paragraphs = _one_paragraph_per_tenant(result.err, 3)
    assert all("the default trust store" in p and "RECONCILER_CA_BUNDLE" in p for p in paragraphs)


def test_one_503_and_one_429_from_the_sign_in_service_are_retried(emu, run_cli, monkeypatch):
    monkeypatch.chdir(ROOT)
    emu.control.set_fault(
        {"kind": "error", "path": "*/oauth2/v2.0/token", "status": 503, "count": 1},
        {"kind": "throttle", "path": "*/oauth2/v2.0/token", "retryAfter": 1, "count": 1},
    )
    result = _plan(run_cli, emu, "--detailed-exitcode")
    assert result.code == 2, result.output
    assert any(f["fired"] == 1 for f in emu.control.faults())


def test_a_sign_in_service_that_stays_down_is_one_paragraph_naming_it(
    emu, run_cli, monkeypatch
) -> None:
    monkeypatch.chdir(ROOT)
    monkeypatch.setenv("RECONCILER_RETRY_BACKOFF_SECONDS", "0.01")
    emu.control.set_fault({"kind": "error", "path": "*/oauth2/v2.0/token", "status": 503})
    result = _plan(run_cli, emu)
    assert result.code == 1
    paragraphs = _one_paragraph_per_tenant(result.err, 3)
    for p in paragraphs:
        assert "The sign-in service 127.0.0.1 answered HTTP 503 4 times in a row" in p
        assert "This is not a credential problem" in p

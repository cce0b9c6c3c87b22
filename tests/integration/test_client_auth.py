"""Every credential type authenticates against the emulator over verified HTTPS, with an
ambient REQUESTS_CA_BUNDLE that does not trust it; secrets never reach the output."""

from __future__ import annotations

import io
import logging
import os
import re
import stat
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from pc_world import PARTNERS, SECRET_PREFIX, build, consolidation, make_world, self_signed

from reconciler import errors
from reconciler.emulator.server import Emulator
from reconciler.partner_center import auth, config, configfiles, connect, http, reading

Start = Callable[..., Emulator]


def _read_one(clients: dict[str, Any], tenant: str) -> list[str]:
    return sorted(c["id"] for c in clients[tenant].list_customers())


def test_client_secret_from_the_connection_file(
    start_emulator: Start, base_env: dict[str, str]
) -> None:
    emu = start_emulator(make_world(5))
    clients = build(emu, base_env)
    assert len(_read_one(clients, "de")) == 3
    assert len(_read_one(clients, "fr")) == 2


def test_certificate_credential(
    start_emulator: Start, base_env: dict[str, str], tmp_path: Path
) -> None:
    bundle, cert = self_signed()
    emu = start_emulator(make_world(4, cert_pem=cert))
    pem = tmp_path / "central.pem"
    pem.write_text(bundle, encoding="utf-8")
    env = {**base_env, "RECONCILER_CENTRAL_CERTIFICATE": str(pem)}
    clients = build(emu, env, tenants=["central"])
    assert clients["central"].transport.tokens is not None
    assert len(_read_one(clients, "central")) == 2  # customers 0 and 3 accepted


def test_a_certificate_the_app_does_not_know_is_a_config_error(
    start_emulator: Start, base_env: dict[str, str], tmp_path: Path
) -> None:
    emu = start_emulator(make_world(2))
    bundle, _ = self_signed()
    pem = tmp_path / "de.pem"
    pem.write_text(bundle, encoding="utf-8")
    clients = build(emu, {**base_env, "RECONCILER_DE_CERTIFICATE": str(pem)}, tenants=["de"])
    with pytest.raises(errors.ConfigError, match="RECONCILER_DE_CERTIFICATE"):
        _read_one(clients, "de")


def _github_token(emu: Emulator) -> str:
    doc = configfiles.load_connection_file(emu.connection_file)
    fetch = auth.github_oidc_assertion(
        doc["githubOidc"]["requestUrl"],
        doc["githubOidc"]["requestToken"],
        session=http.new_session(),
        verify=str(emu.ca_bundle),
    )
    return fetch()


def test_federated_token_file(
    start_emulator: Start, base_env: dict[str, str], tmp_path: Path
) -> None:
    emu = start_emulator(make_world(4))
    token_file = tmp_path / "federated-token"
    token_file.write_text(_github_token(emu), encoding="utf-8")
    env = {**base_env, "RECONCILER_DE_FEDERATED_TOKEN_FILE": str(token_file)}
    clients = build(emu, env, tenants=["de"])
    assert len(_read_one(clients, "de")) == 2


def test_github_actions_oidc_fetches_a_fresh_assertion_per_token(
    start_emulator: Start, base_env: dict[str, str]
) -> None:
    emu = start_emulator(make_world(4))
    env = {**base_env, "RECONCILER_FR_GITHUB_OIDC": "1"}
    clients = build(emu, env, tenants=["fr"])
    tokens = clients["fr"].transport.tokens
    assert isinstance(tokens, auth.CachingTokenProvider)
    assert len(_read_one(clients, "fr")) == 2
    tokens.token(force_refresh=True)  # a second token request needs a second assertion
    assert tokens.fetches == 2
    assert len(_read_one(clients, "fr")) == 2


def test_wrong_secret_names_the_tenant_and_hides_the_secret(
    start_emulator: Start, base_env: dict[str, str]
) -> None:
    emu = start_emulator(make_world(2))
    env = {**base_env, "RECONCILER_DE_CLIENT_SECRET": "not-the-right-secret-123"}
    clients = build(emu, env, tenants=["de"])
    with pytest.raises(errors.ConfigError) as info:
        _read_one(clients, "de")
    text = str(info.value)
    assert "'de'" in text and "RECONCILER_DE_CLIENT_SECRET" in text
    assert "not-the-right-secret-123" not in text


def _approving(emu: Emulator, shown: list[str]) -> Callable[[str], None]:
    def show(message: str) -> None:
        shown.append(message)
        code = re.search(r"code ([A-Z0-9]{4,})", message)
        assert code, message
        emu.control.approve_device_code(code.group(1))

    return show


def test_delegated_device_code_sign_in_reads_the_invitation_url(
    start_emulator: Start, base_env: dict[str, str]
) -> None:
    emu = start_emulator(make_world(3))
    cons_target = consolidation().target
    endpoints, delegated = config.resolve_delegated(
        cons_target, environ=base_env, connection_path=emu.connection_file
    )
    shown: list[str] = []
    msal_http = auth.MsalHttpClient(http.new_session(), verify=endpoints.verify, timeout=10)
    auth.device_code_login(delegated, endpoints, msal_http, show=_approving(emu, shown))
    assert shown and delegated.cache_path.is_file()
    if sys.platform != "win32":  # Windows has no POSIX modes (the user profile's ACL applies)
        assert stat.S_IMODE(os.stat(delegated.cache_path).st_mode) == 0o600
    # A later run: the refresh token in the cache gets App+User tokens silently.
    clients = build(emu, base_env, delegated_for=["central"])
    assert clients["central"].has_delegated and not clients["de"].has_delegated
    url = clients["central"].get_invitation_url()
    assert url.startswith("https://") and PARTNERS["central"].split("-")[0] in url.lower()
    state = reading.read_live_state(consolidation(), clients, customers=[])
    assert state.invitation_url == url


def test_login_command_signs_in(
    start_emulator: Start,
    base_env: dict[str, str],
    run_cli: Callable[..., Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    emu = start_emulator(make_world(2))
    for key, value in base_env.items():
        monkeypatch.setenv(key, value)
    real = auth.device_code_login
    shown: list[str] = []

    def login_and_approve(*args: Any, show: Callable[[str], None]) -> str:
        approve = _approving(emu, shown)

        def both(message: str) -> None:
            show(message)
            approve(message)

        return real(*args, show=both)

    monkeypatch.setattr(auth, "device_code_login", login_and_approve)
    result = run_cli("login", "central", "--connection", str(emu.connection_file))
    assert result.code == 0, result.output
    assert "approve code" in result.err and "Signed in to 'central'" in result.out
    assert (Path(base_env["RECONCILER_TOKEN_CACHE_DIR"]) / "central.json").is_file()


def test_login_for_an_unknown_tenant_is_a_clear_error(
    run_cli: Callable[..., Any], tmp_path: Path
) -> None:
    result = run_cli("login", "nowhere", "--manifests", str(tmp_path / "missing"))
    assert result.code == 1
    assert "Cannot tell the tenant id of 'nowhere'" in result.err
    assert "Traceback" not in result.output


def test_no_secret_or_token_in_verbose_output(
    start_emulator: Start,
    base_env: dict[str, str],
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    emu = start_emulator(make_world(6))
    emu.control.set_fault(
        {"kind": "error", "status": 503, "path": "/v1/customers/*", "probability": 0.3}
    )
    doc = configfiles.load_connection_file(emu.connection_file)
    token_file = tmp_path / "fed"
    assertion = _github_token(emu)
    token_file.write_text(assertion, encoding="utf-8")
    env = {
        **base_env,
        "RECONCILER_DE_FEDERATED_TOKEN_FILE": str(token_file),
        "RECONCILER_FR_GITHUB_OIDC": "1",
    }
    verbose = io.StringIO()
    handler = connect.enable_request_log(verbose)
    with caplog.at_level(logging.DEBUG):
        clients = build(emu, env)
        state = reading.read_live_state(consolidation(), clients, customers=None)
        print(connect.total_summary(clients.values()))
        bad = build(
            emu,
            {**base_env, "RECONCILER_CENTRAL_CLIENT_SECRET": "wrong-x-secret"},
            tenants=["central"],
        )
        with pytest.raises(errors.ConfigError) as info:
            _read_one(bad, "central")
        print(info.value)
    logging.getLogger("reconciler.partner_center").removeHandler(handler)
    tokens = [c.transport.tokens.token() for c in clients.values()]
    out = verbose.getvalue() + caplog.text + "".join(capfd.readouterr()) + repr(state)
    assert "-> 200" in verbose.getvalue() and "retrying in" in verbose.getvalue()
    assert "GET 127.0.0.1" in caplog.text and "MS-RequestId" in caplog.text
    secrets = [f"{SECRET_PREFIX}{n}" for n in PARTNERS] + [
        "wrong-x-secret",
        doc["githubOidc"]["requestToken"],
        assertion,
        *tokens,
    ]
    leaked = [s for s in secrets if s in out]
    assert leaked == []

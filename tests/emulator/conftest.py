"""Fixtures for the emulator's conformance tests: one emulator per session (frozen clock), reset
before each test, and raw HTTP helpers (requests + unmodified MSAL, certificate checks on).

``REQUESTS_CA_BUNDLE`` is set in this environment and would override ``Session.verify``, so
every session here has ``trust_env = False``.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msal
import pytest
import requests

from reconciler.emulator.server import Emulator

PC = "https://api.partnercenter.microsoft.com"
APP_SCOPE = [f"{PC}/.default"]
USER_SCOPE = [f"{PC}/user_impersonation"]
CENTRAL = "0f6a1b8e-0000-4000-8000-000000000001"
DE = "0f6a1b8e-0000-4000-8000-0000000000de"
FR = "0f6a1b8e-0000-4000-8000-0000000000f2"
FABRIKAM = "3f2c6d55-0000-4000-8000-00000000c001"
NORTHWIND = "3f2c6d55-0000-4000-8000-00000000c002"
WOODGROVE = "3f2c6d55-0000-4000-8000-00000000c006"
ADATUM = "3f2c6d55-0000-4000-8000-00000000c003"
TAILSPIN = "3f2c6d55-0000-4000-8000-00000000c004"


def sub_id(suffix: str) -> str:
    return f"5b1e0a40-0000-4000-8000-00000000{suffix}"


DEFAULTS: dict[str, Any] = {
    "page_size": 20,
    "rate_limit_per_minute": 0,
    "pair_rate_limit_per_minute": 0,
    "provisioning_delay_seconds": 0.0,
    "idempotency_ttl_seconds": 3600.0,
    "patch_async": False,
    "transfer_expiry_days": 30,
    "bom_prefix": False,
    "stale_etag_status": 400,
    "order_list_delay_seconds": 900.0,
    "transfer_list_envelope": False,
    "refuse_legacy_purchases": True,
    "availability_rotation_days": 30.0,
    "require_customer_agreement": True,
}
#: Settings ``Emulator.start`` takes as keyword arguments (the others are set through
#: ``control.set_limits`` on every reset).
_START_KNOBS = (
    "page_size",
    "rate_limit_per_minute",
    "pair_rate_limit_per_minute",
    "provisioning_delay_seconds",
    "idempotency_ttl_seconds",
    "patch_async",
)


def http(emu: Emulator) -> requests.Session:
    """A session that trusts exactly the emulator's CA."""
    session = requests.Session()
    session.trust_env = False
    session.verify = str(emu.ca_bundle)
    return session


@dataclass
class Api:
    """Raw calls to ``/v1`` as one partner tenant."""

    base: str
    session: requests.Session
    token: str
    headers: dict[str, str] = field(default_factory=dict)

    def call(self, method: str, path: str, body: Any = None, **headers: str) -> requests.Response:
        hdrs = {
            "Authorization": f"Bearer {self.token}",
            "Accept": "application/json",
            **self.headers,
            **{k.replace("_", "-"): v for k, v in headers.items()},
        }
        data = None if body is None else json.dumps(body)
        if data is not None:
            hdrs["Content-Type"] = "application/json"
        return self.session.request(
            method, self.base + "/v1" + path, data=data, headers=hdrs, timeout=10
        )

    def get(self, path: str, **headers: str) -> requests.Response:
        return self.call("GET", path, **headers)

    def post(self, path: str, body: Any = None, **headers: str) -> requests.Response:
        return self.call("POST", path, {} if body is None else body, **headers)

    def patch(self, path: str, body: Any, **headers: str) -> requests.Response:
        return self.call("PATCH", path, body, **headers)


@dataclass
class World:
    """The running emulator plus helpers bound to it."""

    emu: Emulator
    session: requests.Session
    conn: dict[str, Any]
    tokens: dict[tuple[str, bool], str]

    def tenant(self, name: str) -> dict[str, Any]:
        return next(t for t in self.conn["tenants"] if t["name"] == name)

    def authority(self, name: str) -> str:
        return f"{self.conn['authorityHost']}/{self.tenant(name)['tenantId']}"

    def confidential(self, name: str, credential: Any = None) -> msal.ConfidentialClientApplication:
        t = self.tenant(name)
        return msal.ConfidentialClientApplication(
            t["clientId"],
            client_credential=credential or t["clientSecret"],
            authority=self.authority(name),
            instance_discovery=False,
            http_client=self.session,
            token_cache=msal.TokenCache(),
        )

    def public(self, name: str) -> msal.PublicClientApplication:
        return msal.PublicClientApplication(
            self.tenant(name)["publicClientId"],
            authority=self.authority(name),
            instance_discovery=False,
            http_client=self.session,
            token_cache=msal.TokenCache(),
        )

    def app_token(self, name: str) -> str:
        key = (name, True)
        if key not in self.tokens:
            result = self.confidential(name).acquire_token_for_client(scopes=APP_SCOPE)
            self.tokens[key] = result["access_token"]
        return self.tokens[key]

    def user_token(self, name: str) -> str:
        key = (name, False)
        if key not in self.tokens:
            app = self.public(name)
            flow = app.initiate_device_flow(scopes=USER_SCOPE)
            self.control("POST", "/device/approve", {"userCode": flow["user_code"]})
            self.tokens[key] = app.acquire_token_by_device_flow(flow)["access_token"]
        return self.tokens[key]

    def api(self, name: str, *, delegated: bool = False) -> Api:
        token = self.user_token(name) if delegated else self.app_token(name)
        return Api(self.emu.url, self.session, token)

    def control(self, method: str, path: str, body: Any = None, **params: str) -> Any:
        response = self.session.request(
            method,
            f"{self.conn['controlRoot']}{path}",
            json=body,
            params=params or None,
            timeout=10,
        )
        assert response.status_code == 200, response.text
        return response.json()

    def accept(self, customer: str, partner: str = "central") -> None:
        self.control("POST", f"/customers/{customer}/accept-invitation", partner=partner)


@pytest.fixture(scope="session")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Emulator]:
    state = tmp_path_factory.mktemp("emulator")
    knobs = {k: v for k, v in DEFAULTS.items() if k in _START_KNOBS}
    emu = Emulator.start(port=0, state_dir=state, frozen_clock=True, **knobs)
    yield emu
    emu.stop()


@pytest.fixture
def world(running: Emulator) -> World:
    """The demo world, freshly reset, with default limits and no faults."""
    running.control.reset()
    running.control.set_fault()
    running.control.set_limits(**DEFAULTS)
    conn = json.loads(Path(running.connection_file).read_text())
    return World(running, http(running), conn, _TOKENS)


_TOKENS: dict[tuple[str, bool], str] = {}


def new_id() -> str:
    return str(uuid.uuid4())

"""The request pipeline: which surface a path belongs to, and for the API the documented
order of concerns: fault injection → token check → settle due jobs → throttling →
``MS-RequestId`` replay → route → remember the outcome → "commit, then drop" faults.
It must not contain route logic; routes live in the resource modules.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import time
import uuid
from collections.abc import Callable
from typing import Any

from reconciler.emulator import (
    agreements,
    catalog_api,
    commerce,
    control_http,
    customers,
    oauth,
    subscriptions,
    transfers,
)
from reconciler.emulator.control import Control
from reconciler.emulator.engine import Engine
from reconciler.emulator.identity import Identity
from reconciler.emulator.policies import FaultRule, Faults, Replays, Throttle
from reconciler.emulator.protocol import ApiFault, Request, Response, throttled
from reconciler.emulator.transport import Drop

_WRITES = {"POST", "PATCH", "PUT", "DELETE"}
_BOM = b"\xef\xbb\xbf"
_log = logging.getLogger("reconciler.emulator")
_Route = tuple[str, re.Pattern[str], Callable[..., Response]]


def _compile(table: list[tuple[str, str, Callable[..., Response]]]) -> list[_Route]:
    return [
        (m, re.compile("^" + re.sub(r"{(\w+)}", r"(?P<\1>[^/]+)", p) + "$", re.I), fn)
        for m, p, fn in table
    ]


ROUTES = _compile(
    [
        *customers.ROUTES,
        *subscriptions.ROUTES,
        *commerce.ROUTES,
        *transfers.ROUTES,
        *catalog_api.ROUTES,
        *agreements.ROUTES,
    ]
)
_CUSTOMER = re.compile(r"^/customers/([0-9a-fA-F-]{36})(/|$)")


class Pipeline:
    """Dispatches one request to the token service, the control surface or the API."""

    def __init__(
        self,
        engine: Engine,
        identity: Identity,
        faults: Faults,
        throttle: Throttle,
        replays: Replays,
        control: Control,
    ) -> None:
        self.engine, self.identity, self.faults = engine, identity, faults
        self.throttle, self.replays, self.control = throttle, replays, control

    def dispatch(self, req: Request) -> Response | Drop:
        """Answer one request; an emulator bug becomes a logged 500, never a silent hang-up."""
        try:
            return self._dispatch(req)
        except Exception:
            _log.exception("emulator bug while serving %s %s", req.method, req.path)
            return ApiFault(500, 0, "Internal error in the emulator (see its log).").response()

    def _dispatch(self, req: Request) -> Response | Drop:
        if req.path.startswith("/_emulator/github-oidc"):
            return self._guard(lambda: oauth.github_oidc(self.engine, self.identity, req))
        if req.path.startswith("/_emulator/"):
            return control_http.handle(self.control, req)
        fault = self.faults.pick(req.method, req.path, self._caller(req))
        if fault is not None and fault.kind not in ("drop_after_commit", "timeout_after_commit"):
            early = _early_fault(fault)
            if early is not None:
                return early
        if req.path.startswith("/v1/"):
            outcome = self._api(req)
            if self.engine.settings.bom_prefix:
                _prefix_bom(outcome)
        elif oauth.matches(req.path):
            outcome = oauth.handle(self.engine, self.identity, req)
        else:
            outcome = ApiFault(404, 1000, f"No resource at {req.path}.").response()
        if fault is not None and fault.kind == "drop_after_commit":
            return Drop(reset=False)
        if fault is not None and fault.kind == "timeout_after_commit":
            return ApiFault(504, 0, "Gateway timeout.").response()
        return outcome

    def _caller(self, req: Request) -> tuple[str, ...]:
        """The calling partner's name and tenant id, for fault rules limited to one partner
        (``()`` when no rule is, or the call is not signed in as a partner)."""
        if not self.faults.by_partner or not req.path.startswith("/v1/"):
            return ()
        engine = self.engine
        with engine.lock:
            try:
                principal = self.identity.principal(req.header("Authorization"), engine.world)
            except ApiFault:
                return ()
            found = engine.world.partner(principal.tenant_id)
        return (found.name.lower(), principal.tenant_id) if found else (principal.tenant_id,)

    def _guard(self, call: Callable[[], Response]) -> Response:
        try:
            return call()
        except ApiFault as fault:
            return fault.response()

    def _api(self, req: Request) -> Response:
        sent_path = req.path
        req.path = req.path[3:]  # routes are written without /v1, like the API's own links
        req.request_id = req.header("MS-RequestId") or str(uuid.uuid4())
        echo = {
            "MS-RequestId": req.request_id,
            "MS-CorrelationId": req.header("MS-CorrelationId") or str(uuid.uuid4()),
            "MS-CV": uuid.uuid4().hex[:16] + ".0",
            "MS-ServerId": "emulator-1",
        }
        response = self._guard(lambda: self._authorized(req))
        response.headers = {**echo, **response.headers}
        with self.engine.lock:
            self.engine.requests.record(
                self.engine.clock.now(),
                partner_id=req.principal.tenant_id if req.principal else "",
                method=req.method,
                path=sent_path,
                query=req.query,
                status=response.status,
            )
        return response

    def _authorized(self, req: Request) -> Response:
        engine = self.engine
        with engine.lock:
            req.principal = self.identity.principal(req.header("Authorization"), engine.world)
            engine.settle()
            now = engine.clock.now()
            wait = self._throttled(req, now)
            if wait:
                return throttled(wait)
            key = (req.principal.tenant_id, req.request_id.lower(), req.method, req.path.lower())
            remember = req.method in _WRITES and bool(req.header("MS-RequestId"))
            if remember:
                replay = self.replays.get(key, now)
                if replay is not None:
                    return Response(
                        replay.status,
                        None,
                        {**replay.headers, "X-Emulator-Replayed": "true"},
                        raw=replay.raw,
                    )
            response = self._route(req)
            if remember and response.status < 500:
                ttl = dt.timedelta(seconds=engine.settings.idempotency_ttl_seconds)
                self.replays.put(key, response, now + ttl)
            return response

    def _throttled(self, req: Request, now: dt.datetime) -> int:
        assert req.principal is not None
        tenant, settings = req.principal.tenant_id, self.engine.settings
        wait = self.throttle.take((tenant, ""), settings.rate_limit_per_minute, now)
        found = _CUSTOMER.match(req.path)
        if not wait and found and settings.pair_rate_limit_per_minute:
            wait = self.throttle.take(
                (tenant, found.group(1).lower()), settings.pair_rate_limit_per_minute, now
            )
        return wait

    def _route(self, req: Request) -> Response:
        allowed = []
        for method, regex, handler in ROUTES:
            found = regex.match(req.path)
            if found is None:
                continue
            if method != req.method:
                allowed.append(method)
                continue
            try:
                return handler(self.engine, req, **found.groupdict())
            except ApiFault as fault:
                return fault.response()
        if allowed:
            return ApiFault(
                405,
                0,
                f"{req.method} is not allowed on {req.path}.",
                {"Allow": ", ".join(sorted(set(allowed)))},
            ).response()
        return ApiFault(404, 1000, f"No resource at /v1{req.path}.").response()


def _prefix_bom(response: Response) -> None:
    """The switch ``bomPrefix`` (docs §0, "BOM"): a UTF-8 byte-order mark before the JSON body
    of a Partner Center API answer (an empty body stays empty). The sign-in endpoints (token
    service, OpenID configuration, keys, device codes) are Microsoft Entra ID's, which sends
    no BOM: they are never prefixed."""
    payload = response.encode()
    if payload and not payload.startswith(_BOM):
        response.raw = _BOM + payload


def _early_fault(fault: FaultRule) -> Response | Drop | None:
    if fault.kind == "latency":
        time.sleep(fault.latency_ms / 1000.0)  # real time: this *is* the injected latency
        return None
    if fault.kind == "reset":
        return Drop(reset=True)
    if fault.kind == "throttle":
        return throttled(fault.retry_after)
    body: dict[str, Any] = {
        "code": fault.code,
        "description": f"Injected fault: HTTP {fault.status}"
        + (f", code {fault.code}." if fault.code else "."),
        "data": [],
        "source": "PartnerFD",
    }
    return Response(fault.status, body)

"""``/_emulator/*`` over HTTPS: a thin JSON mapping of ``control.Control`` (docs/emulator.md,
"Control surface"). No authentication: the server only listens on 127.0.0.1. Must not add
behaviour that ``Control`` lacks.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from reconciler.emulator.clock import iso
from reconciler.emulator.control import Control, ControlError
from reconciler.emulator.protocol import Request, Response

_Handler = Callable[[Control, Request, dict[str, Any], dict[str, str]], Any]
_ROUTES: list[tuple[str, re.Pattern[str], _Handler]] = []


def _route(method: str, pattern: str) -> Callable[[_Handler], _Handler]:
    regex = re.compile("^/_emulator" + re.sub(r"{(\w+)}", r"(?P<\1>[^/]+)", pattern) + "$")

    def register(fn: _Handler) -> _Handler:
        _ROUTES.append((method, regex, fn))
        return fn

    return register


def handle(control: Control, req: Request) -> Response:
    """Serve one control request (JSON in, JSON out; 400 ``{"error"}`` on a bad call)."""
    for method, regex, fn in _ROUTES:
        found = regex.match(req.path)
        if found is None or method != req.method:
            continue
        try:
            body = req.json() if req.body.strip() else {}
            result = fn(control, req, body if isinstance(body, dict) else {}, found.groupdict())
        except (ControlError, ValueError, TypeError, KeyError) as exc:
            return Response(400, {"error": str(exc)})
        return result if isinstance(result, Response) else Response(200, result)
    return Response(404, {"error": f"no control route {req.method} {req.path}"})


@_route("GET", "/health")
def _health(c: Control, req: Request, body: dict[str, Any], p: dict[str, str]) -> Any:
    return {"ok": True, "now": iso(c.now())}


@_route("POST", "/reset")
def _reset(c: Control, req: Request, body: dict[str, Any], p: dict[str, str]) -> Any:
    # Seeds are camelCase documents; take them from the raw body, not the lower-cased one.
    raw = req.raw_json() if req.body.strip() else {}
    c.reset(raw.get("world") if isinstance(raw, dict) else None)
    return {"ok": True}


@_route("GET", "/snapshot")
def _snapshot(c: Control, req: Request, body: dict[str, Any], p: dict[str, str]) -> Any:
    return c.snapshot()


@_route("POST", "/save")
def _save(c: Control, req: Request, body: dict[str, Any], p: dict[str, str]) -> Any:
    return {"path": str(c.save())}


@_route("GET", "/clock")
def _clock(c: Control, req: Request, body: dict[str, Any], p: dict[str, str]) -> Any:
    return {"now": iso(c.now())}


@_route("POST", "/clock/advance")
def _advance(c: Control, req: Request, body: dict[str, Any], p: dict[str, str]) -> Any:
    units = {k: float(body.get(k, 0)) for k in ("days", "hours", "minutes", "seconds")}
    return {"now": iso(c.advance_clock(**units))}


@_route("POST", "/customers/{customer_id}/accept-invitation")
def _accept(c: Control, req: Request, body: dict[str, Any], p: dict[str, str]) -> Any:
    partner = req.query.get("partner") or str(body.get("partner", ""))
    return {"created": c.accept_invitation(p["customer_id"], partner)}


@_route("POST", "/azure-handoff")
def _handoff(c: Control, req: Request, body: dict[str, Any], p: dict[str, str]) -> Any:
    moved = c.azure_handoff(
        str(body["customerid"]), source=str(body["source"]), target=str(body["target"])
    )
    return {"moved": moved}


@_route("POST", "/device/approve")
def _approve(c: Control, req: Request, body: dict[str, Any], p: dict[str, str]) -> Any:
    return {"upn": c.approve_device_code(str(body["usercode"]), str(body.get("upn", "")))}


@_route("POST", "/certificates")
def _certificate(c: Control, req: Request, body: dict[str, Any], p: dict[str, str]) -> Any:
    c.register_certificate(str(body["clientid"]), str(body["certificate"]))
    return {"ok": True}


@_route("POST", "/tokens")
def _token(c: Control, req: Request, body: dict[str, Any], p: dict[str, str]) -> Any:
    lifetime = body.get("lifetime")
    token = c.mint_token(
        str(body["partner"]),
        app_only=bool(body.get("apponly", True)),
        lifetime=None if lifetime is None else int(lifetime),
        audience=body.get("audience"),
    )
    return {"accessToken": token}


@_route("GET", "/faults")
def _faults(c: Control, req: Request, body: dict[str, Any], p: dict[str, str]) -> Any:
    return {"rules": c.faults()}


@_route("PUT", "/faults")
def _set_faults(c: Control, req: Request, body: dict[str, Any], p: dict[str, str]) -> Any:
    raw = req.raw_json()
    seed = raw.get("seed") if isinstance(raw, dict) else None
    c.set_fault(
        *(raw.get("rules", []) if isinstance(raw, dict) else []),
        seed=None if seed is None else int(seed),
    )
    return {"rules": c.faults()}


@_route("DELETE", "/faults")
def _clear_faults(c: Control, req: Request, body: dict[str, Any], p: dict[str, str]) -> Any:
    c.set_fault()
    return {"rules": []}


@_route("GET", "/settings")
def _settings(c: Control, req: Request, body: dict[str, Any], p: dict[str, str]) -> Any:
    return c.settings()


@_route("PUT", "/settings")
def _set_settings(c: Control, req: Request, body: dict[str, Any], p: dict[str, str]) -> Any:
    raw = req.raw_json()
    return c.set_limits(**(raw if isinstance(raw, dict) else {}))


@_route("GET", "/ledger")
def _ledger(c: Control, req: Request, body: dict[str, Any], p: dict[str, str]) -> Any:
    q = req.query
    rows = c.ledger(
        customer_id=q.get("customerid"),
        subscription_id=q.get("subscriptionid"),
        since=q.get("since"),
    )
    return {"rows": rows}


@_route("GET", "/requests")
def _requests(c: Control, req: Request, body: dict[str, Any], p: dict[str, str]) -> Any:
    return {"requests": c.requests(after=int(req.query.get("after", "0") or 0))}


@_route("GET", "/history")
def _history(c: Control, req: Request, body: dict[str, Any], p: dict[str, str]) -> Any:
    return {"events": c.history(after=int(req.query.get("after", "0") or 0))}

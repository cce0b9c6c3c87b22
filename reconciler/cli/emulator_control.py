"""``reconciler emulator accept-invitation | azure-handoff | advance-clock``: play the people
outside the API against a running emulator (``reconciler emulator serve``).

Talks to the emulator's control surface (``controlRoot`` in its connection file) over HTTPS
with the emulator's own CA, using only the standard library. Holds no emulator behaviour.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from reconciler import errors, settings
from reconciler.cli import runtime

ConnectionOpt = Annotated[
    Path | None,
    typer.Option(
        "--connection",
        help="The emulator's connection file (default $RECONCILER_CONNECTION_FILE, else "
        ".reconciler/emulator/connection.json).",
    ),
]


def _connection(ctx: typer.Context, path: Path | None) -> dict[str, Any]:
    environ = runtime.of(ctx).environ
    chosen = path or Path(
        environ.get(settings.ENV_CONNECTION_FILE) or ".reconciler/emulator/connection.json"
    )
    try:
        doc: dict[str, Any] = json.loads(chosen.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise errors.UsageError(
            f"Cannot read the emulator connection file {chosen} ({exc}). Start the emulator "
            "with `reconciler emulator serve` and pass its connection file with --connection."
        ) from None
    return doc


def _call(conn: dict[str, Any], method: str, path: str, body: dict[str, Any] | None = None) -> Any:
    import ssl  # here, not at the top: ``reconciler --help`` stays fast
    import urllib.error
    import urllib.request

    url = conn["controlRoot"].rstrip("/") + path
    context = ssl.create_default_context(cafile=conn["caBundle"])
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(  # noqa: S310 - https to the loopback emulator only
        url, data=data, method=method, headers={"Content-Type": "application/json"}
    )
    try:
        timeout = settings.EMULATOR_CONTROL_TIMEOUT_SECONDS
        with urllib.request.urlopen(request, context=context, timeout=timeout) as reply:  # noqa: S310
            return json.loads(reply.read() or b"null")
    except urllib.error.HTTPError as exc:
        detail = exc.read().decode("utf-8", "replace")[:300]
        raise errors.UsageError(f"The emulator refused {method} {path}: {detail}") from None
    except (urllib.error.URLError, OSError) as exc:
        raise errors.UsageError(
            f"Cannot reach the emulator at {url} ({exc}); is `reconciler emulator serve` "
            "running with this connection file?"
        ) from None


def _customers(conn: dict[str, Any], wanted: list[str] | None) -> list[dict[str, Any]]:
    snapshot = _call(conn, "GET", "/snapshot")
    found: list[dict[str, Any]] = snapshot["customers"]
    if not wanted:
        return found
    keys = {w.lower() for w in wanted}
    chosen = [
        c
        for c in found
        if c["tenantId"].lower() in keys or str(c.get("companyName", "")).lower() in keys
    ]
    if len(chosen) != len(keys):
        raise errors.UsageError(
            f"Not every customer of {', '.join(wanted)} is in the emulator's world; use "
            "tenant ids or company names from `reconciler plan`."
        )
    return chosen


def register(emulator_app: typer.Typer) -> None:
    """Add the control commands to ``reconciler emulator``."""
    _register_people(emulator_app)
    _register_clock(emulator_app)


def _register_people(emulator_app: typer.Typer) -> None:
    @emulator_app.command("accept-invitation")
    def accept_invitation(
        ctx: typer.Context,
        customers: Annotated[
            list[str] | None,
            typer.Argument(help="Customer tenant ids or company names (default: all)."),
        ] = None,
        partner: Annotated[str, typer.Option(help="The inviting partner tenant.")] = "central",
        connection: ConnectionOpt = None,
    ) -> None:
        """The customers' Global Admins accept the partner's reseller invitation."""
        conn = _connection(ctx, connection)
        for c in _customers(conn, customers):
            path = f"/customers/{c['tenantId']}/accept-invitation?partner={partner}"
            reply = _call(conn, "POST", path)
            state = "accepted" if reply.get("created") else "had already accepted"
            typer.echo(f"{c['companyName']} {state} {partner}'s invitation.")

    @emulator_app.command("azure-handoff")
    def azure_handoff(
        ctx: typer.Context,
        customers: Annotated[
            list[str] | None,
            typer.Argument(help="Customer tenant ids or company names (default: all ready)."),
        ] = None,
        target: Annotated[str, typer.Option(help="The partner tenant Azure moves to.")] = (
            "central"
        ),
        connection: ConnectionOpt = None,
    ) -> None:
        """Microsoft support moves the customers' Azure subscriptions to the target."""
        conn = _connection(ctx, connection)
        for c in _customers(conn, customers):
            related = list(c.get("relationships", []))
            if target not in related:
                if customers:
                    typer.echo(f"{c.get('companyName')}: has not accepted {target}'s invitation.")
                continue
            for source in (name for name in related if name != target):
                reply = _call(
                    conn,
                    "POST",
                    "/azure-handoff",
                    {"customerId": c["tenantId"], "source": source, "target": target},
                )
                moved = reply.get("moved") or {}
                if moved:
                    typer.echo(
                        f"{c.get('companyName')}: moved {len(moved)} Azure subscription(s) "
                        f"from {source} to {target}."
                    )


def _register_clock(emulator_app: typer.Typer) -> None:
    @emulator_app.command("advance-clock")
    def advance_clock(
        ctx: typer.Context,
        days: Annotated[int, typer.Option(help="Days to move the emulator clock forward.")] = 0,
        hours: Annotated[int, typer.Option(help="Hours to move it forward.")] = 0,
        connection: ConnectionOpt = None,
    ) -> None:
        """Move the emulator's clock forward (NCE windows, provisioning, transfer expiry)."""
        conn = _connection(ctx, connection)
        reply = _call(conn, "POST", "/clock/advance", {"days": days, "hours": hours})
        typer.echo(f"Emulator clock is now {reply.get('now', reply)}.")

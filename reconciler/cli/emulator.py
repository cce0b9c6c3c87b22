"""``reconciler emulator serve``: run the Partner Center emulator in the foreground.

Parses flags, starts ``reconciler.emulator.server.Emulator`` on 127.0.0.1, prints the URL and
the connection file, and stops cleanly on Ctrl-C. It must hold no emulator behaviour itself.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from reconciler import errors

if TYPE_CHECKING:  # imported inside the command: start-up stays fast
    from reconciler.emulator.server import Emulator

emulator_app = typer.Typer(
    name="emulator",
    help="Run the local Partner Center emulator (for demos, tests and benchmarks).",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)


def _faults(specs: list[str]) -> list[dict[str, object]]:
    """``--fault`` values: JSON objects, or ``KIND:METHOD:PATH[:PROBABILITY]`` shorthands."""
    rules: list[dict[str, object]] = []
    for spec in specs:
        if spec.lstrip().startswith("{"):
            try:
                rules.append(json.loads(spec))
            except ValueError as exc:
                raise errors.UsageError(f"--fault {spec!r} is not valid JSON: {exc}") from exc
            continue
        parts = spec.split(":")
        if len(parts) < 3:
            raise errors.UsageError(
                f"--fault {spec!r}: expected KIND:METHOD:PATH[:PROBABILITY] (for example "
                "'error:POST:/v1/customers/*/orders:0.2') or a JSON object; see "
                "docs/emulator.md, 'Faults'."
            )
        rule: dict[str, object] = {"kind": parts[0], "method": parts[1], "path": parts[2]}
        if len(parts) > 3:
            rule["probability"] = float(parts[3])
        rules.append(rule)
    return rules


@emulator_app.command("serve")
def serve(
    seed: Annotated[
        Path | None,
        typer.Option("--seed", help="World seed file (YAML/JSON). Default: the demo world."),
    ] = None,
    port: Annotated[int, typer.Option(help="Port on 127.0.0.1 (0 = any free port).")] = 0,
    state_dir: Annotated[
        Path, typer.Option("--state-dir", help="Where ca.pem and connection.json go.")
    ] = Path(".reconciler/emulator"),
    page_size: Annotated[int, typer.Option(help="Customers per page (max).")] = 20,
    rate_limit: Annotated[
        int, typer.Option(help="Requests per minute per partner tenant (0 = off).")
    ] = 500,
    pair_rate_limit: Annotated[
        int, typer.Option(help="Requests per minute per partner+customer (0 = off).")
    ] = 0,
    provisioning_delay: Annotated[
        float, typer.Option(help="Seconds (emulator clock) until new orders complete.")
    ] = 5.0,
    patch_async: Annotated[
        bool, typer.Option(help="Answer subscription PATCHes with 202 + Location.")
    ] = False,
    bom: Annotated[
        bool, typer.Option(help="Start every API JSON body with a UTF-8 byte-order mark.")
    ] = False,
    stale_etag_status: Annotated[
        int, typer.Option(help="HTTP status of a stale If-Match, code 2055: 400 or 412.")
    ] = 400,
    order_list_delay: Annotated[
        float, typer.Option(help="Seconds (emulator clock) before a new order is listed.")
    ] = 900.0,
    transfer_list_envelope: Annotated[
        bool,
        typer.Option(help="List transfers as {items} instead of Microsoft's bare JSON array."),
    ] = False,
    fault: Annotated[
        list[str] | None,
        typer.Option(help="Inject a fault: KIND:METHOD:PATH[:PROBABILITY] or JSON. Repeatable."),
    ] = None,
    fault_seed: Annotated[int, typer.Option(help="Seed for probabilistic faults.")] = 0,
    save_on_exit: Annotated[
        bool, typer.Option(help="Write a world snapshot to the state dir on exit.")
    ] = False,
) -> None:
    """Serve the emulator until Ctrl-C."""
    if seed is not None and not seed.is_file():
        raise errors.UsageError(
            f"--seed {seed}: no such file. Pass a world seed (YAML or JSON; format in "
            "docs/emulator.md) or omit --seed for the demo world."
        )
    if stale_etag_status not in (400, 412):
        raise errors.UsageError(
            f"--stale-etag-status {stale_etag_status}: Partner Center answers a stale If-Match "
            "with 400 (today's error list) or 412 (older documents); pass one of those."
        )
    if order_list_delay < 0:
        raise errors.UsageError(
            f"--order-list-delay {order_list_delay:g}: pass a number of seconds, 0 or more."
        )
    emu = _start(
        seed,
        port,
        state_dir=state_dir,
        page_size=page_size,
        rate_limit_per_minute=rate_limit,
        pair_rate_limit_per_minute=pair_rate_limit,
        provisioning_delay_seconds=provisioning_delay,
        patch_async=patch_async,
        faults=_faults(fault or []),
        fault_seed=fault_seed,
        switches={
            "bomPrefix": bom,
            "staleEtagStatus": stale_etag_status,
            "orderListDelaySeconds": order_list_delay,
            "transferListEnvelope": transfer_list_envelope,
        },
    )
    _serve_until_interrupted(emu, save_on_exit=save_on_exit)


def _serve_until_interrupted(emu: Emulator, *, save_on_exit: bool) -> None:
    """Say where the emulator listens and what to point clients at, serve until Ctrl-C, then
    stop it (after saving a snapshot if asked)."""
    typer.echo(f"Partner Center emulator listening on {emu.url}")
    typer.echo(f"Connection file: {emu.connection_file.resolve()}")
    typer.echo(f"CA bundle: {emu.ca_bundle.resolve()}")
    typer.echo("Press Ctrl-C to stop.")
    try:
        emu.serve_forever()
    except KeyboardInterrupt:
        typer.echo("Stopping the emulator.")
    finally:
        if save_on_exit:
            typer.echo(f"Snapshot: {emu.control.save()}")
        emu.stop()


def _start(seed: Path | None, port: int, **options: Any) -> Emulator:
    """The emulator, listening (not yet serving); a busy port or a bad seed is a UsageError."""
    from reconciler.emulator.server import Emulator

    try:
        return Emulator.start(seed, port=port, background=False, **options)
    except OSError as exc:
        raise errors.UsageError(
            f"The emulator could not listen on 127.0.0.1:{port} ({exc.strerror or exc}). "
            "Choose another --port, or 0 for any free port."
        ) from exc
    except (ValueError, KeyError) as exc:
        raise errors.UsageError(
            f"The world seed {seed or 'demo'} is invalid: {exc}. See docs/emulator.md."
        ) from exc


def register(app: typer.Typer) -> typer.Typer:
    """Add ``reconciler emulator ...`` to the CLI; returns the group, to which ``main`` adds
    the control commands (``emulator_control``)."""
    app.add_typer(emulator_app, name="emulator")
    return emulator_app

"""``reconciler demo``: the whole consolidation against the bundled emulator, step by step.

Starts the emulator in-process with the demo world (matching ``manifests/``), then runs the
real commands a partner would run (validate, plan, apply), and plays the parts of the
people outside the API (customers accepting the invitation, Microsoft support moving Azure,
the source partner's staff accepting a transfer) through the emulator's control surface.
It ends by reading the emulator's billing ledger: no day on which a legacy subscription was
billed by both tenants, no day on which a customer had no service. Holds no product logic.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer

from reconciler import errors, manifests, model
from reconciler.exitcodes import ExitCode
from reconciler.planning import markers

Runner = Callable[[list[str]], int]


@dataclass
class LedgerCheck:
    pairs: int
    double_billed_days: int
    unserved_days: int


def register(app: typer.Typer) -> None:
    @app.command()
    def demo(
        manifest_dir: Annotated[
            Path, typer.Option("--manifests", help="The example manifests to consolidate.")
        ] = Path("manifests"),
        state_dir: Annotated[
            Path,
            typer.Option("--state-dir", help="Where the demo keeps the emulator, plan, journal."),
        ] = Path(".reconciler/demo"),
    ) -> int:
        """Run plan and apply against the bundled Partner Center emulator, end to end.

        Nothing leaves this machine: the emulator serves HTTPS on 127.0.0.1 with its own CA.
        """
        from reconciler.cli import main as cli_main
        from reconciler.emulator.server import Emulator

        state = manifests.load([manifest_dir])
        if state_dir.exists():
            shutil.rmtree(state_dir)
        state_dir.mkdir(parents=True)
        from reconciler import settings

        tokens = state_dir / "tokens"
        with (
            _environ(settings.ENV_TOKEN_CACHE_DIR, str(tokens)),
            Emulator.start(state_dir=state_dir / "emulator") as emu,
        ):
            conn = str(emu.connection_file)
            typer.echo(f"Partner Center emulator on {emu.url} (connection file: {conn})")
            steps = _Steps(cli_main.main)
            steps.run("Validate the manifests", ["validate", str(manifest_dir)], expect=0)
            steps.note(
                f"Sign in to '{state.consolidation.target.name}' as a Partner Center admin "
                "(device code; the emulator approves it): the invitation URL needs App+User"
            )
            _sign_in(emu, state.consolidation.target, Path(conn), tokens)
            steps.run(
                "Plan: every customer must first accept the central tenant's invitation",
                ["plan", str(manifest_dir), "--connection", conn, "--detailed-exitcode"],
                expect=int(ExitCode.WAITING),
            )
            steps.note("The customers' Global Admins accept the invitation (emulator control)")
            for customer in state.customers:
                emu.control.accept_invitation(customer.tenant_id, state.consolidation.target.name)
            plan_file = state_dir / "plan.json"
            steps.run(
                "Plan again and save it for review: changes are ready",
                [
                    "plan",
                    str(manifest_dir),
                    "--connection",
                    conn,
                    "--detailed-exitcode",
                    "--out",
                    str(plan_file),
                ],
                expect=int(ExitCode.CHANGES),
            )
            steps.run(
                "Apply the reviewed plan",
                [
                    "apply",
                    str(plan_file),
                    "--connection",
                    conn,
                    "--auto-approve",
                    "--state-dir",
                    str(state_dir),
                ],
                expect=int(ExitCode.WAITING),
            )
            steps.note(
                "Microsoft support moves the Azure subscriptions; the source partner's "
                "staff accept the transfer request (emulator control and source API)"
            )
            _outside_parties(emu, state, conn)
            steps.run(
                "Plan once more: nothing left to do",
                ["plan", str(manifest_dir), "--connection", conn, "--detailed-exitcode"],
                expect=int(ExitCode.OK),
            )
            check = _check_ledger(emu.control.ledger(), emu.control.snapshot(), state)
        typer.echo("")
        typer.echo(
            f"Ledger check over {check.pairs} replaced legacy subscriptions: "
            f"{check.double_billed_days} day(s) billed by both tenants, "
            f"{check.unserved_days} day(s) without service."
        )
        failed = steps.failures or check.double_billed_days or check.unserved_days
        if failed:
            raise errors.DemoError(
                "The demo did not end as expected (see the steps marked UNEXPECTED above); "
                "this is a bug: please report it with the output."
            )
        typer.echo(f"Demo complete. Plan, journal and emulator state are in {state_dir}/.")
        return int(ExitCode.OK)


class _Steps:
    def __init__(self, runner: Runner) -> None:
        self.runner = runner
        self.count = 0
        self.failures = 0

    def note(self, title: str) -> None:
        self.count += 1
        typer.echo(f"\n=== Step {self.count}: {title}")

    def run(self, title: str, argv: list[str], *, expect: int) -> None:
        self.note(title)
        typer.echo(f"$ reconciler {' '.join(argv)}\n")
        code = self.runner(argv)
        verdict = "as expected" if code == expect else f"UNEXPECTED (wanted {expect})"
        typer.echo(f"\n(exit code {code}: {verdict})")
        if code != expect:
            self.failures += 1


@contextlib.contextmanager
def _environ(name: str, value: str) -> Iterator[None]:
    """Set an environment variable for the demo's in-process commands, then restore it."""
    old = os.environ.get(name)
    os.environ[name] = value
    try:
        yield
    finally:
        if old is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = old


def _sign_in(emu: Any, tenant: model.Tenant, conn: Path, cache_dir: Path) -> None:
    """``reconciler login`` for the demo: the emulator's user approves the device code.

    The token cache is ``cache_dir`` (``RECONCILER_TOKEN_CACHE_DIR``), not the user's own.
    """
    from reconciler.partner_center import auth, config, http

    endpoints, delegated = config.resolve_delegated(tenant, connection_path=conn)

    def approve(message: str) -> None:
        typer.echo(message)
        code = re.search(r"code ([A-Z0-9-]+)", message)
        if code:
            emu.control.approve_device_code(code.group(1))

    msal_http = auth.MsalHttpClient(
        http.new_session(pool_size=2), verify=endpoints.verify, timeout=30.0
    )
    user = auth.device_code_login(delegated, endpoints, msal_http, show=approve)
    typer.echo(f"Signed in as {user or 'the emulator user'}; token cache in {cache_dir}.")


def _outside_parties(emu: Any, state: model.DesiredState, conn: str) -> None:
    """What people outside the API do: Microsoft support, the source partner's staff."""
    from reconciler.partner_center import config, connect

    target = state.consolidation.target.name
    for customer in state.customers:
        if customer.azure:
            emu.control.azure_handoff(customer.tenant_id, source=customer.source, target=target)
    snapshot = emu.control.snapshot()
    pending = [t for t in snapshot["transfers"] if t.get("status") == "InProgress"]
    if not pending:
        return
    tenants = state.consolidation.tenants
    clients = connect.build_clients(tenants, config.resolve(tenants, connection_path=Path(conn)))
    by_id = {t.tenant_id: t.name for t in tenants}
    for transfer in pending:
        source = clients[by_id[transfer["sourcePartnerTenantId"].lower()]]
        customer_id = transfer["customerTenantId"]
        items = [
            {"subscriptionId": s["id"]}
            for s in snapshot["subscriptions"]
            if s["customerId"] == customer_id
            and s["partner"] == source.name
            and s["kind"] == "nce"
            and s["status"] == "active"
            and _transferred(state, customer_id, s["id"])
        ]
        source.transport.call(
            "PATCH",
            f"/customers/{customer_id}/transfers/{transfer['id']}",
            body={**transfer, "status": "Complete", "lineItems": items},
            request_id=str(uuid.uuid4()),
            customer=customer_id,
        )


def _transferred(state: model.DesiredState, customer_id: str, subscription_id: str) -> bool:
    customer = state.customer(customer_id)
    return customer is not None and any(
        r.subscription_id == subscription_id.lower()
        and r.becomes is model.SourceStrategy.TRANSFERRED
        for s in customer.subscriptions
        for r in s.replaces
    )


def _check_ledger(
    ledger: list[dict[str, Any]], snapshot: dict[str, Any], state: model.DesiredState
) -> LedgerCheck:
    """Days both tenants billed a replaced legacy subscription, and days with no service."""
    target = state.consolidation.target.name
    legacy = {s["id"] for s in snapshot["subscriptions"] if s["kind"] == "legacy"}
    ordered: dict[tuple[str, str], str] = {}
    for sub in snapshot["subscriptions"]:
        key = markers.parse_marker(sub.get("friendlyName"))
        if sub["partner"] == target and key:
            ordered[(sub["customerId"], key)] = sub["id"]
    billed: dict[str, set[str]] = defaultdict(set)
    served: dict[str, set[str]] = defaultdict(set)
    days = sorted({row["date"] for row in ledger})
    for row in ledger:
        if row["billed"]:
            billed[row["subscriptionId"]].add(row["date"])
        if row["inService"]:
            served[row["subscriptionId"]].add(row["date"])
    pairs = double = unserved = 0
    for customer in state.customers:
        held = customer.protect
        for wanted in customer.subscriptions:
            new = ordered.get((customer.tenant_id, wanted.key))
            for old in wanted.replaces:
                if new is None or old.subscription_id not in legacy:
                    continue
                if held or wanted.protect or old.becomes is model.SourceStrategy.KEPT:
                    continue
                pairs += 1
                double += len(billed[old.subscription_id] & billed[new])
                first = min(served[old.subscription_id] | served[new], default=None)
                unserved += sum(
                    1
                    for day in days
                    if first
                    and day >= first
                    and day not in served[old.subscription_id]
                    and day not in served[new]
                )
    return LedgerCheck(pairs=pairs, double_billed_days=double, unserved_days=unserved)
